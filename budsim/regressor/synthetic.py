"""Synthetic "user" benchmark runs: what a team would record on a GPU or model the shipped data lacks, for the retrain
tests and bench/accuracy.py's demo. Never training data of a shipped regressor.

A run's truth is the analytical model's prediction of its deployment (`core.measurements`, as training maps every
measured run) slowed by a systematic, physically plausible factor: TTFT and TPOT `Slowdown` times the physics' (kernels
and engines reach less of the roofline than the physics assumes, never more), and throughput what a closed loop of
`concurrency` clients gets from those latencies by Little's law, so that it stays below what TPOT allows
(`output_tokens_per_s <= concurrency x 1000 / tpot_ms`, the database's check with its margin).
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from budsim.core.architecture import parse_hf_config
from budsim.core.catalog.gpus import find_gpu
from budsim.core.measurements import MeasuredRun, deployment_of
from budsim.core.memory import memory_breakdown, valid_tensor_parallel_sizes
from budsim.core.perf.serving import predict
from budsim.core.types import Engine
from budsim.regressor.stored_runs import StoredRuns


@dataclass(frozen=True, slots=True)
class Slowdown:
    """How much slower than the analytical model the synthetic truth serves: mean TTFT and TPOT factors."""

    ttft: float = 1.3
    tpot: float = 1.3


@dataclass(frozen=True, slots=True)
class Layout:
    """One synthetic run's deployment and load: one replica of `tp` GPUs, `concurrency` clients, prompt and output
    lengths."""

    tp: int
    concurrency: int
    input_tokens: int = 1024
    output_tokens: int = 256


def synthetic_runs(
    model: str,
    config: Mapping[str, Any],
    gpu: str,
    layouts: Iterable[Layout],
    *,
    engine: Engine = Engine.VLLM,
    slowdown: Slowdown = Slowdown(),
    precision: str = "BF16",
) -> tuple[MeasuredRun, ...]:
    """The runs of `layouts` that the analytical model can serve (they fit and get finite metrics), each measured as
    its prediction slowed by `slowdown` (module docstring)."""
    arch = parse_hf_config(dict(config))
    spec = find_gpu(gpu)
    if spec is None:
        raise ValueError(f"{gpu} is no catalog GPU")
    runs = []
    for layout in layouts:
        if layout.tp not in valid_tensor_parallel_sizes(arch, 8):
            continue
        placeholder = MeasuredRun(
            model, spec.name, layout.tp, layout.tp, 1, 1, precision, "", engine, layout.input_tokens,
            layout.output_tokens, layout.concurrency, False, 1.0, 1.0, 1.0, "synthetic",
        )  # fmt: skip
        deployment = deployment_of(placeholder, arch, spec)
        memory = memory_breakdown(arch, spec.usable_memory_gb, deployment.batch)
        if not bool(memory.fits[0]):
            continue
        metrics = predict(arch, deployment.cluster, deployment.batch, deployment.workload, engine, memory.kv_tokens)
        point = metrics.at(0)
        ttft, tpot = float(point.ttft_mean_ms) * slowdown.ttft, float(point.tpot_ms) * slowdown.tpot
        if not (math.isfinite(ttft) and math.isfinite(tpot) and ttft > 0 and tpot > 0):
            continue
        cycle_s = (ttft + (layout.output_tokens - 1) * tpot) / 1e3
        tokens_per_s = layout.concurrency * layout.output_tokens / cycle_s
        source = f"synthetic: analytical x TTFT {slowdown.ttft:g}, TPOT {slowdown.tpot:g}"
        runs.append(replace(placeholder, ttft_ms=ttft, tpot_ms=tpot, output_tokens_per_s=tokens_per_s, source=source))
    return tuple(runs)


def stored(runs: Iterable[MeasuredRun], architectures: Mapping[str, Mapping[str, Any]], prefix: str) -> StoredRuns:
    """`runs` as stored runs with ids `<prefix>-0`, `<prefix>-1`, ..., and the architectures they name."""
    kept = tuple(runs)
    return StoredRuns(
        kept,
        {name: dict(config) for name, config in architectures.items()},
        tuple(f"{prefix}-{index}" for index in range(len(kept))),
    )


def combined(*parts: StoredRuns) -> StoredRuns:
    """Several `StoredRuns` as one (ids and architectures together)."""
    return StoredRuns(
        tuple(run for part in parts for run in part.runs),
        {name: config for part in parts for name, config in part.architectures.items()},
        tuple(run_id for part in parts for run_id in part.run_ids()),
    )


DEMO_GPU = "A100-80GB-SXM"  # a catalog GPU data/benchmarks.csv lacks
DEMO_MODELS = ("mistralai/Mistral-7B-Instruct-v0.3", "Qwen/Qwen2.5-7B-Instruct")  # families it lacks


def demo_runs() -> StoredRuns:
    """What a team might record on a GPU and models the shipped data lacks: Mistral-7B and Qwen2.5-7B on one
    A100-80GB under vLLM at TP 1, 2 and 4, 1-256 clients and two prompt/output lengths, 30% slower than the physics."""
    from budsim.core.catalog.models import CATALOG_BY_ID

    layouts = [
        Layout(tp, concurrency, prompt, output)
        for tp in (1, 2, 4)
        for concurrency in (1, 4, 16, 64, 256)
        for prompt, output in ((1024, 256), (4096, 512))
    ]
    parts = [
        stored(
            synthetic_runs(model, CATALOG_BY_ID[model].config, DEMO_GPU, layouts),
            {model: CATALOG_BY_ID[model].config},
            f"synthetic-{model.split('/')[-1]}",
        )
        for model in DEMO_MODELS
    ]
    return combined(*parts)
