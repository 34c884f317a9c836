"""Variation and selection for index genomes, and the Pareto arithmetic both searches share.

Constraint-dominance (Deb, "An efficient constraint handling method for genetic algorithms", 2000): a feasible
candidate beats every infeasible one; two infeasible ones compare by total normalized violation alone; two feasible
ones by Pareto dominance, then crowding. Objective values of infeasible candidates are never looked at, so no cheap
config can buy its way past a target, which is exactly what a penalty term allows.

Selection runs on numpy arrays rather than DEAP's `sortNondominated`: DEAP compares fitnesses pair by pair in Python,
about 10 ms per generation at 100 individuals, which alone would eat half the search's time budget. The variation
operators take their own `random.Random`, because DEAP's `tools.cx*`/`mut*` draw from the global `random` module and
two searches in one process would then disturb each other's reproducibility.
"""

import random
from collections.abc import Sequence
from typing import Any

import numpy as np
from deap import base

from budsim.core.search.scoring import OBJECTIVE_SENSE
from budsim.core.types import BoolArray, FloatArray, IntArray

# Two numbers that differ only in their 10th significant digit are the same for the pick rule: throughput computed as
# (rate / replicas) x replicas differs from the rate in its last bit, and that must not decide between two configs.
TIE_SIGNIFICANT_DIGITS = 9


class ConstrainedFitness(base.Fitness):  # type: ignore[misc]  # deap ships no type hints: its base is Any
    """DEAP fitness with Deb's constraint-dominance; a subclass instead of `creator.create` so nothing is global.

    `values` are the raw objectives (throughput, e2e p99 ms, cost per hour); `violation` the candidate's tiered total
    violation (`Evaluation.severity`), 0 exactly when it is feasible. `rank` and `crowding` are written by
    `select_nsga2` for the tournament to read.
    """

    weights = tuple(float(w) for w in OBJECTIVE_SENSE)

    def __init__(self, values: Sequence[float] = (), violation: float = 0.0) -> None:
        super().__init__(values)
        self.violation = violation
        self.rank = 0
        self.crowding = 0.0

    @property
    def feasible(self) -> bool:
        return self.violation == 0.0

    def dominates(self, other: "ConstrainedFitness", obj: slice = slice(None)) -> bool:
        if self.feasible != other.feasible:
            return self.feasible
        if not self.feasible:
            return self.violation < other.violation
        return bool(super().dominates(other, obj))

    def __deepcopy__(self, memo: dict[int, Any]) -> "ConstrainedFitness":
        copy = type(self)()
        copy.wvalues = self.wvalues
        copy.violation, copy.rank, copy.crowding = self.violation, self.rank, self.crowding
        return copy


class Individual(list[int]):
    """A genome (gene option indices) with its fitness, as DEAP's algorithms expect an individual to be."""

    __slots__ = ("fitness",)

    def __init__(self, genes: Sequence[int] = ()) -> None:
        super().__init__(int(g) for g in genes)
        self.fitness = ConstrainedFitness()


def clone(individual: Individual) -> Individual:
    """Cheaper than DEAP's default `copy.deepcopy`, which walks the list element by element."""
    twin = Individual(individual)
    twin.fitness = individual.fitness.__deepcopy__({})
    return twin


# ---------------------------------------------------------------- variation


def cx_uniform(
    a: Individual, b: Individual, *, rng: random.Random, indpb: float = 0.5
) -> tuple[Individual, Individual]:
    """Swap each gene with probability `indpb`. Genes are option indices of the same gene, so any swap is valid."""
    for i in range(min(len(a), len(b))):
        if rng.random() < indpb:
            a[i], b[i] = b[i], a[i]
    return a, b


