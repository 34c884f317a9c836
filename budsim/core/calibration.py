"""The REGRESSOR method's predictions: analytical serving metrics scaled by the learned residual, with confidence.

The residual regressor (`core.predictors`) corrects three measured quantities (throughput, TTFT, TPOT). Everything a
user reads is derived from those three so that an answer stays self-consistent: the TTFT percentiles move with the
mean, end-to-end latency is rebuilt from corrected TTFT and TPOT, request rate and cost per token follow throughput.
Where the analytical model says a config cannot serve (infinite latency), the correction leaves it so.
"""

import math
from dataclasses import dataclass, replace

import numpy as np

from budsim.core.architecture import ModelArchitecture
from budsim.core.deployment import Cluster, ConfigBatch, FloatArray, Workload
from budsim.core.perf.serving import ServingMetrics
from budsim.core.predictors import Coverage, ResidualRegressor, confidence, feature_matrix
from budsim.core.types import Engine

# The analytical model alone lands within tens of percent of measured serving runs (bench/accuracy.py), so its
# answers are "validate in staging" material at best: below the 0.7 line where measured GPUs back its engine factors,
# lower still elsewhere. The regressor earns more where it has data.
MEASURED_GPUS = frozenset({"H100-SXM", "H200-SXM", "B200", "B300", "GB200"})  # the GPUs of data/benchmarks.csv
ANALYTICAL_CONFIDENCE_MEASURED = 0.6
ANALYTICAL_CONFIDENCE_UNMEASURED = 0.45
# The warning a REGRESSOR answer carries when no regressor could be loaded or trained (see MODEL_PATH).
NO_REGRESSOR = "no trained regressor is loaded (see MODEL_PATH): the analytical model answered alone"

# A model file without a coverage record (trained elsewhere) says nothing about which GPUs and models it saw: every
# query is then scored as unseen, and only the ensemble's disagreement can raise doubt further.
NO_COVERAGE = Coverage(frozenset(), frozenset(), frozenset(), (), frozenset(), (-math.inf, math.inf))


@dataclass(frozen=True, slots=True)
class Calibrated:
    """Corrected metrics for N configs and the confidence of each, in [0, 1]."""

    metrics: ServingMetrics
    confidence: FloatArray


def analytical_confidence(cluster: Cluster) -> float:
    """Confidence in the analytical model alone on `cluster`'s GPU."""
    return ANALYTICAL_CONFIDENCE_MEASURED if cluster.gpu.name in MEASURED_GPUS else ANALYTICAL_CONFIDENCE_UNMEASURED


def _column(value: object, n: int) -> FloatArray:
    return np.broadcast_to(np.asarray(value, dtype=np.float64).reshape(-1), (n,)).astype(np.float64)


def _per_replica_concurrency(batch: ConfigBatch, workload: Workload, metrics: ServingMetrics) -> FloatArray:
    """Requests one replica holds: what the benchmarks behind the regressor varied as 'concurrency'."""
    n = len(batch)
    if workload.concurrency is not None:
        return np.maximum(float(workload.concurrency) / batch.replicas.astype(np.float64), 1.0)
    return np.maximum(_column(metrics.running_batch, n), 1.0)


def calibrate(
    regressor: ResidualRegressor,
    arch: ModelArchitecture,
    cluster: Cluster,
    batch: ConfigBatch,
    workload: Workload,
    engine: Engine,
    metrics: ServingMetrics,
) -> Calibrated:
    """Scale `metrics` (the analytical prediction for `batch`) by the regressor's corrections."""
    n = len(batch)
    corrected = regressor.correct(feature_matrix(arch, cluster, batch, workload, engine, metrics), metrics)
    with np.errstate(divide="ignore", invalid="ignore"):
        ttft_factor = np.exp(corrected.log_correction["ttft_ms"])
        tpot_factor = np.exp(corrected.log_correction["tpot_ms"])
        throughput_factor = np.exp(corrected.log_correction["output_tokens_per_s"])
        ttft_mean = _column(metrics.ttft_mean_ms, n) * ttft_factor
        ttft_p50 = _column(metrics.ttft_p50_ms, n) * ttft_factor
        ttft_p99 = _column(metrics.ttft_p99_ms, n) * ttft_factor
        old_e2e = _column(metrics.e2e_mean_ms, n)
        decode = (old_e2e - _column(metrics.ttft_mean_ms, n)) * tpot_factor
        e2e_mean = ttft_mean + decode
        tail_scale = np.where(old_e2e > 0, e2e_mean / old_e2e, 1.0)
        e2e_p50 = e2e_mean + (ttft_p50 - ttft_mean)
        e2e_p99 = e2e_mean + (_column(metrics.e2e_p99_ms, n) - old_e2e) * tail_scale
        throughput = _column(metrics.output_tokens_per_s, n) * throughput_factor
        cost = _column(metrics.cost_per_hour, n)
        per_million = np.where(throughput > 0, cost / (throughput * 3600.0) * 1e6, np.inf)
    scaled = replace(
        metrics,
        ttft_mean_ms=ttft_mean,
        ttft_p50_ms=ttft_p50,
        ttft_p99_ms=ttft_p99,
        tpot_ms=_column(metrics.tpot_ms, n) * tpot_factor,
        e2e_mean_ms=e2e_mean,
        e2e_p50_ms=e2e_p50,
        e2e_p99_ms=e2e_p99,
        output_tokens_per_s=throughput,
        total_tokens_per_s=_column(metrics.total_tokens_per_s, n) * throughput_factor,
        requests_per_s=_column(metrics.requests_per_s, n) * throughput_factor,
        cost_per_million_tokens=per_million,
    )
    score = confidence(
        regressor.coverage or NO_COVERAGE,
        cluster.gpu.name,
        arch.model_type,
        math.log(arch.param_count),
        batch.tensor_parallel,
        np.log(_per_replica_concurrency(batch, workload, metrics)),
        corrected.mean_spread,
    )
    fits = _column(metrics.fits, n) > 0
    return Calibrated(scaled, np.where(fits, score, 0.0))
