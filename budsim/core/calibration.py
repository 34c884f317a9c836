"""The REGRESSOR method's predictions: the serving model run on service times the residual regressor corrected.

The regressor (`core.predictors`) says how much slower or faster than the physics a config's decode steps, its prompt
work and its engine's front end run (three log-scales). `corrected_metrics` runs the serving model with those scales,
so everything a user reads follows from the corrected service times the way it does in the analytical model: queueing
for slots and for the token budget, TTFT, TPOT, end-to-end latency, and throughput, which can therefore never exceed
the corrected capacity, break Little's law, or beat the hardware (`perf.bounds`). A closed loop then gets the
benchmark's synchronised waves weighed into its TTFT (`predictors.benchmark_ttft_ms`: what fixed-length closed-loop
benchmarks, the regressor's training data, measure), with latency and throughput re-derived by Little's law.

Every prediction also says how far it may be off. Its service times are uncertain by a standard deviation per
log-scale (`Spread`): for REGRESSOR the trees' estimate weighed against the physics (`ResidualRegressor.estimate`),
for the analytical model alone how far its scales sit from measured runs. Running the forward model at the scales'
10th and 90th percentiles gives every metric's p10-p90 interval, each end as physical as the point (`metrics_at`).

`fit_log_scales` is the inverse: the scales under which this forward model reproduces a measured run's TTFT and
TPOT, which are what the regressor learns. Two measurements do not pin three scales, so the inverse is the most
probable one under a prior on each (`FIT_PRIOR_SD`): how far the physics may be off in each. A TTFT the model
underestimates at low load then goes mostly to the front end, whose constant is a crude median, and at high load,
where the front end is a small part of TTFT, to the prompt work; a decode scale follows TPOT.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise

import numpy as np

from budsim.core.architecture import ModelArchitecture
from budsim.core.deployment import Cluster, ConfigBatch, Workload
from budsim.core.perf.serving import ServiceScales, ServingMetrics, predict
from budsim.core.predictors import (
    CLAMP,
    PHYSICS_LOG_SCALE_SD,
    ConfidenceBreakdown,
    Coverage,
    LogScales,
    ReasonKind,
    ResidualRegressor,
    benchmark_ttft_ms,
    confidence_breakdown,
    feature_matrix,
    in_service,
)
from budsim.core.types import Engine, FloatArray, IntArray

# The analytical model alone lands within tens of percent of measured serving runs (bench/accuracy.py), so its
# answers are "validate in staging" material at best: below the 0.7 line where measured GPUs back its engine factors,
# lower still elsewhere. The regressor earns more where it has data.
# Which GPUs are measured is what the loaded regressor trained on (`measured_gpus`: its coverage, data/benchmarks.csv
# plus the recorded runs of its version), so the analytical and the corrected answers agree on it. MEASURED_GPUS is
# the fallback where no regressor is loaded or it records no coverage: the GPUs of data/benchmarks.csv (core reads no
# files; tests/regressor/test_retrain.py holds it to the CSV).
MEASURED_GPUS = frozenset({"H100-SXM", "H200-SXM", "B200", "B300", "GB200"})
ANALYTICAL_CONFIDENCE_MEASURED = 0.6
ANALYTICAL_CONFIDENCE_UNMEASURED = 0.45
# The warning a REGRESSOR answer carries when no regressor could be loaded or trained (see MODEL_PATH).
NO_REGRESSOR = "no trained regressor is loaded (see MODEL_PATH): the analytical model answered alone"

# A model file without a coverage record (trained elsewhere) says nothing about which GPUs and models it saw: every
# query is then scored as unseen, and only the ensemble's disagreement can raise doubt further.
NO_COVERAGE = Coverage(frozenset(), frozenset(), frozenset(), (), frozenset(), (-math.inf, math.inf))

# Inverting the forward model (`fit_log_scales`): Gauss-Newton steps toward the most probable log-scales, each with
# its Jacobian by finite differences of FIT_STEP (the perturbed configs ride in the same `predict` call), and no step
# longer than FIT_MAX_STEP in any scale, so a strongly curved case (SGLang, whose prompts pause the decodes) is
# approached rather than jumped over.
FIT_ITERATIONS = 4
FIT_STEP = 0.1
FIT_MAX_STEP = 0.5
# Prior standard deviation of each log-scale (decode, prefill, front end). Step kernels are priced from measured
# kernel efficiencies (`perf/constants.py`), whose spread over shapes is about +-30%; the front-end constants are
# medians whose interquartile ranges span a factor of 2-3 (`perf/engines.py`).
FIT_PRIOR_SD = np.array([0.3, 0.3, 1.0])
# A run whose TTFT the model puts mostly in a wait for a slot (its KV cache or max_num_seqs full) says nothing about
# prompt work or the front end: its TTFT follows from how many requests the model thinks the cache holds, and a
# miscount there is not to be learned as a faster prefill. Such runs teach the decode scale only.
SLOT_BOUND_SHARE = 0.5
# Standard deviation of a measured log TPOT and log TTFT: how closely the fit must meet each. TPOT is set by the
# steps alone and is met closely; a measured TTFT also carries queueing the model does not see.
FIT_MEASUREMENT_SD = np.array([0.02, 0.05])


@dataclass(frozen=True, slots=True)
class Spread:
    """Where N configs' service times may lie: log-scales ([N, 3], 0 for the analytical model) and their standard
    deviation ([N, 3]), under the REGRESSOR's forward model (`benchmark`: its waves weighed in) or the analytical
    one."""

    log_scales: FloatArray
    sd: FloatArray
    benchmark: bool

    @classmethod
    def analytical(cls, batch: ConfigBatch) -> "Spread":
        n = len(batch)
        sd = np.tile(np.asarray(PHYSICS_LOG_SCALE_SD), (n, 1))
        return cls(np.zeros((n, 3)), _with_pipeline_doubt(sd, batch), benchmark=False)


@dataclass(frozen=True, slots=True)
class Calibrated:
    """Corrected metrics for N configs, the log-scales behind them and their spread, and the confidence of each."""

    metrics: ServingMetrics
    scales: LogScales
    spread: Spread
    confidence: FloatArray


# No measured run has more than one pipeline stage, so how micro-batches and bubbles cost is the physics' alone: a
# pipelined config's step times are uncertain by this much more (log-scale sd of decode and prompt work; the
# physics' own decode spread before any correction). Without it, a max-throughput search picked TP 1 x PP 8 for
# Llama-3.1-405B on 8 H100s at 1.7x TensorRT-LLM's published TP 8 maximum (bench/records.py).
PIPELINE_LOG_SCALE_SD = (0.26, 0.26, 0.0)


def _with_pipeline_doubt(sd: FloatArray, batch: ConfigBatch) -> FloatArray:
    pipelined = (batch.pipeline_parallel > 1)[:, None]
    extra = np.asarray(PIPELINE_LOG_SCALE_SD, dtype=np.float64) ** 2
    doubted: FloatArray = np.sqrt(sd**2 + np.where(pipelined, extra, 0.0))
    return doubted


def measured_gpus(regressor: ResidualRegressor | None) -> frozenset[str]:
    """The GPUs measured runs back: those `regressor` trained on (its coverage), else `MEASURED_GPUS`."""
    if regressor is not None and regressor.coverage is not None:
        return regressor.coverage.gpus
    return MEASURED_GPUS


def analytical_confidence(cluster: Cluster, measured: frozenset[str] = MEASURED_GPUS) -> float:
    """Confidence in the analytical model alone on `cluster`'s GPU, `measured` being the GPUs with measured runs
    (`measured_gpus`)."""
    return ANALYTICAL_CONFIDENCE_MEASURED if cluster.gpu.name in measured else ANALYTICAL_CONFIDENCE_UNMEASURED


def analytical_breakdown(
    cluster: Cluster, family: str, n: int, measured: frozenset[str] = MEASURED_GPUS
) -> ConfidenceBreakdown:
    """`analytical_confidence` as its factors: no regressor at all, and (on a GPU without measured runs) the share
    that the unmeasured GPU costs, so that the answer names both."""
    factors = {ReasonKind.NO_REGRESSOR: ANALYTICAL_CONFIDENCE_MEASURED}
    if cluster.gpu.name not in measured:
        factors[ReasonKind.UNSEEN_GPU] = ANALYTICAL_CONFIDENCE_UNMEASURED / ANALYTICAL_CONFIDENCE_MEASURED
    return ConfidenceBreakdown.analytical(n, factors, cluster.gpu.name, family)


def _column(value: object, n: int) -> FloatArray:
    return np.broadcast_to(np.asarray(value, dtype=np.float64).reshape(-1), (n,)).astype(np.float64)


def with_benchmark_waves(
    metrics: ServingMetrics, batch: ConfigBatch, workload: Workload, engine: Engine
) -> ServingMetrics:
    """A closed loop's metrics with its benchmark's synchronised waves in TTFT; end-to-end latency grows with it and
    throughput follows by Little's law (each client keeps one request in flight). Open loops are returned as they are.
    """
    if workload.concurrency is None:
        return metrics
    n = len(batch)
    ttft = _column(metrics.ttft_mean_ms, n)
    with np.errstate(invalid="ignore"):
        extra = np.where(np.isfinite(ttft), benchmark_ttft_ms(metrics, engine, True) - ttft, 0.0)
        e2e = _column(metrics.e2e_mean_ms, n) + extra
        rate = np.where(np.isfinite(e2e), float(workload.concurrency) / (e2e / 1e3), _column(metrics.requests_per_s, n))
    rate = np.minimum(rate, _column(metrics.requests_per_s, n))
    output = rate * workload.output_tokens
    cost = _column(metrics.cost_per_hour, n)
    return replace(
        metrics,
        ttft_mean_ms=ttft + extra,
        ttft_p50_ms=_column(metrics.ttft_p50_ms, n) + extra,
        ttft_p99_ms=_column(metrics.ttft_p99_ms, n) + extra,
        e2e_mean_ms=e2e,
        e2e_p50_ms=_column(metrics.e2e_p50_ms, n) + extra,
        e2e_p99_ms=_column(metrics.e2e_p99_ms, n) + extra,
        requests_per_s=rate,
        output_tokens_per_s=output,
        total_tokens_per_s=rate * (workload.input_tokens + workload.output_tokens),
        cost_per_million_tokens=np.where(output > 0, cost / np.maximum(output, 1e-12) / 3600 * 1e6, np.inf),
    )


def metrics_at(
    arch: ModelArchitecture,
    cluster: Cluster,
    batch: ConfigBatch,
    workload: Workload,
    engine: Engine,
    kv_tokens: IntArray,
    spread: Spread,
    sides: Sequence[tuple[IntArray | None, float]],
) -> list[ServingMetrics]:
    """The metrics of each side, a side being some configs (None: all) with every service time z standard deviations
    from its scale: z = 0 is the prediction, +Z_P90 its pessimistic end (each latency's p90, each rate's p10), -Z_P90
    its optimistic one. Service times only grow or shrink, so every metric moves one way and every end stays within
    the hardware's limits. All sides are one `predict` call, whose cost at a search's sizes is mostly fixed."""
    everything = np.arange(len(batch))
    picked = [everything if rows is None else np.asarray(rows) for rows, _ in sides]
    index = np.concatenate(picked)
    stacked = batch.take(index)
    log_scales = np.concatenate(
        [spread.log_scales[rows] + z * spread.sd[rows] for rows, (_, z) in zip(picked, sides, strict=True)]
    )
    scales = np.exp(log_scales)
    service = ServiceScales(decode=scales[:, 0], prefill=scales[:, 1], frontend=scales[:, 2])
    metrics = predict(arch, cluster, stacked, workload, engine, np.asarray(kv_tokens)[index], service)
    if spread.benchmark:
        metrics = with_benchmark_waves(metrics, stacked, workload, engine)
    ends = np.cumsum([0, *(len(rows) for rows in picked)])
    return [metrics.rows(int(start), int(stop)) for start, stop in pairwise(ends)]


def corrected_metrics(
    arch: ModelArchitecture,
    cluster: Cluster,
    batch: ConfigBatch,
    workload: Workload,
    engine: Engine,
    kv_tokens: IntArray,
    log_scales: FloatArray,
) -> ServingMetrics:
    """The REGRESSOR method's forward model: serving metrics on service times scaled by exp(`log_scales`) ([N, 3]:
    decode, prefill, front end), benchmark waves weighed in (module docstring)."""
    exact = Spread(log_scales, np.zeros_like(log_scales), benchmark=True)
    (metrics,) = metrics_at(arch, cluster, batch, workload, engine, kv_tokens, exact, [(None, 0.0)])
    return metrics


def fit_log_scales(
    arch: ModelArchitecture,
    cluster: Cluster,
    batch: ConfigBatch,
    workload: Workload,
    engine: Engine,
    kv_tokens: IntArray,
    ttft_ms: FloatArray,
    tpot_ms: FloatArray,
    clamp: tuple[float, ...] = CLAMP,
) -> FloatArray:
    """The most probable log-scales ([N, 3], module docstring) under which `corrected_metrics` gives each config its
    measured mean TPOT and TTFT, each within +-its `clamp`; NaN for the prefill and front-end scales of a run the
    model sees waiting for a slot (`SLOT_BOUND_SHARE`)."""
    n, k = len(batch), len(FIT_PRIOR_SD)
    observed = np.column_stack([np.log(tpot_ms), np.log(ttft_ms)])
    probes = batch.take(np.tile(np.arange(n), k + 1))
    probe_kv = np.tile(np.asarray(kv_tokens), k + 1)
    offsets = np.vstack([np.zeros(k), FIT_STEP * np.eye(k)])  # the point, then one probe per scale

    def linearised(x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Outputs (log TPOT, log TTFT) at x, [N, 2], their Jacobian in x, [N, 2, 3], and the slot wait's share of
        TTFT at x."""
        points = (x[None, :, :] + offsets[:, None, :]).reshape(-1, k)
        metrics = corrected_metrics(arch, cluster, probes, workload, engine, probe_kv, points)
        slot_share = (_column(metrics.slot_wait_ms, len(points)) / _column(metrics.ttft_mean_ms, len(points)))[:n]
        out = np.column_stack(
            [np.log(_column(metrics.tpot_ms, len(points))), np.log(_column(metrics.ttft_mean_ms, len(points)))]
        )
        out = out.reshape(k + 1, n, 2)
        jacobian = np.stack([(out[j + 1] - out[0]) / FIT_STEP for j in range(k)], axis=2)
        return out[0], np.where(np.isfinite(jacobian), jacobian, 0.0), slot_share

    bound = np.asarray(clamp)
    x = np.zeros((n, k))
    slot_bound = np.zeros(n, dtype=bool)
    for iteration in range(FIT_ITERATIONS):
        # Gauss-Newton on |y(x) - observed|^2 / measurement variance + |x|^2 / prior variance.
        y, jacobian, slot_share = linearised(x)
        if iteration == 0:
            slot_bound = slot_share > SLOT_BOUND_SHARE
        weighted = jacobian / FIT_MEASUREMENT_SD[None, :, None] ** 2
        precision = np.einsum("nij,nik->njk", weighted, jacobian) + np.diag(1.0 / FIT_PRIOR_SD**2)
        gradient = np.einsum("nij,ni->nj", weighted, observed - y) - x / FIT_PRIOR_SD**2
        step = np.linalg.solve(precision, gradient[:, :, None])[:, :, 0]
        step = np.clip(np.where(np.isfinite(step), step, 0.0), -FIT_MAX_STEP, FIT_MAX_STEP)
        x = np.clip(x + step, -bound, bound)
    x[slot_bound, 1:] = np.nan
    return x


