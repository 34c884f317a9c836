"""How much to trust a corrected prediction: distance to the measured data, and ensemble disagreement.

A correction learned from benchmarks is only as good as the benchmarks near the asked-for config. The score multiplies
penalties for what the training data never covered (the GPU, the model family, the GPU x family pair, the TP degree,
more than one pipeline stage, the model size, the concurrency) with one for the ensemble members' disagreement.
Meaning of the result: >= 0.9 production ready, 0.7-0.9 validate in staging, < 0.7 more benchmark data needed.
"""

from collections.abc import Mapping
from dataclasses import dataclass
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
    tp_arr = np.asarray(tp, dtype=np.float64).reshape(-1)
    conc = np.asarray(log_concurrency, dtype=np.float64).reshape(-1)
    spread_arr = np.asarray(spread, dtype=np.float64).reshape(-1)
    n = max(tp_arr.size, conc.size, spread_arr.size)
    score = np.ones(n)
    if gpu not in coverage.gpus:
        score *= UNSEEN_GPU
    if family not in coverage.families:
        score *= UNSEEN_FAMILY
    if gpu in coverage.gpus and family in coverage.families and (gpu, family) not in coverage.pairs:
        score *= UNSEEN_PAIR
    if coverage.log_params:
        distance = min(abs(log_params - v) for v in coverage.log_params)
        score *= np.exp(-SIZE_DECAY * distance)
    seen_tp = np.isin(np.broadcast_to(tp_arr, (n,)).astype(int), sorted(coverage.tps))
    score *= np.where(seen_tp, 1.0, UNSEEN_TP)
    score *= np.broadcast_to(np.where(np.asarray(pp).reshape(-1) > 1, UNSEEN_PP, 1.0), (n,))
    low, high = coverage.log_concurrency_range
    outside = np.maximum(low - conc, 0.0) + np.maximum(conc - high, 0.0)
    score *= np.broadcast_to(np.exp(-CONCURRENCY_DECAY * outside), (n,))
    spread_arr = np.where(np.isfinite(spread_arr), spread_arr, np.inf)
    score *= np.broadcast_to(1.0 / (1.0 + (spread_arr / SPREAD_SCALE) ** 2), (n,))
    return np.clip(score, 0.0, 1.0)
