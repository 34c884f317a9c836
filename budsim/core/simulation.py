"""One prediction end to end: the HEURISTIC plan for what the user left open, then the analytical serving model."""

import math
from dataclasses import dataclass

from budsim.core.architecture import ModelArchitecture
from budsim.core.deployment import Cluster, ConfigBatch, ServingConfig, Workload
from budsim.core.heuristic import PartialConfig, plan
from budsim.core.perf.serving import ServingMetrics, predict
from budsim.core.types import Engine

# The analytical model alone lands within tens of percent of measured serving runs (bench/accuracy.py), so its
# answers are "validate in staging" material: below the 0.7 line where measured GPU/engine pairs back it, lower
# still elsewhere. The regressor (method REGRESSOR) earns higher confidence where it has data.
MEASURED_GPUS = frozenset({"H100-SXM", "H200-SXM", "B200"})
ANALYTICAL_CONFIDENCE_MEASURED = 0.6
ANALYTICAL_CONFIDENCE_UNMEASURED = 0.45

METRIC_FIELDS = {
    "ttft_mean_ms": "ttft_mean_ms",
    "ttft_p50_ms": "ttft_p50_ms",
    "ttft_p99_ms": "ttft_p99_ms",
    "tpot_ms": "tpot_ms",
    "e2e_latency_p50_ms": "e2e_p50_ms",
    "e2e_latency_p99_ms": "e2e_p99_ms",
    "output_tokens_per_s": "output_tokens_per_s",
    "total_tokens_per_s": "total_tokens_per_s",
    "requests_per_s": "requests_per_s",
    "cost_per_hour": "cost_per_hour",
    "cost_per_million_tokens": "cost_per_million_tokens",
}


@dataclass(frozen=True, slots=True)
class Prediction:
    config: ServingConfig
    metrics: dict[str, float | None]  # None where the deployment cannot serve the load (infinite latency)
    memory: dict[str, float | int | bool]
    confidence: float
    warnings: tuple[str, ...]


def _finite(value: float) -> float | None:
    return round(float(value), 4) if math.isfinite(value) else None


def metrics_document(metrics: ServingMetrics) -> dict[str, float | None]:
    return {name: _finite(getattr(metrics, source)) for name, source in METRIC_FIELDS.items()}


def analytical_confidence(cluster: Cluster, engine: Engine, fits: bool) -> float:
    if not fits:
        return 0.0
    measured = cluster.gpu.name in MEASURED_GPUS
    return ANALYTICAL_CONFIDENCE_MEASURED if measured else ANALYTICAL_CONFIDENCE_UNMEASURED


def simulate(
    arch: ModelArchitecture, cluster: Cluster, workload: Workload, partial: PartialConfig, engine: Engine
) -> Prediction:
    chosen = plan(arch, cluster, workload, partial)
    memory = chosen.memory
    metrics = predict(arch, cluster, ConfigBatch.single(chosen.config), workload, engine, memory.kv_tokens).at(0)
    warnings = list(chosen.warnings)
    fits = bool(memory.fits[0])
    if fits and not bool(metrics.fits):
        warnings.append(
            f"a request of {workload.input_tokens + workload.output_tokens} tokens does not fit max_model_len "
            f"{chosen.config.max_model_len} or the KV cache of {int(memory.kv_tokens[0])} tokens"
        )
    if bool(metrics.saturated):
        warnings.append(
            f"the offered {workload.request_rate:g} requests/s exceed the deployment's capacity of "
            f"{float(metrics.capacity_requests_per_s):.2f} requests/s: queues grow without bound"
        )
    return Prediction(
        config=chosen.config,
        metrics=metrics_document(metrics),
        memory={
            "weights_gb_per_gpu": round(float(memory.weights_gb[0]), 3),
            "kv_cache_gb_per_gpu": round(float(memory.kv_cache_gb[0]), 3),
            "activation_gb_per_gpu": round(float(memory.activation_gb[0]), 3),
            "overhead_gb_per_gpu": round(float(memory.overhead_gb[0]), 3),
            "total_gb_per_gpu": round(float(memory.total_gb[0]), 3),
            "kv_cache_tokens": int(memory.kv_tokens[0]),
            "max_num_seqs_at_max_model_len": int(memory.max_num_seqs_allowed[0]),
            "fits": fits,
        },
        confidence=analytical_confidence(cluster, engine, fits and bool(metrics.fits)),
        warnings=tuple(warnings),
    )
