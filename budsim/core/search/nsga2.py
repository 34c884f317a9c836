"""NSGA-II over a `SearchSpace`: DEAP's select -> clone -> vary -> evaluate -> select loop, one vectorized call per
generation.

Everything a run depends on is owned by the run: its toolbox, a `random.Random(seed)` for the operators and a
`numpy.random.default_rng(seed)` for the initial population, so the same request gives the same answer and two
searches in one process (or a process pool) never disturb each other. Every genome ever scored is kept in an archive
keyed by its tuple: a genome that comes back costs nothing, the evaluation count is the count of distinct genomes,
and the answer's Pareto front is taken over everything seen, not just the last population.

The loop stops at the generation limit, when the front has not improved for `patience` generations (its
hypervolume, the pick's cost per million tokens, or while nothing is feasible the least violation), when
`timeout_s` has passed (the best so far comes back flagged), or when `on_generation` asks it to (returns False or
raises `SearchCancelled`), which is how a caller streaming progress cancels a run.
"""

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from deap import base

from budsim.core.search.constraints import structural_violations
from budsim.core.search.operators import (
    Individual,
    clone,
    cost_per_million_tokens,
    cx_uniform,
    distinct_in_pick_order,
    dominates_matrix,
    hypervolume,
    minimization,
    mut_genes,
    pareto_mask,
    pick_order,
    select_nsga2,
    select_tournament,
)
from budsim.core.search.scoring import Candidate, Evaluation, Evaluator, candidate, score
from budsim.core.search.space import Gene, SearchSpace
from budsim.core.types import FloatArray, IntArray

# Defaults tuned on bench/search.py over 38 scenarios x 10 seeds (its docstring has the figures).
DEFAULT_POPULATION = 50
# Children bred per generation, as a multiple of the population (a (mu + lambda) scheme). Scoring is one vectorized
# call whose cost is mostly fixed, so 4x the children cost little more time and find narrow feasible regions (a
# cheaper GPU that fits only at one TP x PP and batch shape) that 1x misses.
DEFAULT_OFFSPRING_FACTOR = 4
DEFAULT_GENERATIONS = 100
DEFAULT_PATIENCE = 15
DEFAULT_CROSSOVER_PROB = 0.9
# Per-gene mutation probability: about two of the eight genes per child. Genes with one option are not counted.
DEFAULT_GENE_MUTATION_RATE = 0.25
# Children of a crossover are mutated as well with this probability; the others always are (see `optimize`).
DEFAULT_MUTATION_PROB = 0.3
DEFAULT_TOLERANCE = 1e-4  # relative change below which the front "has not improved"
# How many genomes the initial population is chosen from: all heuristic seeds plus random structurally valid ones (at
# least half a population of those), scored in one call, then cut to the population size by NSGA-II selection.
INITIAL_POOL_FACTOR = 2
LEAST_VIOLATING = 5  # how many near misses to return when nothing is feasible
# A child that the archive has already scored is mutated again (up to this many times) before it takes a slot:
# in a discrete space of a few thousand feasible genomes, revisits otherwise take a growing share of each generation.
MAX_REMUTATIONS = 3
# Batch-shape values a seed genome starts from: vLLM's defaults on an H100 (max_num_seqs 256, 8192 tokens, 0.9).
SEED_MAX_NUM_SEQS = 256
SEED_MAX_NUM_BATCHED_TOKENS = 8192
SEED_GPU_MEMORY_UTILIZATION = 0.90


class StopReason(StrEnum):
    GENERATIONS = "GENERATIONS"  # ran every generation asked for
    CONVERGED = "CONVERGED"  # the front stopped improving for `patience` generations
    TIMEOUT = "TIMEOUT"
    CANCELLED = "CANCELLED"  # on_generation asked to stop


class SearchCancelled(Exception):
    """Raise from `on_generation` to stop a search; it returns what it has found so far."""


@dataclass(frozen=True, slots=True)
class FrontPoint:
    """One feasible non-dominated candidate's objectives, for watching the front move."""

    output_tokens_per_s: float
    e2e_p99_ms: float
    cost_per_hour: float


@dataclass(frozen=True, slots=True)
class GenerationReport:
    """Progress after one generation (generation 0 is the initial population); the best values are over the
    feasible candidates seen so far, None while there are none."""

    generation: int
    evaluations: int
    elapsed_ms: float
    best_output_tokens_per_s: float | None
    best_e2e_p99_ms: float | None
    best_cost_per_hour: float | None
    front_size: int
    front: tuple[FrontPoint, ...]  # the feasible front so far, one point per distinct member, by throughput
    best: Candidate | None  # the pick rule's choice so far
    min_violation: float  # total violation of the nearest miss; 0 once something is feasible
    hypervolume: float


