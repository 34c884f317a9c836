"""Analytical performance model of LLM serving: step times from a roofline, serving metrics from queueing.

Layers, each usable on its own:
- `roofline`, `comm`: peaks, efficiencies and collective costs (constants in `constants.py`);
- `step`: the time of one engine step over prefill chunks and decoding sequences, per candidate config;
- `serving`: TTFT/TPOT/latency percentiles, throughput and cost under continuous batching (`predict`);
- `scheduler_sim`: a step-level simulation of the same scheduler, the reference for `serving`'s approximations;
- `engines`: what distinguishes vLLM, SGLang and TensorRT-LLM.
"""

from budsim.core.perf.engines import ENGINES, EngineProfile, engine_profile
from budsim.core.perf.scheduler_sim import SimulationResult, simulate
from budsim.core.perf.serving import ServingMetrics, predict, predict_one
from budsim.core.perf.step import (
    ReplicaCost,
    StepLoad,
    StepTime,
    decode_load,
    decode_time,
    prefill_load,
    prefill_time,
    replica_cost,
    step_time,
)

__all__ = [
    "ENGINES",
    "EngineProfile",
    "ReplicaCost",
    "ServingMetrics",
    "SimulationResult",
    "StepLoad",
    "StepTime",
    "decode_load",
    "decode_time",
    "engine_profile",
    "predict",
    "predict_one",
    "prefill_load",
    "prefill_time",
    "replica_cost",
    "simulate",
    "step_time",
]