def mut_genes(
    individual: Individual, *, rng: random.Random, sizes: Sequence[int], indpb: float, step_prob: float = 0.5
) -> tuple[Individual]:
    """Redraw each gene with probability `indpb`; at least one gene always changes.

    Half of the redraws step to a neighbouring option, because most genes are ordered (TP, replicas, batch limits)
    and the best value is usually next to a good one; the other half jump anywhere, so a gene can leave a basin.
    Forcing one change keeps a mutated child from being its parent again, which would cost a generation slot.
    """
    mutable = [i for i, size in enumerate(sizes) if size > 1]
    if not mutable:
        return (individual,)
    chosen = [i for i in mutable if rng.random() < indpb] or [rng.choice(mutable)]
    for i in chosen:
        size, current = sizes[i], individual[i]
        if rng.random() < step_prob:
            step = rng.choice((-1, 1))
            moved = current + step
            individual[i] = moved if 0 <= moved < size else current - step
        else:
            new = rng.randrange(size - 1)
            individual[i] = new + 1 if new >= current else new
    return (individual,)


# ---------------------------------------------------------------- Pareto arithmetic (minimization)


def minimization(objectives: FloatArray) -> FloatArray:
    """Raw objectives (throughput, p99, cost) as a vector to minimize (-throughput, p99, cost)."""
    values: FloatArray = np.asarray(objectives, dtype=np.float64) * -OBJECTIVE_SENSE
    return values


def dominates_matrix(a: FloatArray, b: FloatArray) -> BoolArray:
    """D[i, j]: a[i] Pareto-dominates b[j] (no worse anywhere, better somewhere).

    One 2-D comparison per objective: numpy reduces an (n, n, 3) array over its short last axis several times
    slower, and this runs on every generation's children.
    """
    no_worse = np.ones((a.shape[0], b.shape[0]), dtype=bool)
    better = np.zeros((a.shape[0], b.shape[0]), dtype=bool)
    for m in range(a.shape[1]):
        column_a, column_b = a[:, m, None], b[None, :, m]
        no_worse &= column_a <= column_b
        better |= column_a < column_b
    matrix: BoolArray = no_worse & better
    return matrix


def dominance_matrix(points: FloatArray) -> BoolArray:
    """D[i, j]: point i Pareto-dominates point j."""
    return dominates_matrix(points, points)


def nondominated_ranks(points: FloatArray) -> IntArray:
    """Front number of each point: 0 for the non-dominated, 1 for those only the first front dominates, ..."""
    n = points.shape[0]
    ranks = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return ranks
    dominates = dominance_matrix(points)
    dominated_by = dominates.sum(axis=0)
    remaining = np.ones(n, dtype=bool)
    rank = 0
    while remaining.any():
        front = remaining & (dominated_by == 0)
        ranks[front] = rank
        dominated_by = dominated_by - dominates[front].sum(axis=0)
        remaining &= ~front
        rank += 1
    return ranks


def constrained_ranks(points: FloatArray, violation: FloatArray) -> IntArray:
    """Ranks under constraint-dominance: feasible fronts first, then one rank per distinct violation, least first."""
    feasible = violation == 0.0
    ranks = np.empty(points.shape[0], dtype=np.int64)
    feasible_ranks = nondominated_ranks(points[feasible])
    ranks[feasible] = feasible_ranks
    offset = int(feasible_ranks.max()) + 1 if feasible_ranks.size else 0
    if (~feasible).any():
        _, dense = np.unique(violation[~feasible], return_inverse=True)
        ranks[~feasible] = offset + dense
    return ranks


def crowding_distances(points: FloatArray, ranks: IntArray, violation: FloatArray) -> FloatArray:
    """NSGA-II crowding distance within each feasible front (infinite at its edges); 0 for infeasible points.

    Infeasible points of one rank share a violation and differ only by objectives they are not judged on.
    """
    crowding = np.zeros(points.shape[0])
    feasible = violation == 0.0
    for rank in np.unique(ranks[feasible]):
        members = np.flatnonzero(feasible & (ranks == rank))
        if members.size <= 2:
            crowding[members] = np.inf
            continue
        front = points[members]
        distance = np.zeros(members.size)
        for m in range(front.shape[1]):
            order = np.argsort(front[:, m], kind="stable")
            values = front[order, m]
            span = values[-1] - values[0]
            distance[order[0]] = distance[order[-1]] = np.inf
            if span > 0 and np.isfinite(span):
                distance[order[1:-1]] += (values[2:] - values[:-2]) / span
        crowding[members] = distance
    return crowding


