"""How much to trust a corrected prediction: distance to the measured data, and ensemble disagreement.

A correction learned from benchmarks is only as good as the benchmarks near the asked-for config. The score multiplies
penalties for what the training data never covered (the GPU, the model family, the GPU x family pair, the TP degree,
more than one pipeline stage, the model size, the concurrency) with one for the ensemble members' disagreement.
Meaning of the result: >= 0.9 production ready, 0.7-0.9 validate in staging, < 0.7 more benchmark data needed
(`confidence_level`, the one place those bands are drawn).

A bare number does not say what to do about it, so the score comes with its factors (`ConfidenceBreakdown`): every
penalty that applies is one `ConfidenceReason` naming what the data lacks and what run to record to supply it.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from budsim.core.types import FloatArray

PRODUCTION_READY = 0.9
VALIDATE_IN_STAGING = 0.7

UNSEEN_GPU = 0.8
UNSEEN_FAMILY = 0.85
UNSEEN_PAIR = 0.95  # GPU and family both measured, just never together
UNSEEN_TP = 0.93
# No measured run has more than one pipeline stage (`core.measurements` maps every run to one), so how micro-batches
# and bubbles cost is the physics' alone: a pipelined config is never "production ready" on the regressor's word, and
# a search judges it at the pessimistic end of its interval (`calibration.PIPELINE_LOG_SCALE_SD` widens it).
UNSEEN_PP = 0.75
SIZE_DECAY = 0.25  # per ln unit of parameter count away from the nearest measured model
CONCURRENCY_DECAY = 0.2  # per ln unit outside the measured concurrency range
SPREAD_SCALE = 0.15  # ensemble std (ln units) at which the disagreement factor is 0.5


@dataclass(frozen=True, slots=True)
class Coverage:
    """What the training data held: the support against which distances are measured."""

    gpus: frozenset[str]
    families: frozenset[str]
    pairs: frozenset[tuple[str, str]]  # (gpu, family)
    log_params: tuple[float, ...]
    tps: frozenset[int]
    log_concurrency_range: tuple[float, float]

    @classmethod
    def from_rows(
        cls,
        gpus: list[str],
        families: list[str],
        log_params: FloatArray | list[float],
        tps: FloatArray | list[int],
        log_concurrency: FloatArray | list[float],
    ) -> "Coverage":
        concurrency = np.asarray(log_concurrency, dtype=np.float64)
        return cls(
            frozenset(gpus),
            frozenset(families),
            frozenset(zip(gpus, families, strict=True)),
            tuple(sorted({round(float(v), 6) for v in log_params})),
            frozenset(int(t) for t in tps),
            (float(concurrency.min()), float(concurrency.max())),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "gpus": sorted(self.gpus),
            "families": sorted(self.families),
            "pairs": sorted(list(pair) for pair in self.pairs),
            "log_params": list(self.log_params),
            "tps": sorted(self.tps),
            "log_concurrency_range": list(self.log_concurrency_range),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Coverage":
        """`data` is parsed JSON (Any by nature): each field is converted to its declared type here."""
        low, high = data["log_concurrency_range"]
        return cls(
            frozenset(str(g) for g in data["gpus"]),
            frozenset(str(f) for f in data["families"]),
            frozenset((str(g), str(f)) for g, f in data["pairs"]),
            tuple(float(v) for v in data["log_params"]),
            frozenset(int(t) for t in data["tps"]),
            (float(low), float(high)),
        )


class ConfidenceLevel(StrEnum):
    """The user guide's bands of the score, which say what to do with an answer."""

    PRODUCTION_READY = "PRODUCTION_READY"
    VALIDATE_IN_STAGING = "VALIDATE_IN_STAGING"
    NEEDS_MORE_DATA = "NEEDS_MORE_DATA"


def confidence_level(score: float) -> ConfidenceLevel:
    """The band `score` falls in: its lower bound belongs to it (0.9 is production ready, 0.7 validate in staging)."""
    if score >= PRODUCTION_READY:
        return ConfidenceLevel.PRODUCTION_READY
    if score >= VALIDATE_IN_STAGING:
        return ConfidenceLevel.VALIDATE_IN_STAGING
    return ConfidenceLevel.NEEDS_MORE_DATA


class ReasonKind(StrEnum):
    """One penalty of the score: each names a gap in the measured data (or the lack of a regressor at all)."""

    UNSEEN_GPU = "UNSEEN_GPU"
    UNSEEN_MODEL_FAMILY = "UNSEEN_MODEL_FAMILY"
    UNSEEN_GPU_MODEL_PAIR = "UNSEEN_GPU_MODEL_PAIR"
    TENSOR_PARALLEL_OUTSIDE_MEASURED = "TENSOR_PARALLEL_OUTSIDE_MEASURED"
    PIPELINE_PARALLEL_UNMEASURED = "PIPELINE_PARALLEL_UNMEASURED"
    MODEL_SIZE_OUTSIDE_MEASURED = "MODEL_SIZE_OUTSIDE_MEASURED"
    CONCURRENCY_OUTSIDE_MEASURED = "CONCURRENCY_OUTSIDE_MEASURED"
    ENSEMBLE_DISAGREEMENT = "ENSEMBLE_DISAGREEMENT"
    NO_REGRESSOR = "NO_REGRESSOR"


