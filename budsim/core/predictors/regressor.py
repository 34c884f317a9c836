"""Residual regressor: XGBoost ensembles of the service-time scales that make the physics match measured runs.

What is learned is deliberately narrow: three log-scales per config, of decode steps, of prompt work and of the time a
request spends in the engine's front end, that `core.calibration` hands to the serving model
(`perf.serving.ServiceScales`). Queueing,
TTFT, TPOT and throughput are then derived from the corrected service times by the same model the analytical method
uses, so a correction can never make a deployment serve more than its corrected capacity or break Little's law, and
no step runs faster than the hardware allows (the step floors of `perf.bounds`). Learning the metrics themselves
instead (a TTFT factor, then throughput by Little's law) let a TTFT that was mostly slot waiting behind thousands of
clients be cut by 3x, and with it the cycle: throughputs beyond the tensor cores' peak.

The training targets are found by inverting the forward model on every measured run (`calibration.fit_log_scales`).
Trees, not the metric, carry the physics' remaining error: with shallow trees, strong regularisation and a clamp on the
scales (`CLAMP`) a config far from the data falls back toward the physical model instead of extrapolating a tree
leaf. Ensemble members are trained on bootstrap resamples of whole groups (model x GPU), so their
disagreement grows where a prediction leans on few groups; `confidence` uses it.

Core does no file I/O: `save` returns named byte strings (xgboost native JSON) and `load` takes them back.
"""

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from budsim.core.predictors.confidence import Coverage
from budsim.core.predictors.features import FEATURE_NAMES
from budsim.core.predictors.forest import Forest
from budsim.core.types import FloatArray

Z_P90 = 1.2816  # the standard normal's 90th percentile: intervals are p10-p90
# The log service-time scales the ensembles learn, in the column order of a dataset's targets.
TARGETS: tuple[str, ...] = ("decode_scale", "prefill_scale", "frontend_scale")
FORMAT = "budsim-residual-regressor/4"
# How far the physics' service times sit from measured runs: the spread of the log-scales `calibration.fit_log_scales`
# finds for the 3,074 runs of data/benchmarks.csv it can express (decode, prefill, front end), as the standard
# deviation of a normal with their p10-p90 range (bench/regressor.py prints them again). It is the analytical method's
# uncertainty, and the prior every learned scale is weighed against (`ResidualRegressor.estimate`).
PHYSICS_LOG_SCALE_SD: tuple[float, ...] = (0.25, 0.21, 0.89)
# Largest |log-scale| of each target. Steps: 3x either way, and never faster than the hardware (`perf.bounds`). The
# front end: 10x, because it is a delay, not a capacity, and benchmarks of CPU-bound servers (TensorRT-LLM's at TP 8
# and high concurrency in data/benchmarks.csv) wait seconds in it where its constant says a tenth of one.
CLAMP: tuple[float, ...] = (math.log(3.0), math.log(3.0), math.log(10.0))
ENSEMBLE = 3  # 3 members x 3 scales: nine boosters a prediction asks, as few as the search can afford
NTHREAD = 1  # small data: OpenMP threads only contend with the service (and each other)
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
    "nthread": NTHREAD,
}
ROUNDS = 200


@dataclass(frozen=True, slots=True)
class LogScales:
    """Per candidate: the clamped ensemble mean of each log-scale ([N, 3], columns as TARGETS) and the members'
    standard deviation of it ([N, 3])."""

    mean: FloatArray
    spread: FloatArray

    @property
    def mean_spread(self) -> FloatArray:
        spread: FloatArray = self.spread.mean(axis=1)
        return spread