def select_nsga2(individuals: Sequence[Individual], k: int) -> list[Individual]:
    """NSGA-II environmental selection under constraint-dominance, preferring distinct genomes.

    Whole fronts are kept while they fit, the last one by crowding; a genome already present counts only after every
    distinct one, since a duplicate spends a population slot on information the archive already has.
    """
    seen: set[tuple[int, ...]] = set()
    unique: list[int] = []
    duplicates: list[int] = []
    for i, ind in enumerate(individuals):
        key = tuple(ind)
        (duplicates if key in seen else unique).append(i)
        seen.add(key)
    fits = [individuals[i].fitness for i in unique]
    points = -np.array([f.wvalues for f in fits], dtype=np.float64).reshape(len(fits), -1)
    violation = np.array([f.violation for f in fits], dtype=np.float64)
    ranks = constrained_ranks(points, violation)
    crowding = crowding_distances(points, ranks, violation)
    for fit, rank, crowd in zip(fits, ranks, crowding, strict=True):
        fit.rank, fit.crowding = int(rank), float(crowd)
    order = np.lexsort((np.arange(len(unique)), -crowding, ranks))
    chosen = [individuals[unique[i]] for i in order[:k]]
    for i in duplicates[: max(0, k - len(chosen))]:
        individuals[i].fitness.crowding = 0.0
        chosen.append(individuals[i])
    return chosen


def _better(a: Individual, b: Individual, rng: random.Random) -> Individual:
    fa, fb = a.fitness, b.fitness
    if fa.rank != fb.rank:
        return a if fa.rank < fb.rank else b
    if fa.crowding != fb.crowding:
        return a if fa.crowding > fb.crowding else b
    return a if rng.random() < 0.5 else b


def select_tournament(individuals: Sequence[Individual], k: int, *, rng: random.Random) -> list[Individual]:
    """Binary tournaments on (rank, crowding) as `select_nsga2` last assigned them."""
    return [_better(rng.choice(individuals), rng.choice(individuals), rng) for _ in range(k)]


def pareto_mask(points: FloatArray, block: int = 512) -> BoolArray:
    """Which points no other point dominates (minimization), for sets too large for an N x N matrix.

    Points are visited in lexicographic order, in which a dominator always comes before what it dominates; each
    block is checked against the front found so far and then against itself, so memory stays front x block.
    """
    n = points.shape[0]
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    order = np.lexsort(points.T[::-1])
    ordered = points[order]
    front = np.empty((0, points.shape[1]))
    for start in range(0, n, block):
        chunk = ordered[start : start + block]
        alive = np.ones(chunk.shape[0], dtype=bool)
        if front.shape[0]:
            alive = np.asarray(~dominates_matrix(front, chunk).any(axis=0), dtype=bool)
        survivors = np.flatnonzero(alive)
        inner = ~dominance_matrix(chunk[survivors]).any(axis=0)
        kept = survivors[inner]
        mask[order[start + kept]] = True
        front = np.vstack([front, chunk[kept]])
    return mask


def hypervolume(points: FloatArray, reference: FloatArray) -> float:
    """Volume dominated by `points` (minimization) and bounded by `reference`; exact, by slicing the last axis.

    O(n^2 log n) for three objectives, milliseconds for the few hundred points of a search's front. DEAP 1.4 computes
    hypervolume through the `moocore` package, which BudSim does not depend on directly.
    """
    ref = np.asarray(reference, dtype=np.float64)
    inside = np.asarray(points, dtype=np.float64)
    inside = inside[(inside < ref).all(axis=1)]
    return _hypervolume(inside, ref) if inside.shape[0] else 0.0