@dataclass(frozen=True, slots=True)
class ConfidenceReason:
    """One penalty that lowered a score: `factor` is what it multiplied the score by; `message` says what the data
    lacks and `measure` which run would supply it (recorded runs are learned at the next `budsim train`)."""

    kind: ReasonKind
    factor: float
    message: str
    measure: str


# A factor that rounds to 1 at the score's reported precision lowered nothing worth naming.
_NEGLIGIBLE = 0.9995


def _params_b(log_params: float) -> str:
    return f"{math.exp(log_params) / 1e9:.3g}B"


@dataclass(frozen=True, slots=True)
class ConfidenceBreakdown:
    """The score of N candidates with the factors it is the product of, kept as arrays so a search pays nothing
    for them; only an answer's pick has its factors turned into words (`reasons`)."""

    score: FloatArray  # [N]
    factors: Mapping[ReasonKind, FloatArray]  # each [N]; 1 where the penalty does not apply
    gpu: str
    family: str
    log_params: float
    tp: FloatArray  # [N]
    pp: FloatArray  # [N]
    log_concurrency: FloatArray  # [N], requests in service
    spread: FloatArray  # [N], ensemble std in ln units
    coverage: Coverage | None = None  # None: no regressor, the analytical model alone

    @classmethod
    def analytical(cls, n: int, factors: Mapping[ReasonKind, float], gpu: str, family: str) -> "ConfidenceBreakdown":
        """Without a regressor the analytical model's own confidence stands alone: the product of `factors` (the lack
        of a regressor, and where it applies a GPU the analytical model was never checked against)."""
        nothing = np.full(n, np.nan)
        columns = {kind: np.full(n, factor) for kind, factor in factors.items()}
        score = np.full(n, math.prod(factors.values()))
        return cls(score, columns, gpu, family, math.nan, nothing, nothing, nothing, nothing)

    def masked(self, keep: npt.NDArray[np.bool_]) -> "ConfidenceBreakdown":
        """Score 0 where `keep` is false (a config that cannot serve the workload); the factors stay as they were."""
        return ConfidenceBreakdown(
            np.where(keep, self.score, 0.0), self.factors, self.gpu, self.family, self.log_params,
            self.tp, self.pp, self.log_concurrency, self.spread, self.coverage,
        )  # fmt: skip

    def reasons(self, row: int) -> tuple[ConfidenceReason, ...]:
        """Row `row`'s penalties, worst (smallest factor) first; none for a config the data fully covers."""
        found = [
            ConfidenceReason(kind, round(factor, 4), *self._words(kind, row))
            for kind, values in self.factors.items()
            if (factor := float(values[row])) < _NEGLIGIBLE
        ]
        return tuple(sorted(found, key=lambda reason: reason.factor))

    def _words(self, kind: ReasonKind, row: int) -> tuple[str, str]:
        """What is unseen, and what to record to see it."""
        gpu, family = self.gpu, self.family
        tp, pp = (int(value) if math.isfinite(value) else 0 for value in (self.tp[row], self.pp[row]))
        record = "with recordBenchmark"
        coverage = self.coverage
        match kind:
            case ReasonKind.UNSEEN_GPU:
                return f"No measured run on {gpu}", f"Record a run of this model on {gpu} {record}"
            case ReasonKind.UNSEEN_MODEL_FAMILY:
                return (
                    f"No measured run of a {family} model",
                    f"Record a run of this model (or another {family} model) {record}",
                )
            case ReasonKind.UNSEEN_GPU_MODEL_PAIR:
                return (
                    f"No measured run of a {family} model on {gpu} (each is measured, never together)",
                    f"Record a run of this model on {gpu} {record}",
                )
            case ReasonKind.TENSOR_PARALLEL_OUTSIDE_MEASURED:
                measured = ", ".join(str(t) for t in sorted(coverage.tps)) if coverage else "none"
                return (
                    f"No measured run at tensor parallel {tp} (measured: {measured})",
                    f"Record a run at tensor parallel {tp} {record}",
                )
            case ReasonKind.PIPELINE_PARALLEL_UNMEASURED:
                return (
                    f"No measured run has more than one pipeline stage; pipeline parallel {pp} rests on the "
                    "analytical model alone",
                    f"Validate pipeline parallel {pp} in staging, or prefer a config with one pipeline stage",
                )
            case ReasonKind.MODEL_SIZE_OUTSIDE_MEASURED:
                nearest = min(coverage.log_params, key=lambda v: abs(v - self.log_params)) if coverage else math.nan
                return (
                    f"No measured model near {_params_b(self.log_params)} parameters "
                    f"(nearest measured: {_params_b(nearest)})",
                    f"Record a run of this model, or one of similar size, {record}",
                )
            case ReasonKind.CONCURRENCY_OUTSIDE_MEASURED:
                low, high = coverage.log_concurrency_range if coverage else (math.nan, math.nan)
                asked = math.exp(float(self.log_concurrency[row]))
                return (
                    f"{asked:.0f} requests in service is outside the measured range "
                    f"{math.exp(low):.0f}-{math.exp(high):.0f}",
                    f"Record a run at concurrency {asked:.0f} {record}",
                )
            case ReasonKind.ENSEMBLE_DISAGREEMENT:
                return (
                    f"The regressor's ensemble members disagree by {float(self.spread[row]):.2f} (ln units): the "
                    "measured runs near this config are few or inconsistent",
                    f"Record more runs of this model on {gpu} at this tensor parallel and concurrency {record}",
                )
            case ReasonKind.NO_REGRESSOR:
                return (
                    "The analytical model answers alone, uncorrected by measured runs (the HEURISTIC method, or no "
                    "trained regressor)",
                    "Use the REGRESSOR method with a trained regressor (`budsim train` learns data/ and every "
                    "recorded run)",
                )


