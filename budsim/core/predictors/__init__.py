"""Learned corrections on top of the analytical serving model (`core.perf.serving`).

The analytical model gets the shape right (what is compute-, memory- or communication-bound) but misses engine and
kernel effects it cannot see; these predictors learn the measured/analytical log-ratio from benchmark runs, clamp it,
and say how far from the measured data a prediction is (`confidence`).
"""

from budsim.core.predictors.confidence import (
    PRODUCTION_READY,
    VALIDATE_IN_STAGING,
    Coverage,
    confidence,
)
from budsim.core.predictors.features import (
    BENCHMARK_ROUNDS,
    FEATURE_NAMES,
    benchmark_ttft_ms,
    feature_matrix,
    synchronized_share,
)
from budsim.core.predictors.regressor import (
    BASES,
    FORMAT,
    TARGETS,
    Corrected,
    ResidualRegressor,
    log_ratio_targets,
    train,
)

__all__ = [
    "BASES",
    "BENCHMARK_ROUNDS",
    "FEATURE_NAMES",
    "FORMAT",
    "PRODUCTION_READY",
    "TARGETS",
    "VALIDATE_IN_STAGING",
    "Corrected",
    "Coverage",
    "ResidualRegressor",
    "benchmark_ttft_ms",
    "confidence",
    "feature_matrix",
    "log_ratio_targets",
    "synchronized_share",
    "train",
]
