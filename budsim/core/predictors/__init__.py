"""Learned corrections on top of the analytical serving model (`core.perf.serving`).

The analytical model gets the shape right (what is compute-, memory- or communication-bound) but misses engine and
kernel effects it cannot see; these predictors learn, from benchmark runs, how much to scale its service times
(decode steps, prompt work) for the serving model to match what was measured, clamp it, and say how far from the
measured data a prediction is (`confidence`).
"""

from budsim.core.predictors.confidence import (
    PRODUCTION_READY,
    VALIDATE_IN_STAGING,
    ConfidenceBreakdown,
    ConfidenceLevel,
    ConfidenceReason,
    Coverage,
    ReasonKind,
    confidence,
    confidence_breakdown,
    confidence_level,
)
from budsim.core.predictors.features import (
    BENCHMARK_ROUNDS,
    FEATURE_NAMES,
    benchmark_ttft_ms,
    feature_matrix,
    in_service,
    synchronized_share,
)
from budsim.core.predictors.regressor import (
    CLAMP,
    FORMAT,
    PHYSICS_LOG_SCALE_SD,
    TARGETS,
    Z_P90,
    ActiveRegressor,
    LogScales,
    ResidualRegressor,
    train,
)

__all__ = [
    "BENCHMARK_ROUNDS",
    "CLAMP",
    "FEATURE_NAMES",
    "FORMAT",
    "PHYSICS_LOG_SCALE_SD",
    "PRODUCTION_READY",
    "TARGETS",
    "VALIDATE_IN_STAGING",
    "Z_P90",
    "ActiveRegressor",
    "ConfidenceBreakdown",
    "ConfidenceLevel",
    "ConfidenceReason",
    "Coverage",
    "LogScales",
    "ReasonKind",
    "ResidualRegressor",
    "benchmark_ttft_ms",
    "confidence",
    "confidence_breakdown",
    "confidence_level",
    "feature_matrix",
    "in_service",
    "synchronized_share",
    "train",
]
