"""How a population of genomes is scored, and a scored genome reported.

Scoring is split in two on purpose. The space owns the cross-gene rules (`constraints.structural_violations`), so no
evaluator can forget them; an `Evaluator` owns everything that needs a model (memory, serving metrics, targets) and
scores a whole population in one vectorized call. `score` joins the two and turns an evaluator's failure into the
worst possible score, never the best.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

import numpy as np

from budsim.core.deployment import ServingConfig
from budsim.core.search.constraints import (
    FAILED,
    RUNNABLE_RULES,
    RUNNABLE_TIER,
    STRUCTURAL_RULES,
    STRUCTURAL_TIER,
    structural_violations,
)
from budsim.core.search.space import Gene, SearchSpace, decode
from budsim.core.types import BoolArray, FloatArray, IntArray

OBJECTIVES = ("output_tokens_per_s", "e2e_p99_ms", "cost_per_hour")
# +1 maximize, -1 minimize, in OBJECTIVES order.
OBJECTIVE_SENSE = np.array([1.0, -1.0, -1.0])


@dataclass(frozen=True)
class Evaluation:
    """Scores of N genomes, row for row.

    `objectives` is [N, 3] in OBJECTIVES order (throughput to maximize, p99 latency and cost to minimize), as raw
    values: infinite latency where a config cannot serve. `violations` holds each rule's normalized violation (>= 0);
    a row is feasible when they all are 0. `metrics` carries whatever the evaluator wants to report per row.
    """

    objectives: FloatArray
    violations: Mapping[str, FloatArray]
    metrics: Mapping[str, FloatArray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.objectives.shape[0])

    @cached_property
    def violation(self) -> FloatArray:
        """Total normalized violation per row, as reported; 0 exactly where a row is feasible."""
        total = np.zeros(len(self))
        for values in self.violations.values():
            total = total + values
        return total

    @cached_property
    def severity(self) -> FloatArray:
        """What orders infeasible rows: the total violation lifted by the tier of the worst rule broken."""
        structural = np.zeros(len(self), dtype=bool)
        runnable = np.zeros(len(self), dtype=bool)
        for name, values in self.violations.items():
            if name in STRUCTURAL_RULES:
                structural |= values > 0
            elif name in RUNNABLE_RULES:
                runnable |= values > 0
        lifted: FloatArray = self.violation + np.where(
            structural, STRUCTURAL_TIER, np.where(runnable, RUNNABLE_TIER, 0.0)
        )
        return lifted


class Evaluator(Protocol):
    """Scores a whole population in one call; must not add the space's structural rules (`score` does)."""

    def __call__(self, space: SearchSpace, genomes: IntArray) -> Evaluation: ...


def _failed_rows(evaluation: Evaluation) -> BoolArray:
    """Rows an evaluator could not score honestly: NaN anywhere, or "feasible" with a non-finite objective."""
    objectives = evaluation.objectives
    bad = np.isnan(objectives).any(axis=1)
    total = evaluation.violation
    bad |= np.isnan(total) | (total < 0)
    bad |= (total == 0) & ~np.isfinite(objectives).all(axis=1)
    failed: BoolArray = bad
    return failed


def _checked(evaluation: Evaluation, n: int) -> Evaluation:
    if evaluation.objectives.shape != (n, len(OBJECTIVES)):
        raise ValueError(f"an evaluator returned objectives of shape {evaluation.objectives.shape}, not ({n}, 3)")
    for name, values in evaluation.violations.items():
        if np.shape(values) != (n,):
            raise ValueError(f"an evaluator returned violation {name!r} of shape {np.shape(values)}, not ({n},)")
    return evaluation


