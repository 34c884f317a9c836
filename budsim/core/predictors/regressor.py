"""Residual regressor: XGBoost models of log(measured / base) for TTFT and TPOT, one bootstrap ensemble each.

Why a residual and not the metric itself: the analytical model already carries the physics (a 70B model on 8 GPUs is
slower than an 8B on one), so the trees only have to learn a small, smooth correction; with shallow trees, strong
regularisation and a clamp on the correction (default ±ln 3), a config far from the data falls back toward the
physical base instead of extrapolating a tree leaf. Ensemble members are trained on bootstrap resamples of whole
groups (model x GPU), so their disagreement grows where a prediction leans on few groups; `confidence` uses it.

The base of TPOT is the analytical TPOT. The base of TTFT is `features.benchmark_ttft_ms`, the analytical steady
state with a closed-loop benchmark's synchronised waves weighed in; its log-ratio to the analytical TTFT is a feature
column (`BASES`). Throughput is not learned: a closed loop's clients each keep one request in flight, so its output
rate is concurrency x output tokens / (TTFT + (output tokens - 1) x TPOT) (Little's law; data/benchmarks.csv derives
it exactly so), and the throughput correction follows from the two latency corrections; an open loop's throughput is
its offered rate, which no latency correction changes. On data/benchmarks.csv this is more accurate held out than a
throughput ensemble of its own was (bench/regressor.py), and it keeps the three corrected metrics consistent.

Corrections are reported relative to the analytical metrics (base ratio + clamped residual), so callers scale
`ServingMetrics` by them as before. Core does no file I/O: `save` returns named byte strings (xgboost native JSON) and
`load` takes them back.
"""

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from budsim.core.perf.serving import ServingMetrics
from budsim.core.predictors.confidence import Coverage
from budsim.core.predictors.features import BENCHMARK_TTFT_FEATURE, FEATURE_NAMES
from budsim.core.predictors.forest import Forest

FloatArray = npt.NDArray[np.float64]

TARGETS: tuple[str, ...] = ("output_tokens_per_s", "ttft_ms", "tpot_ms")
LEARNED: tuple[str, ...] = ("ttft_ms", "tpot_ms")  # throughput follows from these (module docstring)
# Targets whose trees learn the residual of a physical base other than the analytical metric: target -> the feature
# column holding log(base / analytical).
BASES: dict[str, str] = {"ttft_ms": BENCHMARK_TTFT_FEATURE}
FORMAT = "budsim-residual-regressor/2"
CLAMP = math.log(3.0)
ENSEMBLE = 5
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
    """Per learned target, an ensemble of boosters predicting log(measured / base); throughput derived from them."""

    boosters: dict[str, list[xgb.Booster]]
    feature_names: tuple[str, ...] = FEATURE_NAMES
    clamp: float = CLAMP
    coverage: Coverage | None = None
    info: dict[str, object] = field(default_factory=dict)
    bases: dict[str, str] = field(default_factory=lambda: dict(BASES))

    def log_corrections(self, features: FloatArray) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
        """Log-correction of every target relative to the analytical metric, and its ensemble std.

        TTFT and TPOT: base ratio + clamped mean of the members. Throughput: what the corrected latencies imply for a
        closed loop (module docstring), none for an open one.
        """
        if features.shape[1] != len(self.feature_names):
            raise ValueError(f"expected {len(self.feature_names)} features, got {features.shape[1]}")
        # A DMatrix per call rather than inplace_predict: no faster here (bench), and `predict` is the path xgboost
        # documents as safe to call from several threads at once, which jobs running side by side do.
        matrix = xgb.DMatrix(features, feature_names=list(self.feature_names), nthread=NTHREAD)
        means: dict[str, FloatArray] = {}
        spreads: dict[str, FloatArray] = {}
        for target, raw in self.forest.predict(matrix).items():
            residual = np.clip(raw.mean(axis=0), -self.clamp, self.clamp)
            means[target] = base_log_ratio(features, self.feature_names, self.bases, target) + residual
            spreads[target] = raw.std(axis=0)
        ttft_share = _ttft_share_of_request(features, self.feature_names)
        closed = self._column(features, "closed_loop") > 0.5
        e2e_log = np.log(ttft_share * np.exp(means["ttft_ms"]) + (1.0 - ttft_share) * np.exp(means["tpot_ms"]))
        means["output_tokens_per_s"] = np.where(closed & np.isfinite(e2e_log), -e2e_log, 0.0)
        thr_spread = ttft_share * spreads["ttft_ms"] + (1.0 - ttft_share) * spreads["tpot_ms"]
        spreads["output_tokens_per_s"] = np.where(np.isfinite(thr_spread), thr_spread, 0.0)
        return {target: means[target] for target in TARGETS}, {target: spreads[target] for target in TARGETS}

    def _column(self, features: FloatArray, name: str) -> FloatArray:
        return features[:, self.feature_names.index(name)]

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
            "format": FORMAT,
            "feature_names": list(self.feature_names),
            "bases": self.bases,
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
        return cls(boosters, names, float(meta["clamp"]), coverage, dict(meta["info"]), dict(meta["bases"]))


def base_log_ratio(
    features: FloatArray, feature_names: tuple[str, ...], bases: dict[str, str], target: str
) -> FloatArray:
    """log(base / analytical) of `target` per row: 0 where the target's base is the analytical metric or unknown."""
    if target not in bases:
        return np.zeros(features.shape[0])
    column = features[:, feature_names.index(bases[target])]
    return np.where(np.isfinite(column), column, 0.0)


def _ttft_share_of_request(features: FloatArray, feature_names: tuple[str, ...]) -> FloatArray:
    """TTFT / (TTFT + (output tokens - 1) x TPOT) of the analytical prediction: how much of a request's time the TTFT
    correction moves, the rest being the TPOT correction's."""
    ttft = np.exp(features[:, feature_names.index("log_ttft_ms")])
    tpot = np.exp(features[:, feature_names.index("log_tpot_ms")])
    decode_tokens = np.exp(features[:, feature_names.index("log_output_tokens")]) - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return ttft / (ttft + decode_tokens * tpot)


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
    """Fit one ensemble per learned target from `targets_log_ratio` (log measured / analytical, columns as TARGETS;
    the throughput column is not needed, as throughput is derived).

    Member 0 sees every row; the others see a bootstrap of whole groups, so that their disagreement measures how much
    a prediction depends on which model x GPU pairs were measured. Targets with a base in `BASES` learn the residual
    of that base.
    """
    groups = np.asarray(groups)
    unique = np.unique(groups)
    rng = np.random.default_rng(seed)
    boosters: dict[str, list[xgb.Booster]] = {target: [] for target in LEARNED}
    for member in range(ensemble):
        if member == 0:
            weight = np.ones(len(groups))
        else:
            drawn = rng.choice(unique, size=len(unique), replace=True)
            counts = {g: c for g, c in zip(*np.unique(drawn, return_counts=True), strict=True)}
            weight = np.array([float(counts.get(g, 0)) for g in groups])
        for target in LEARNED:
            column = TARGETS.index(target)
            y = targets_log_ratio[:, column] - base_log_ratio(features, FEATURE_NAMES, BASES, target)
            keep = np.isfinite(y) & (weight > 0)
            matrix = xgb.DMatrix(features[keep], label=y[keep], weight=weight[keep], feature_names=list(FEATURE_NAMES))
            params = {**PARAMS, "seed": seed * 1000 + member * 10 + column}
            boosters[target].append(xgb.train(params, matrix, num_boost_round=rounds))
    return ResidualRegressor(boosters, FEATURE_NAMES, CLAMP, coverage, bases=dict(BASES))
