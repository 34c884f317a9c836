"""One prediction end to end: the HEURISTIC plan for what the user left open, then the serving model.

The serving model is the analytical one (method HEURISTIC), or the analytical one corrected by the residual regressor
(method REGRESSOR, `core.calibration`), whose confidence then says how near the measured data the question is. Every
metric comes with its p10-p90 interval (`Interval`).
"""

import math
from dataclasses import dataclass

from budsim.core.architecture import ModelArchitecture
from budsim.core.calibration import MEASURED_GPUS, metrics_at, service_spread
from budsim.core.deployment import Cluster, ConfigBatch, ServingConfig, Workload
from budsim.core.heuristic import PartialConfig, plan
from budsim.core.perf.serving import ServingMetrics
from budsim.core.predictors import Z_P90, ConfidenceReason, ResidualRegressor
from budsim.core.results import METRIC_NAMES, Interval, MemoryFootprint, Metrics
from budsim.core.types import Engine

# `Metrics` field -> the `ServingMetrics` array it reports
METRIC_FIELDS = {
    "ttft_mean_ms": "ttft_mean_ms",
    "ttft_p50_ms": "ttft_p50_ms",
    "ttft_p99_ms": "ttft_p99_ms",
    "tpot_ms": "tpot_ms",
    "e2e_latency_mean_ms": "e2e_mean_ms",
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
    metrics: Metrics
    interval: Interval
    memory: MemoryFootprint
    confidence: float
    warnings: tuple[str, ...]
    confidence_reasons: tuple[ConfidenceReason, ...] = ()  # what lowered `confidence`, worst first


def _finite(value: float) -> float | None:
    return round(float(value), 4) if math.isfinite(value) else None


def metrics_of(metrics: ServingMetrics) -> Metrics:
    """One config's metrics (`metrics` holds exactly one) as reported: rounded, None where infinite."""
    return Metrics(**{name: _finite(getattr(metrics, source)) for name, source in METRIC_FIELDS.items()})


def interval(point: Metrics, optimistic: Metrics, pessimistic: Metrics) -> Interval:
    """Each metric's interval between its values at the two ends of the service times' spread. A tail latency can
    switch regime between them (the step a request waits behind changes kind), so the point itself bounds the
    interval too: it always lies inside."""

    def ordered(name: str) -> tuple[float, float]:
        values = [
            math.inf if (value := getattr(side, name)) is None else float(value)
            for side in (point, optimistic, pessimistic)
        ]
        return min(values), max(values)

    bounds = {name: ordered(name) for name in METRIC_NAMES}
    return Interval(
        p10=Metrics(**{name: _finite(low) for name, (low, _) in bounds.items()}),
        p90=Metrics(**{name: _finite(high) for name, (_, high) in bounds.items()}),
    )


def simulate(
    arch: ModelArchitecture,
    cluster: Cluster,
    workload: Workload,
    partial: PartialConfig,
    engine: Engine,
    regressor: ResidualRegressor | None = None,
    measured_gpus: frozenset[str] = MEASURED_GPUS,
) -> Prediction:
    """The prediction of the planned config, corrected by `regressor` when given; without one the analytical model's,
    its confidence lower on a GPU outside `measured_gpus` (pass `calibration.measured_gpus(loaded)`, the loaded
    regressor's, so that both methods agree on which GPUs are measured)."""
    chosen = plan(arch, cluster, workload, partial)
    memory = chosen.memory
    batch = ConfigBatch.single(chosen.config)
    spread, trust = service_spread(regressor, arch, cluster, batch, workload, engine, memory.kv_tokens, measured_gpus)
    confidence = float(trust.score[0])
    sides = [(None, 0.0), (None, -Z_P90), (None, Z_P90)]
    point, *ends = metrics_at(arch, cluster, batch, workload, engine, memory.kv_tokens, spread, sides)
    metrics = point.at(0)
    optimistic, pessimistic = (metrics_of(side.at(0)) for side in ends)
    reported = metrics_of(metrics)
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
        metrics=reported,
        interval=interval(reported, optimistic, pessimistic),
        memory=MemoryFootprint(
            weights_gb_per_gpu=round(float(memory.weights_gb[0]), 3),
            kv_cache_gb_per_gpu=round(float(memory.kv_cache_gb[0]), 3),
            activation_gb_per_gpu=round(float(memory.activation_gb[0]), 3),
            overhead_gb_per_gpu=round(float(memory.overhead_gb[0]), 3),
            total_gb_per_gpu=round(float(memory.total_gb[0]), 3),
            kv_cache_tokens=int(memory.kv_tokens[0]),
            max_num_seqs_at_max_model_len=int(memory.max_num_seqs_allowed[0]),
            fits=fits,
        ),
        confidence=round(confidence, 4) if fits and bool(metrics.fits) else 0.0,
        warnings=tuple(warnings),
        confidence_reasons=trust.reasons(0),
    )