def _bisect(space: SearchSpace, evaluator: Evaluator, genomes: IntArray) -> Evaluation:
    """After a vectorized call raised: score halves, then quarters, ..., so a failing genome fails alone.

    One bad genome among N costs about 2 log2(N) extra calls instead of N.
    """
    n = genomes.shape[0]
    try:
        return _checked(evaluator(space, genomes), n)
    except Exception:  # any failure of a model on a genome makes that genome infeasible, nothing more
        if n == 1:
            return Evaluation(np.array([[0.0, np.inf, np.inf]]), {FAILED: np.array([np.inf])})
    halves = [_bisect(space, evaluator, part) for part in (genomes[: n // 2], genomes[n // 2 :])]
    names = dict.fromkeys(name for half in halves for name in half.violations)
    metrics = dict.fromkeys(name for half in halves for name in half.metrics)

    def joined(name: str, field: str, fill: float) -> FloatArray:
        parts = [getattr(half, field).get(name, np.full(len(half), fill)) for half in halves]
        return np.concatenate(parts).astype(np.float64)

    return Evaluation(
        objectives=np.vstack([half.objectives for half in halves]),
        violations={name: joined(name, "violations", 0.0) for name in names},
        metrics={name: joined(name, "metrics", np.nan) for name in metrics},
    )


def score(space: SearchSpace, evaluator: Evaluator, genomes: IntArray) -> Evaluation:
    """The evaluator's scores plus the space's structural rules, with failures made the worst possible score.

    A genome whose evaluation raises, or comes back NaN, gets throughput 0, infinite latency and cost and an
    infinite `evaluation_failed` violation: it loses to every candidate that was scored, feasible or not.
    """
    g = np.asarray(genomes, dtype=np.int64).reshape(-1, len(Gene))
    n = g.shape[0]
    evaluation = _bisect(space, evaluator, g)
    failed = _failed_rows(evaluation)
    objectives = np.where(failed[:, None], np.array([0.0, np.inf, np.inf]), evaluation.objectives)
    violations = {
        name: np.where(failed, 0.0, np.asarray(values, dtype=np.float64))
        for name, values in evaluation.violations.items()
    }
    violations[FAILED] = np.where(failed, np.inf, violations.get(FAILED, np.zeros(n)))
    violations.update(structural_violations(space, g))
    return Evaluation(objectives=objectives, violations=violations, metrics=dict(evaluation.metrics))


@dataclass(frozen=True, slots=True)
class Candidate:
    """One scored config, ready to report."""

    genome: tuple[int, ...]
    config: ServingConfig
    cluster_index: int
    cluster_label: str
    output_tokens_per_s: float
    e2e_p99_ms: float
    cost_per_hour: float
    violation: float  # total normalized violation; 0 when feasible
    violations: dict[str, float]  # the rules it breaks, by how much
    severity: float  # the violation lifted by tier (see STRUCTURAL_TIER): what ranks near misses
    metrics: dict[str, float]

    @property
    def feasible(self) -> bool:
        return self.violation == 0.0

    @property
    def cost_per_million_tokens(self) -> float:
        """Per million output tokens: the quantity the pick rule minimizes."""
        if self.output_tokens_per_s <= 0:
            return math.inf
        return self.cost_per_hour / (self.output_tokens_per_s * 3600.0) * 1e6


def candidate(space: SearchSpace, genome: Sequence[int] | IntArray, evaluation: Evaluation, row: int) -> Candidate:
    g = np.asarray(genome, dtype=np.int64).reshape(1, len(Gene))
    batch, clusters = decode(space, g)
    index = int(clusters[0])
    throughput, p99, cost = (float(v) for v in evaluation.objectives[row])
    return Candidate(
        genome=tuple(int(v) for v in g[0]),
        config=batch.row(0),
        cluster_index=index,
        cluster_label=space.clusters[index].label,
        output_tokens_per_s=throughput,
        e2e_p99_ms=p99,
        cost_per_hour=cost,
        violation=float(evaluation.violation[row]),
        severity=float(evaluation.severity[row]),
        violations={k: float(v[row]) for k, v in evaluation.violations.items() if v[row] > 0},
        metrics={k: float(v[row]) for k, v in evaluation.metrics.items()},
    )


__all__ = [
    "OBJECTIVES",
    "OBJECTIVE_SENSE",
    "Candidate",
    "Evaluation",
    "Evaluator",
    "candidate",
    "score",
]