def learned_spread(
    regressor: ResidualRegressor,
    arch: ModelArchitecture,
    cluster: Cluster,
    batch: ConfigBatch,
    workload: Workload,
    engine: Engine,
    analytical: ServingMetrics,
) -> tuple[Spread, LogScales, ConfidenceBreakdown]:
    """The REGRESSOR's scales for every config in `batch` and their spread, from `analytical` (its uncorrected
    serving metrics), with the confidence in each (0 where the config cannot serve the workload at all)."""
    n = len(batch)
    scales = regressor.log_scales(feature_matrix(arch, cluster, batch, workload, engine, analytical))
    score = confidence_breakdown(
        regressor.coverage or NO_COVERAGE,
        cluster.gpu.name,
        arch.model_type,
        math.log(arch.param_count),
        batch.tensor_parallel,
        np.log(in_service(batch, workload, analytical)),
        scales.mean_spread,
        batch.pipeline_parallel,
    )
    fits = _column(analytical.fits, n) > 0
    mean, sd = regressor.estimate(scales, cluster.gpu.name, arch.model_type)
    spread = Spread(mean, _with_pipeline_doubt(sd, batch), benchmark=True)
    return spread, scales, score.masked(fits)


def service_spread(
    regressor: ResidualRegressor | None,
    arch: ModelArchitecture,
    cluster: Cluster,
    batch: ConfigBatch,
    workload: Workload,
    engine: Engine,
    kv_tokens: IntArray,
    measured: frozenset[str] = MEASURED_GPUS,
) -> tuple[Spread, ConfidenceBreakdown]:
    """Where every config's service times may lie, and the confidence in each: the regressor's learned scales, or
    without one the analytical model's own spread and confidence (`measured`: the GPUs with measured runs, which the
    loaded regressor says where the method uses none, `measured_gpus`)."""
    if regressor is None:
        return Spread.analytical(batch), analytical_breakdown(cluster, arch.model_type, len(batch), measured)
    analytical = predict(arch, cluster, batch, workload, engine, kv_tokens)
    spread, _, trust = learned_spread(regressor, arch, cluster, batch, workload, engine, analytical)
    return spread, trust


def calibrate(
    regressor: ResidualRegressor,
    arch: ModelArchitecture,
    cluster: Cluster,
    batch: ConfigBatch,
    workload: Workload,
    engine: Engine,
    analytical: ServingMetrics,
    kv_tokens: IntArray,
) -> Calibrated:
    """The REGRESSOR prediction of every config in `batch`, from `analytical` (its uncorrected serving metrics)."""
    spread, scales, score = learned_spread(regressor, arch, cluster, batch, workload, engine, analytical)
    (metrics,) = metrics_at(arch, cluster, batch, workload, engine, kv_tokens, spread, [(None, 0.0)])
    return Calibrated(metrics, scales, spread, score.score)