@dataclass
class ResidualRegressor:
    """Per learned target, an ensemble of boosters predicting its log service-time scale.

    `noise` is, per target, the robust standard deviation of what the trees miss: `measured` on a new run of a GPU x
    model family pair the data holds (three folds of random rows), `unseen` on a model x GPU pair they never saw
    (each row predicted by the members whose bootstrap left its group out). It is the spread of similar measured rows
    around the learned scale, which a prediction's interval adds to the ensemble's disagreement.
    """

    boosters: dict[str, list[xgb.Booster]]
    feature_names: tuple[str, ...] = FEATURE_NAMES
    clamp: tuple[float, ...] = CLAMP
    coverage: Coverage | None = None
    info: dict[str, object] = field(default_factory=dict)
    noise_measured: tuple[float, ...] = (0.0, 0.0, 0.0)
    noise_unseen: tuple[float, ...] = (0.0, 0.0, 0.0)

    def log_scales(self, features: FloatArray) -> LogScales:
        """The learned log-scales of N feature rows, each clamped to +-its `clamp`, and the ensemble's spread."""
        if features.shape[1] != len(self.feature_names):
            raise ValueError(f"expected {len(self.feature_names)} features, got {features.shape[1]}")
        # A DMatrix per call rather than inplace_predict: no faster here (bench), and `predict` is the path xgboost
        # documents as safe to call from several threads at once, which jobs running side by side do.
        matrix = xgb.DMatrix(features, feature_names=list(self.feature_names), nthread=NTHREAD)
        raw = self.forest.predict(matrix)
        members = [raw[target] for target in TARGETS]  # each members x rows
        mean = np.column_stack([np.clip(m.mean(axis=0), -c, c) for m, c in zip(members, self.clamp, strict=True)])
        return LogScales(mean=mean, spread=np.column_stack([m.std(axis=0) for m in members]))

    def estimate(self, scales: LogScales, gpu: str, family: str) -> tuple[FloatArray, FloatArray]:
        """Each of N log-scales' best estimate and standard deviation ([N, 3] each).

        The trees' value is uncertain by the ensemble's disagreement and the noise of runs like it (measured ones
        where the data holds the GPU x model family pair, unseen ones elsewhere); the physics says 0 give or take
        PHYSICS_LOG_SCALE_SD. Both are weighed by their precision (a normal prior and a normal measurement), so a
        correction the trees cannot vouch for shrinks toward the physics: on a model they never saw, their decode
        correction alone had made held-out TPOT worse than the physics (16% median against 13.5%).

        The standard deviation stays the trees' own: the posterior's, which treats the two as independent, put only
        62-75% of held-out measurements inside their p10-p90 interval, where this one puts 80% or more.
        """
        measured = self.coverage is not None and (gpu, family) in self.coverage.pairs
        noise = np.asarray(self.noise_measured if measured else self.noise_unseen, dtype=np.float64)
        variance = scales.spread**2 + noise**2
        prior = np.asarray(PHYSICS_LOG_SCALE_SD, dtype=np.float64) ** 2
        mean: FloatArray = scales.mean * prior / (prior + variance)
        sd: FloatArray = np.sqrt(variance)
        return mean, sd

    def save(self) -> dict[str, bytes]:
        """Named byte strings: `meta.json` plus one xgboost native JSON per booster (the caller writes them)."""
        meta = {
            "format": FORMAT,
            "feature_names": list(self.feature_names),
            "clamp": list(self.clamp),
            "noise": {"measured": list(self.noise_measured), "unseen": list(self.noise_unseen)},
            "targets": {target: len(members) for target, members in self.boosters.items()},
            "coverage": self.coverage.to_dict() if self.coverage is not None else None,
            "info": self.info,
        }
        blobs = {"meta.json": json.dumps(meta, sort_keys=True).encode()}
        for target, members in self.boosters.items():
            for index, member in enumerate(members):
                blobs[f"{target}.{index}.json"] = bytes(member.save_raw("json"))
        return blobs

    @cached_property
    def forest(self) -> Forest:
        """The boosters, predicted together; `forest.merge()` readies one XGBoost call for a few rows."""
        return Forest(self.boosters, NTHREAD)

    @cached_property
    def saved(self) -> dict[str, bytes]:
        """`save()`, computed once: what crosses to child processes."""
        return self.save()

    def __reduce__(self) -> tuple[Callable[[dict[str, bytes]], "ResidualRegressor"], tuple[dict[str, bytes]]]:
        # Pickled for a child process (a search, the predictions) as its saved bytes, copied in milliseconds,
        # rather than booster by booster: ~40 ms of native serialization that holds the interpreter lock and so
        # stalled the parent's event loop each time a child started.
        return ResidualRegressor.load, (self.saved,)

    @classmethod
    def load(cls, blobs: dict[str, bytes]) -> "ResidualRegressor":
        meta = json.loads(blobs["meta.json"])
        if meta.get("format") != FORMAT:
            raise ValueError(f"unknown residual regressor format {meta.get('format')!r}")
        boosters: dict[str, list[xgb.Booster]] = {}
        for target, count in meta["targets"].items():
            members = []
            for index in range(count):
                booster = xgb.Booster()
                booster.load_model(bytearray(blobs[f"{target}.{index}.json"]))
                booster.set_param({"nthread": NTHREAD})  # not part of the saved model
                members.append(booster)
            boosters[target] = members
        coverage = Coverage.from_dict(meta["coverage"]) if meta["coverage"] is not None else None
        names = tuple(meta["feature_names"])
        clamp = tuple(float(c) for c in meta["clamp"])
        measured, unseen = (tuple(float(v) for v in meta["noise"][kind]) for kind in ("measured", "unseen"))
        return cls(boosters, names, clamp, coverage, dict(meta["info"]), measured, unseen)