@dataclass(frozen=True, slots=True)
class VariationStats:
    """What the operators did, so a test (or an operator) can see that crossover and mutation actually fire."""

    crossovers: int
    offspring_unlike_parents: int  # children of a crossover that differ from both their parents
    mutations: int
    remutations: int  # extra mutations spent steering children away from already-scored genomes


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The answer. `pareto` holds feasible candidates only, best pick first; `best` is that pick. When nothing is
    feasible, `pareto` is empty, `best` None, and `least_violating` lists the nearest misses with the rules they
    break, so the caller can say which target binds."""

    pareto: tuple[Candidate, ...]
    best: Candidate | None
    least_violating: tuple[Candidate, ...]
    evaluations: int  # distinct genomes scored
    generations: int
    stop_reason: StopReason
    elapsed_ms: float
    failures: int  # genomes whose evaluation raised or returned NaN (scored as infeasible)
    variation: VariationStats

    @property
    def timed_out(self) -> bool:
        return self.stop_reason == StopReason.TIMEOUT

    @property
    def feasible(self) -> bool:
        return bool(self.pareto)


GenerationCallback = Callable[[GenerationReport], bool | None]


class Archive:
    """Every genome scored so far, its scores, and the feasible Pareto front over all of them.

    Archive ids count up in the order genomes were first scored; every tie (between two picks, two near misses)
    goes to the lower id, so a seeded run breaks ties the same way every time.
    """

    def __init__(self, space: SearchSpace, evaluator: Evaluator) -> None:
        self.space = space
        self.evaluator = evaluator
        self._index: dict[tuple[int, ...], int] = {}
        self._where: list[tuple[int, int]] = []  # (evaluation number, row) of each archived genome
        self._evaluations: list[Evaluation] = []
        self._genomes: list[IntArray] = []
        self._severity: list[FloatArray] = []  # what orders candidates: 0 where feasible, tiered above
        self.front = np.empty(0, dtype=np.int64)  # archive ids of the feasible non-dominated genomes
        self.failures = 0

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, genome: Sequence[int]) -> bool:
        return tuple(genome) in self._index

    def evaluate(self, genomes: IntArray) -> IntArray:
        """Archive ids of `genomes`, scoring (in one call) only those never seen."""
        g = np.asarray(genomes, dtype=np.int64).reshape(-1, len(Gene))
        keys = [tuple(int(v) for v in row) for row in g]
        fresh: dict[tuple[int, ...], int] = {}
        for row, key in enumerate(keys):
            if key not in self._index and key not in fresh:
                fresh[key] = row
        if fresh:
            self._add(g[list(fresh.values())], list(fresh))
        return np.array([self._index[key] for key in keys], dtype=np.int64)

    def _add(self, genomes: IntArray, keys: list[tuple[int, ...]]) -> IntArray:
        return self._store(genomes, keys, score(self.space, self.evaluator, genomes))

    def _store(self, genomes: IntArray, keys: list[tuple[int, ...]], evaluation: Evaluation) -> IntArray:
        number = len(self._evaluations)
        first = len(self._where)
        self._evaluations.append(evaluation)
        self._genomes.append(np.asarray(genomes, dtype=np.int64))
        severity = np.asarray(evaluation.severity, dtype=np.float64)
        self._severity.append(severity)
        self.failures += int(np.isinf(severity).sum())
        for row, key in enumerate(keys):
            self._index[key] = first + row
            self._where.append((number, row))
        ids = np.arange(first, first + len(keys), dtype=np.int64)
        feasible = severity == 0.0
        self._update_front(ids[feasible], minimization(evaluation.objectives[feasible]))
        return ids

    @property
    def severity(self) -> FloatArray:
        return np.concatenate(self._severity) if self._severity else np.empty(0)

    def objectives_of(self, ids: IntArray) -> FloatArray:
        rows = [self._evaluations[e].objectives[r] for e, r in (self._where[int(i)] for i in ids)]
        return np.array(rows, dtype=np.float64).reshape(-1, 3)

    def violation_of(self, archive_id: int) -> float:
        number, row = self._where[archive_id]
        return float(self._evaluations[number].violation[row])

    def _update_front(self, ids: IntArray, points: FloatArray) -> None:
        old = self.front
        old_points = minimization(self.objectives_of(old)) if old.size else np.empty((0, 3))
        if old.size and ids.size:  # most children are dominated by the (small) front: drop them first
            keep = ~dominates_matrix(old_points, points).any(axis=0)
            ids, points = ids[keep], points[keep]
        if not ids.size:
            return
        merged_ids = np.concatenate([old, ids])
        self.front = merged_ids[pareto_mask(np.vstack([old_points, points]))]

    def distinct_front(self) -> IntArray:
        """The front without objective-space twins (configs differing only where it changes nothing), pick first."""
        ids: IntArray = self.front[distinct_in_pick_order(self.objectives_of(self.front))]
        return ids

    def pick(self) -> int | None:
        """Archive id of the pick rule's choice among the feasible front."""
        if not self.front.size:
            return None
        return int(self.front[pick_order(self.objectives_of(self.front))[0]])

    def least_violating(self, count: int) -> IntArray:
        """The nearest misses: lowest tier first (deployable before undeployable), then least total violation."""
        severity = self.severity
        order: IntArray = np.lexsort((np.arange(severity.size), severity))[:count]
        return order

    def candidate(self, archive_id: int) -> Candidate:
        number, row = self._where[archive_id]
        genome = self._genomes[number][row]
        return candidate(self.space, genome, self._evaluations[number], row)

    def genome(self, archive_id: int) -> tuple[int, ...]:
        number, row = self._where[archive_id]
        return tuple(int(v) for v in self._genomes[number][row])

    def fitness_of(self, archive_id: int) -> tuple[tuple[float, float, float], float]:
        number, row = self._where[archive_id]
        evaluation = self._evaluations[number]
        throughput, p99, cost = (float(v) for v in evaluation.objectives[row])
        return (throughput, p99, cost), float(evaluation.severity[row])


