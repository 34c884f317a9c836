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
from budsim.core.predictors.features import FEATURE_NAMES, feature_matrix
from budsim.core.predictors.regressor import TARGETS, Corrected, ResidualRegressor, log_ratio_targets, train

__all__ = [
    "FEATURE_NAMES",
    "PRODUCTION_READY",
    "TARGETS",
    "VALIDATE_IN_STAGING",
    "Corrected",
    "Coverage",
    "ResidualRegressor",
    "confidence",
    "feature_matrix",
    "log_ratio_targets",
    "train",
]
