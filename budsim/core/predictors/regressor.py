"""Residual regressor: XGBoost models of log(measured / analytical), one bootstrap ensemble per target.

Why a residual and not the metric itself: the analytical model already carries the physics (a 70B model on 8 GPUs is
slower than an 8B on one), so the trees only have to learn a small, smooth correction; with shallow trees, strong
regularisation and a clamp on the correction (default ±ln 3), a config far from the data falls back toward the
analytical answer instead of extrapolating a tree leaf. Ensemble members are trained on bootstrap resamples of whole
groups (model x GPU), so their disagreement grows where a prediction leans on few groups; `confidence` uses it.

Core does no file I/O: `save` returns named byte strings (xgboost native JSON) and `load` takes them back.
"""

import json
import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from budsim.core.perf.serving import ServingMetrics
from budsim.core.predictors.confidence import Coverage
from budsim.core.predictors.features import FEATURE_NAMES

FloatArray = npt.NDArray[np.float64]

TARGETS: tuple[str, ...] = ("output_tokens_per_s", "ttft_ms", "tpot_ms")
CLAMP = math.log(3.0)
ENSEMBLE = 5
PARAMS: dict[str, object] = {
    "objective": "reg:absoluteerror",  # the median ratio: a few broken benchmark rows must not drag a whole leaf
    "max_depth": 5,
    "eta": 0.1,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 5,
    "lambda": 2.0,
    "alpha": 0.1,
    "gamma": 0.01,
    "tree_method": "hist",
    "nthread": 1,  # small data: OpenMP threads only contend with the service (and each other)
}
ROUNDS = 200


@dataclass(frozen=True, slots=True)
class Corrected:
    """Corrected predictions (arrays of N) and each target's ensemble spread (std of the log-correction)."""

    output_tokens_per_s: FloatArray
    ttft_ms: FloatArray
    tpot_ms: FloatArray
    log_correction: dict[str, FloatArray]
    spread: dict[str, FloatArray]

    @property
    def mean_spread(self) -> FloatArray:
        return np.mean(np.stack(list(self.spread.values())), axis=0)


@dataclass
class ResidualRegressor:
    """Per target, an ensemble of boosters predicting log(measured / analytical)."""

    boosters: dict[str, list[xgb.Booster]]
    feature_names: tuple[str, ...] = FEATURE_NAMES
    clamp: float = CLAMP
    coverage: Coverage | None = None
    info: dict[str, object] = field(default_factory=dict)

    def log_corrections(self, features: FloatArray) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
        """Clamped mean log-correction and ensemble std per target."""
        if features.shape[1] != len(self.feature_names):
            raise ValueError(f"expected {len(self.feature_names)} features, got {features.shape[1]}")
        matrix = xgb.DMatrix(features, feature_names=list(self.feature_names))
        means: dict[str, FloatArray] = {}
        spreads: dict[str, FloatArray] = {}
        for target, members in self.boosters.items():
            raw = np.stack([member.predict(matrix).astype(np.float64) for member in members])
            means[target] = np.clip(raw.mean(axis=0), -self.clamp, self.clamp)
            spreads[target] = raw.std(axis=0)
        return means, spreads

    def correct(self, features: FloatArray, metrics: ServingMetrics) -> Corrected:
        """The analytical `metrics` scaled by the learned, clamped correction."""
        means, spreads = self.log_corrections(features)
        n = features.shape[0]

        def scaled(name: str, target: str) -> FloatArray:
            base = np.broadcast_to(np.asarray(getattr(metrics, name), dtype=np.float64).reshape(-1), (n,))
            return base * np.exp(means[target])

        return Corrected(
            output_tokens_per_s=scaled("output_tokens_per_s", "output_tokens_per_s"),
            ttft_ms=scaled("ttft_mean_ms", "ttft_ms"),
            tpot_ms=scaled("tpot_ms", "tpot_ms"),
            log_correction=means,
            spread=spreads,
        )

    def save(self) -> dict[str, bytes]:
        """Named byte strings: `meta.json` plus one xgboost native JSON per booster (the caller writes them)."""
        meta = {
            "format": "budsim-residual-regressor/1",
            "feature_names": list(self.feature_names),
            "clamp": self.clamp,
            "targets": {target: len(members) for target, members in self.boosters.items()},
            "coverage": self.coverage.to_dict() if self.coverage is not None else None,
            "info": self.info,
        }
        blobs = {"meta.json": json.dumps(meta, sort_keys=True).encode()}
        for target, members in self.boosters.items():
            for index, member in enumerate(members):
                blobs[f"{target}.{index}.json"] = bytes(member.save_raw("json"))
        return blobs

    @classmethod
    def load(cls, blobs: dict[str, bytes]) -> "ResidualRegressor":
        meta = json.loads(blobs["meta.json"])
        if meta.get("format") != "budsim-residual-regressor/1":
            raise ValueError(f"unknown residual regressor format {meta.get('format')!r}")
        boosters: dict[str, list[xgb.Booster]] = {}
        for target, count in meta["targets"].items():
            members = []
            for index in range(count):
                booster = xgb.Booster()
                booster.load_model(bytearray(blobs[f"{target}.{index}.json"]))
                members.append(booster)
            boosters[target] = members
        coverage = Coverage.from_dict(meta["coverage"]) if meta["coverage"] is not None else None
        return cls(boosters, tuple(meta["feature_names"]), float(meta["clamp"]), coverage, dict(meta["info"]))


def log_ratio_targets(measured: FloatArray, analytical: FloatArray) -> FloatArray:
    """log(measured / analytical) per column; non-finite entries (no analytical answer) become NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(np.asarray(measured, dtype=np.float64) / np.asarray(analytical, dtype=np.float64))
    return np.where(np.isfinite(ratio), ratio, np.nan)


def train(
    features: FloatArray,
    targets_log_ratio: FloatArray,
    groups: npt.NDArray[np.str_] | list[str],
    seed: int = 0,
    *,
    ensemble: int = ENSEMBLE,
    rounds: int = ROUNDS,
    coverage: Coverage | None = None,
) -> ResidualRegressor:
    """Fit one ensemble per column of `targets_log_ratio` (ordered as TARGETS).

    Member 0 sees every row; the others see a bootstrap of whole groups, so that their disagreement measures how much
    a prediction depends on which model x GPU pairs were measured.
    """
    groups = np.asarray(groups)
    unique = np.unique(groups)
    rng = np.random.default_rng(seed)
    boosters: dict[str, list[xgb.Booster]] = {target: [] for target in TARGETS}
    for member in range(ensemble):
        if member == 0:
            weight = np.ones(len(groups))
        else:
            drawn = rng.choice(unique, size=len(unique), replace=True)
            counts = {g: c for g, c in zip(*np.unique(drawn, return_counts=True), strict=True)}
            weight = np.array([float(counts.get(g, 0)) for g in groups])
        for column, target in enumerate(TARGETS):
            y = targets_log_ratio[:, column]
            keep = np.isfinite(y) & (weight > 0)
            matrix = xgb.DMatrix(features[keep], label=y[keep], weight=weight[keep], feature_names=list(FEATURE_NAMES))
            params = {**PARAMS, "seed": seed * 1000 + member * 10 + column}
            boosters[target].append(xgb.train(params, matrix, num_boost_round=rounds))
    return ResidualRegressor(boosters, FEATURE_NAMES, CLAMP, coverage)