def seed_genomes(space: SearchSpace) -> IntArray:
    """Layouts an operator would try first, per cluster option and precision, at vLLM's default batch shape:
    every TP that fits a node at PP = 1 with one replica and with as many replicas as the cluster holds, and one
    replica filling a whole node in every TP x PP factorization.

    They put feasible members in the first generation whenever a simple layout works, and they reach the narrow
    islands a random start rarely hits: a large model on small GPUs may fit and keep up only at TP 1 x PP 4 on one
    precision, three genes away from anything that fits on a bigger GPU.
    """

    def nearest(options: tuple[float, ...], value: float) -> int:
        return int(np.argmin([abs(float(o) - value) for o in options]))

    seqs = nearest(space.max_num_seqs, SEED_MAX_NUM_SEQS)
    tokens = nearest(space.max_num_batched_tokens, SEED_MAX_NUM_BATCHED_TOKENS)
    util = nearest(space.gpu_memory_utilization, SEED_GPU_MEMORY_UTILIZATION)
    fewest = space.replicas[0]
    rows: dict[tuple[int, ...], None] = {}
    for c, option in enumerate(space.clusters):
        node, total = option.cluster.gpus_per_node, option.cluster.total_gpus
        for w in range(len(space.weight_dtypes)):
            for t, tp in enumerate(space.tensor_parallel):
                if tp > node:
                    continue
                most = max((r for r in space.replicas if r * tp <= total), default=fewest)
                for replicas in (fewest, most):
                    rows[(t, 0, seqs, tokens, util, space.replicas.index(replicas), c, w)] = None
                if node % tp == 0 and node // tp in space.pipeline_parallel:
                    pp = space.pipeline_parallel.index(node // tp)
                    rows[(t, pp, seqs, tokens, util, 0, c, w)] = None
    return np.array(list(rows), dtype=np.int64).reshape(-1, len(Gene))


def random_genomes(space: SearchSpace, count: int, rng: np.random.Generator) -> IntArray:
    """`count` distinct genomes drawn uniformly among those the structural rules allow (fewer if the space is
    smaller); if too few are allowed, the least violating of the draws fill up."""
    draws = rng.integers(0, space.sizes, size=(max(64, 40 * count), len(Gene)))
    draws = np.unique(draws, axis=0)
    draws = draws[rng.permutation(draws.shape[0])]
    total = np.zeros(draws.shape[0])
    for values in structural_violations(space, draws).values():
        total += values
    order = np.argsort(total, kind="stable")
    genomes: IntArray = draws[order[:count]]
    return genomes


def _individual(archive: Archive, archive_id: int) -> Individual:
    ind = Individual(archive.genome(archive_id))
    _assign(ind, archive, archive_id)
    return ind


def _assign(ind: Individual, archive: Archive, archive_id: int) -> None:
    values, violation = archive.fitness_of(archive_id)
    ind.fitness.values = values
    ind.fitness.violation = violation


def _toolbox(space: SearchSpace, rng: random.Random, gene_mutation_rate: float) -> base.Toolbox:
    """The run's own toolbox: every operator bound to the run's RNG (nothing module-level, nothing global)."""
    toolbox = base.Toolbox()
    sizes = [int(s) for s in space.sizes]
    toolbox.register("clone", clone)
    toolbox.register("mate", cx_uniform, rng=rng, indpb=0.5)
    toolbox.register("mutate", mut_genes, rng=rng, sizes=sizes, indpb=gene_mutation_rate)
    toolbox.register("select", select_nsga2)
    toolbox.register("parents", select_tournament, rng=rng)
    return toolbox


@dataclass(slots=True)
class _Progress:
    """What "the front improved" is measured against, and for how long it has not."""

    reference: FloatArray | None = None
    hypervolume: float = 0.0
    pick_value: float = math.inf
    min_severity: float = math.inf
    stale: int = 0


def _reference(space: SearchSpace, points: FloatArray) -> FloatArray:
    """Hypervolume reference, fixed once the first front exists so that later values are comparable: zero
    throughput, ten times the slowest p99 on that first front, and the dearest cluster fully booked."""
    dearest = max(o.cluster.total_gpus * o.cluster.cost_per_gpu_hour for o in space.clusters)
    return np.array([0.0, 10.0 * float(points[:, 1].max()), 1.01 * dearest])


def _observe(space: SearchSpace, archive: Archive, progress: _Progress, tolerance: float) -> bool:
    """Update the progress measures; True when any moved by more than `tolerance` (relative)."""
    improved = False
    if archive.front.size:
        objectives = archive.objectives_of(archive.front)
        points = minimization(objectives)
        if progress.reference is None:
            progress.reference = _reference(space, points)
        volume = hypervolume(points, progress.reference)
        if volume > progress.hypervolume * (1.0 + tolerance):
            improved = True
        progress.hypervolume = max(progress.hypervolume, volume)
        value = float(cost_per_million_tokens(objectives).min())
        if value < progress.pick_value * (1.0 - tolerance):
            improved = True
        progress.pick_value = min(progress.pick_value, value)
        violation = 0.0
    else:
        violation = float(archive.severity.min())
    if violation < progress.min_severity * (1.0 - tolerance) or (violation == 0.0 < progress.min_severity):
        improved = True
    progress.min_severity = min(progress.min_severity, violation)
    progress.stale = 0 if improved else progress.stale + 1
    return improved


def _report(generation: int, archive: Archive, progress: _Progress, elapsed_ms: float) -> GenerationReport:
    pick = archive.pick()
    best: tuple[float | None, float | None, float | None] = (None, None, None)
    distinct = archive.distinct_front()
    front: tuple[FrontPoint, ...] = ()
    if archive.front.size:
        objectives = archive.objectives_of(archive.front)
        best = (float(objectives[:, 0].max()), float(objectives[:, 1].min()), float(objectives[:, 2].min()))
        points = archive.objectives_of(distinct)
        front = tuple(FrontPoint(*(float(v) for v in row)) for row in points[np.argsort(points[:, 0], kind="stable")])
    return GenerationReport(
        generation=generation,
        evaluations=len(archive),
        elapsed_ms=elapsed_ms,
        best_output_tokens_per_s=best[0],
        best_e2e_p99_ms=best[1],
        best_cost_per_hour=best[2],
        front_size=int(distinct.size),
        front=front,
        best=archive.candidate(pick) if pick is not None else None,
        min_violation=0.0 if archive.front.size else archive.violation_of(int(archive.least_violating(1)[0])),
        hypervolume=progress.hypervolume,
    )


def _wants_stop(
    callback: GenerationCallback | None, generation: int, archive: Archive, progress: _Progress, elapsed_ms: float
) -> bool:
    """Report to the callback (if any); True when it asks to stop. Its other exceptions propagate."""
    if callback is None:
        return False
    try:
        return callback(_report(generation, archive, progress, elapsed_ms)) is False
    except SearchCancelled:
        return True


def optimize(
    space: SearchSpace,
    evaluator: Evaluator,
    *,
    population: int = DEFAULT_POPULATION,
    offspring: int | None = None,
    generations: int = DEFAULT_GENERATIONS,
    seed: int = 0,
    timeout_s: float = 300.0,
    patience: int | None = DEFAULT_PATIENCE,
    crossover_prob: float = DEFAULT_CROSSOVER_PROB,
    gene_mutation_rate: float = DEFAULT_GENE_MUTATION_RATE,
    mutation_prob: float = DEFAULT_MUTATION_PROB,
    tolerance: float = DEFAULT_TOLERANCE,
    initial: Sequence[Sequence[int]] = (),
    on_generation: GenerationCallback | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> SearchResult:
    """Search `space` for the Pareto front of (max throughput, min p99 latency, min cost per hour).

    `initial` adds caller-chosen genomes to the initial pool (e.g. the user's current config, `encode`d); `patience`
    None disables the early stop. Each pair of parents is crossed with probability `crossover_prob` (uniform
    crossover); a child is mutated always if it was not crossed, else with probability `mutation_prob`.
    `on_generation` is called after the initial population (generation 0) and after every generation; an exception
    other than `SearchCancelled` raised from it propagates. `clock` exists so tests can drive the timeout.
    """
    if population < 2:
        raise ValueError("population must be at least 2")
    start = clock()
    brood = offspring if offspring is not None else DEFAULT_OFFSPRING_FACTOR * population
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    toolbox = _toolbox(space, rng, gene_mutation_rate)
    archive = Archive(space, evaluator)
    progress = _Progress()
    crossovers = unlike = mutations = remutations = 0

    def elapsed_ms() -> float:
        return (clock() - start) * 1e3

    pool = [np.asarray(initial, dtype=np.int64).reshape(-1, len(Gene)), seed_genomes(space)]
    seeded = sum(p.shape[0] for p in pool)
    pool.append(random_genomes(space, max(INITIAL_POOL_FACTOR * population - seeded, population // 2), np_rng))
    ids = archive.evaluate(np.vstack(pool))
    unique_ids = list(dict.fromkeys(int(i) for i in ids))
    pop = toolbox.select([_individual(archive, i) for i in unique_ids], population)

    generation = 0
    _observe(space, archive, progress, tolerance)
    stop: StopReason | None = None
    if _wants_stop(on_generation, 0, archive, progress, elapsed_ms()):
        stop = StopReason.CANCELLED
    elif clock() - start >= timeout_s:
        stop = StopReason.TIMEOUT

    while stop is None and generation < generations:
        generation += 1
        children = [toolbox.clone(ind) for ind in toolbox.parents(pop, brood)]
        for a, b in zip(children[::2], children[1::2], strict=False):
            if rng.random() < crossover_prob:
                parents = (tuple(a), tuple(b))
                toolbox.mate(a, b)
                crossovers += 1
                unlike += sum(tuple(child) not in parents for child in (a, b))
                del a.fitness.values, b.fitness.values
        for ind in children:
            # A child no crossover touched is a copy of its parent and would only spend a slot: always mutate it.
            if ind.fitness.valid or rng.random() < mutation_prob:
                toolbox.mutate(ind)
                mutations += 1
                del ind.fitness.values
            tries = 0
            while tuple(ind) in archive and tries < MAX_REMUTATIONS:
                toolbox.mutate(ind)
                tries += 1
            remutations += tries
        ids = archive.evaluate(np.array(children, dtype=np.int64))
        for ind, archive_id in zip(children, ids, strict=True):
            _assign(ind, archive, int(archive_id))
        pop = toolbox.select(pop + children, population)

        _observe(space, archive, progress, tolerance)
        if _wants_stop(on_generation, generation, archive, progress, elapsed_ms()):
            stop = StopReason.CANCELLED
        elif clock() - start >= timeout_s:
            stop = StopReason.TIMEOUT
        elif patience is not None and progress.stale >= patience:
            stop = StopReason.CONVERGED

    front = archive.distinct_front()
    pareto = tuple(archive.candidate(int(i)) for i in front)
    least = () if pareto else tuple(archive.candidate(int(i)) for i in archive.least_violating(LEAST_VIOLATING))
    return SearchResult(
        pareto=pareto,
        best=pareto[0] if pareto else None,
        least_violating=least,
        evaluations=len(archive),
        generations=generation,
        stop_reason=stop or StopReason.GENERATIONS,
        elapsed_ms=elapsed_ms(),
        failures=archive.failures,
        variation=VariationStats(crossovers, unlike, mutations, remutations),
    )


__all__ = [
    "Archive",
    "FrontPoint",
    "GenerationCallback",
    "GenerationReport",
    "SearchCancelled",
    "SearchResult",
    "StopReason",
    "VariationStats",
    "optimize",
    "random_genomes",
    "seed_genomes",
]
