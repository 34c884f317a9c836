"""Every genome of a `SearchSpace`, scored in vectorized chunks: the ground truth the GA is checked against.

It applies the GA's scoring (`score`: the evaluator plus the space's structural rules), its feasibility, its Pareto
front and its pick rule, so the two answers differ only by what the GA did not visit. Genomes that break a
structural rule are skipped unscored: they can never be feasible, so they can never be picked or on the front, and
they are most of a space (TP x PP x replicas mostly overshoots the cluster). Practical up to a few million genomes;
the GA exists for the spaces beyond.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from budsim.core.search.constraints import structural_violations
from budsim.core.search.operators import distinct_in_pick_order, minimization, pareto_mask
from budsim.core.search.scoring import Candidate, Evaluator, candidate, score
from budsim.core.search.space import SearchSpace
from budsim.core.types import IntArray

DEFAULT_CHUNK = 20_000
LEAST_VIOLATING = 5


@dataclass(frozen=True, slots=True)
class ExhaustiveResult:
    pareto: tuple[Candidate, ...]  # feasible, distinct objectives, best pick first
    best: Candidate | None
    least_violating: tuple[Candidate, ...]  # only when nothing is feasible
    evaluations: int  # genomes scored (the structurally valid ones)
    space_size: int
    elapsed_ms: float


def enumerate_genomes(space: SearchSpace, chunk_size: int = DEFAULT_CHUNK) -> Iterator[IntArray]:
    """All genomes, `chunk_size` rows at a time, in mixed-radix order (columns in `Gene` order, the last fastest)."""
    sizes = space.sizes
    strides = np.array([int(np.prod(sizes[i + 1 :])) for i in range(sizes.size)], dtype=np.int64)
    for start in range(0, space.size, chunk_size):
        numbers = np.arange(start, min(start + chunk_size, space.size), dtype=np.int64)
        yield (numbers[:, None] // strides[None, :]) % sizes[None, :]


def _structurally_valid(space: SearchSpace, genomes: IntArray) -> IntArray:
    total = np.zeros(genomes.shape[0])
    for values in structural_violations(space, genomes).values():
        total += values
    valid: IntArray = genomes[total == 0.0]
    return valid


def exhaustive_search(
    space: SearchSpace,
    evaluator: Evaluator,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    clock: Callable[[], float] = time.perf_counter,
) -> ExhaustiveResult:
    """The true feasible Pareto front of `space` and the pick rule's choice on it.

    Per chunk only the chunk's own front (and its nearest misses) are kept as candidates, so memory stays bounded
    by the front, not the space; the final front is the front of those.
    """
    start = clock()
    kept: list[Candidate] = []
    misses: list[Candidate] = []
    evaluations = 0
    for chunk in enumerate_genomes(space, chunk_size):
        genomes = _structurally_valid(space, chunk)
        if not genomes.shape[0]:
            continue
        evaluation = score(space, evaluator, genomes)
        evaluations += genomes.shape[0]
        severity = evaluation.severity
        feasible = np.flatnonzero(severity == 0.0)
        front = feasible[pareto_mask(minimization(evaluation.objectives[feasible]))]
        kept.extend(candidate(space, genomes[r], evaluation, int(r)) for r in front)
        if not kept:
            nearest = np.lexsort((np.arange(severity.size), severity))[:LEAST_VIOLATING]
            misses.extend(candidate(space, genomes[r], evaluation, int(r)) for r in nearest)

    pareto: tuple[Candidate, ...] = ()
    if kept:
        objectives = np.array([(c.output_tokens_per_s, c.e2e_p99_ms, c.cost_per_hour) for c in kept])
        on_front = np.flatnonzero(pareto_mask(minimization(objectives)))
        order = on_front[distinct_in_pick_order(objectives[on_front])]
        pareto = tuple(kept[int(i)] for i in order)
    least = () if pareto else tuple(sorted(misses, key=lambda c: c.severity)[:LEAST_VIOLATING])
    return ExhaustiveResult(
        pareto=pareto,
        best=pareto[0] if pareto else None,
        least_violating=least,
        evaluations=evaluations,
        space_size=space.size,
        elapsed_ms=(clock() - start) * 1e3,
    )


__all__ = ["ExhaustiveResult", "enumerate_genomes", "exhaustive_search"]