def confidence_breakdown(
    coverage: Coverage,
    gpu: str,
    family: str,
    log_params: float,
    tp: npt.ArrayLike,
    log_concurrency: FloatArray | float,
    spread: FloatArray | float,
    pp: npt.ArrayLike = 1,
) -> ConfidenceBreakdown:
    """Confidence in [0, 1] per candidate (broadcast over `tp`, `pp`, `log_concurrency` and `spread`), with the
    factor each penalty applied."""
    tp_arr = np.asarray(tp, dtype=np.float64).reshape(-1)
    conc = np.asarray(log_concurrency, dtype=np.float64).reshape(-1)
    spread_arr = np.asarray(spread, dtype=np.float64).reshape(-1)
    pp_arr = np.asarray(pp, dtype=np.float64).reshape(-1)
    n = max(tp_arr.size, conc.size, spread_arr.size, pp_arr.size)

    def column(value: npt.ArrayLike) -> FloatArray:
        return np.broadcast_to(np.asarray(value, dtype=np.float64).reshape(-1), (n,)).astype(np.float64)

    ones = np.ones(n)
    factors: dict[ReasonKind, FloatArray] = {
        ReasonKind.UNSEEN_GPU: ones * (UNSEEN_GPU if gpu not in coverage.gpus else 1.0),
        ReasonKind.UNSEEN_MODEL_FAMILY: ones * (UNSEEN_FAMILY if family not in coverage.families else 1.0),
        ReasonKind.UNSEEN_GPU_MODEL_PAIR: ones
        * (
            UNSEEN_PAIR
            if gpu in coverage.gpus and family in coverage.families and (gpu, family) not in coverage.pairs
            else 1.0
        ),
    }
    if coverage.log_params:
        distance = min(abs(log_params - v) for v in coverage.log_params)
        factors[ReasonKind.MODEL_SIZE_OUTSIDE_MEASURED] = ones * math.exp(-SIZE_DECAY * distance)
    tp_col, pp_col, conc_col = column(tp_arr), column(pp_arr), column(conc)
    seen_tp = np.isin(tp_col.astype(int), sorted(coverage.tps))
    factors[ReasonKind.TENSOR_PARALLEL_OUTSIDE_MEASURED] = np.where(seen_tp, 1.0, UNSEEN_TP)
    factors[ReasonKind.PIPELINE_PARALLEL_UNMEASURED] = np.where(pp_col > 1, UNSEEN_PP, 1.0)
    low, high = coverage.log_concurrency_range
    outside = np.maximum(low - conc_col, 0.0) + np.maximum(conc_col - high, 0.0)
    factors[ReasonKind.CONCURRENCY_OUTSIDE_MEASURED] = np.exp(-CONCURRENCY_DECAY * outside)
    spread_col = column(np.where(np.isfinite(spread_arr), spread_arr, np.inf))
    factors[ReasonKind.ENSEMBLE_DISAGREEMENT] = 1.0 / (1.0 + (spread_col / SPREAD_SCALE) ** 2)
    score = np.ones(n)
    for values in factors.values():
        score *= values
    return ConfidenceBreakdown(
        np.clip(score, 0.0, 1.0), factors, gpu, family, float(log_params), tp_col, pp_col, conc_col, spread_col,
        coverage,
    )  # fmt: skip


def confidence(
    coverage: Coverage,
    gpu: str,
    family: str,
    log_params: float,
    tp: npt.ArrayLike,
    log_concurrency: FloatArray | float,
    spread: FloatArray | float,
    pp: npt.ArrayLike = 1,
) -> FloatArray:
    """Confidence in [0, 1] per candidate (broadcast over `tp`, `pp`, `log_concurrency` and `spread`)."""
    return confidence_breakdown(coverage, gpu, family, log_params, tp, log_concurrency, spread, pp).score