def train(
    features: FloatArray,
    log_scales: FloatArray,
    groups: npt.NDArray[np.str_] | list[str],
    seed: int = 0,
    *,
    ensemble: int = ENSEMBLE,
    rounds: int = ROUNDS,
    coverage: Coverage | None = None,
) -> ResidualRegressor:
    """Fit one ensemble per learned target from `log_scales` ([N, 3], columns as TARGETS; NaN where a run says
    nothing about a scale).

    Member 0 sees every row; the others see a bootstrap of whole groups, so that their disagreement measures how much
    a prediction depends on which model x GPU pairs were measured, and the groups a bootstrap leaves out measure the
    regressor's `noise` on pairs it never saw.
    """
    groups = np.asarray(groups)
    unique = np.unique(groups)
    rng = np.random.default_rng(seed)
    boosters: dict[str, list[xgb.Booster]] = {target: [] for target in TARGETS}
    out_of_bag_sum = np.zeros_like(log_scales)
    out_of_bag_count = np.zeros(len(groups))
    for member in range(ensemble):
        if member == 0:
            weight = np.ones(len(groups))
        else:
            drawn = rng.choice(unique, size=len(unique), replace=True)
            counts = {g: c for g, c in zip(*np.unique(drawn, return_counts=True), strict=True)}
            weight = np.array([float(counts.get(g, 0)) for g in groups])
        for column, target in enumerate(TARGETS):
            y = log_scales[:, column]
            keep = np.isfinite(y) & (weight > 0)
            matrix = xgb.DMatrix(features[keep], label=y[keep], weight=weight[keep], feature_names=list(FEATURE_NAMES))
            params = {**PARAMS, "seed": seed * 1000 + member * 10 + column}
            boosters[target].append(xgb.train(params, matrix, num_boost_round=rounds))
            left_out = weight == 0
            if left_out.any():
                out_of_bag_rows = xgb.DMatrix(features[left_out], feature_names=list(FEATURE_NAMES), nthread=NTHREAD)
                out_of_bag_sum[left_out, column] += boosters[target][-1].predict(out_of_bag_rows)
        out_of_bag_count += weight == 0
    with np.errstate(invalid="ignore", divide="ignore"):  # rows every bootstrap drew have no out-of-bag prediction
        out_of_bag = out_of_bag_sum / out_of_bag_count[:, None]
    unseen = tuple(_robust_sd(log_scales[:, c] - out_of_bag[:, c]) for c in range(len(TARGETS)))
    measured = _measured_noise(features, log_scales, seed, rounds)
    return ResidualRegressor(boosters, FEATURE_NAMES, CLAMP, coverage, noise_measured=measured, noise_unseen=unseen)


NOISE_FOLDS = 3


def _measured_noise(features: FloatArray, log_scales: FloatArray, seed: int, rounds: int) -> tuple[float, ...]:
    """Robust SD per target of what one booster trained on the other folds misses on a fold of random rows: the error
    on a new run of a pair that is measured. (Random rows, deliberately: it is that case's noise, not the accuracy on
    unseen pairs, which group splits measure.)"""
    fold = np.random.default_rng(seed + 1).integers(0, NOISE_FOLDS, len(log_scales))
    residuals = np.full_like(log_scales, np.nan)
    for k in range(NOISE_FOLDS):
        test = fold == k
        held = xgb.DMatrix(features[test], feature_names=list(FEATURE_NAMES), nthread=NTHREAD)
        for column in range(len(TARGETS)):
            y = log_scales[:, column]
            keep = np.isfinite(y) & ~test
            matrix = xgb.DMatrix(features[keep], label=y[keep], feature_names=list(FEATURE_NAMES))
            booster = xgb.train({**PARAMS, "seed": seed * 1000 + 500 + column}, matrix, num_boost_round=rounds)
            residuals[test, column] = y[test] - booster.predict(held)
    return tuple(_robust_sd(residuals[:, c]) for c in range(len(TARGETS)))


def _robust_sd(residuals: FloatArray) -> float:
    """The standard deviation of a normal with the finite residuals' p10-p90 range: what makes a prediction's
    p10-p90 interval cover 80% of such residuals however heavy their tails, which a few broken benchmark rows do not
    move much. 0 when there are none."""
    finite = residuals[np.isfinite(residuals)]
    if finite.size == 0:
        return 0.0
    low, high = np.percentile(finite, [10, 90])
    return float((high - low) / (2 * Z_P90))


@dataclass(frozen=True, slots=True)
class ActiveRegressor:
    """The regressor a process predicts with, and the stored version it is: what an answer records as its origin.

    `version` is None where no version is stored (no database, or one that could not be reached) and `regressor` is
    None where none could be loaded at all (REGRESSOR then falls back to the analytical model and says so).
    """

    regressor: ResidualRegressor | None = None
    version: int | None = None