def _hypervolume(points: FloatArray, ref: FloatArray) -> float:
    m = points.shape[1]
    if m == 1:
        return float(ref[0] - points[:, 0].min())
    if m == 2:
        order = np.argsort(points[:, 0], kind="stable")
        x = points[order, 0]
        lowest = np.minimum.accumulate(points[order, 1])
        widths = np.diff(np.append(x, ref[0]))
        return float(np.sum(widths * (ref[1] - lowest)))
    order = np.argsort(points[:, -1], kind="stable")
    ordered = points[order]
    levels = np.append(ordered[:, -1], ref[-1])
    volume = 0.0
    for i in range(ordered.shape[0]):
        height = levels[i + 1] - levels[i]
        if height > 0:
            volume += height * _hypervolume(ordered[: i + 1, :-1], ref[:-1])
    return volume


# ---------------------------------------------------------------- the pick rule


def _significant(values: FloatArray) -> FloatArray:
    finite = np.isfinite(values) & (values != 0)
    safe = np.where(finite, np.abs(values), 1.0)
    scale = 10.0 ** (np.floor(np.log10(safe)) - (TIE_SIGNIFICANT_DIGITS - 1))
    rounded: FloatArray = np.where(finite, np.round(values / scale) * scale, values)
    return rounded


def cost_per_million_tokens(objectives: FloatArray) -> FloatArray:
    throughput, cost = objectives[:, 0], objectives[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        value: FloatArray = np.where(throughput > 0, cost / (throughput * 3600.0) * 1e6, np.inf)
    return value


def pick_order(objectives: FloatArray) -> IntArray:
    """The pick rule as an order over candidates, best first.

    Lowest cost per million output tokens: the price of the work actually delivered, which neither the cheapest
    (idle) nor the fastest (over-provisioned) deployment wins by itself; ties (to 9 significant digits) go to the
    higher throughput, then the lower p99 latency, then the earlier candidate. Only meaningful among feasible
    candidates; the searches apply it to their feasible Pareto fronts, on which a minimizer always lies (anything
    dominating it has at least its throughput for at most its cost).
    """
    values = np.asarray(objectives, dtype=np.float64).reshape(-1, 3)
    per_million = _significant(cost_per_million_tokens(values))
    throughput = _significant(values[:, 0])
    order: IntArray = np.lexsort((np.arange(values.shape[0]), values[:, 1], -throughput, per_million))
    return order


def pick_index(objectives: FloatArray) -> int:
    return int(pick_order(objectives)[0])


def distinct_in_pick_order(objectives: FloatArray) -> IntArray:
    """Indices of the first of each set of identical objective vectors, in pick order.

    Configs that differ only in a gene that changes nothing (a max_num_seqs above any batch the load forms) score
    the same; an answer lists one of them, the earliest found.
    """
    values = np.asarray(objectives, dtype=np.float64).reshape(-1, 3)
    if not values.shape[0]:
        return np.empty(0, dtype=np.int64)
    _, first = np.unique(values, axis=0, return_index=True)
    kept = np.sort(first)
    ordered: IntArray = kept[pick_order(values[kept])]
    return ordered


__all__ = [
    "ConstrainedFitness",
    "Individual",
    "clone",
    "constrained_ranks",
    "cost_per_million_tokens",
    "crowding_distances",
    "cx_uniform",
    "distinct_in_pick_order",
    "dominance_matrix",
    "dominates_matrix",
    "hypervolume",
    "minimization",
    "mut_genes",
    "nondominated_ranks",
    "pareto_mask",
    "pick_index",
    "pick_order",
    "select_nsga2",
    "select_tournament",
]
