"""The optimize use case end to end: search (or the HEURISTIC plan), then explain the answer.

Which of the two runs is the method's to say (`core.methods`); both take the same `OptimizationProblem`.

When nothing meets the targets the answer is never an empty success: the closest candidate comes back with the
targets that bind, what they require and what it achieves (the user guide's "recommendations exceed budget"). Its
confidence is its own: how far to trust a prediction is one question, whether it meets the targets another, and
`meets_targets` answers the second (a confidence of 0 is left to an answer with no config at all).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from budsim.core.architecture import ModelArchitecture
from budsim.core.calibration import MEASURED_GPUS
from budsim.core.deployment import ConfigBatch, ServingConfig, Workload
from budsim.core.errors import InfeasibleConfigError
from budsim.core.heuristic import PartialConfig, plan
from budsim.core.predictors import ConfidenceReason, ResidualRegressor
from budsim.core.results import Interval, Metrics
from budsim.core.search import (
    ClusterOption,
    SearchResult,
    StopReason,
    Targets,
    analytical_evaluator,
    build_space,
    calibrated_evaluator,
    optimize,
)
from budsim.core.search.evaluators import ServingEvaluator
from budsim.core.search.nsga2 import GenerationCallback
from budsim.core.search.scoring import Candidate, Evaluator, candidate, score
from budsim.core.search.space import SearchSpace, encode
from budsim.core.simulation import METRIC_FIELDS, interval, metrics_of
from budsim.core.types import Dtype, Engine, Method

# The REST seed had no workload in its body; a chat-like mix is what users ask about most: 1k-token prompts, 256-token
# answers, 32 requests in flight.
DEFAULT_WORKLOAD = Workload(input_tokens=1024, output_tokens=256, concurrency=32)

# target name -> the metric it constrains; a target is judged on the evaluator's "judged_<metric>" where it reports one
# (the pessimistic end of a low-confidence prediction, `search.evaluators.ServingEvaluator`)
TARGET_METRICS = {
    "max_latency_ms": "e2e_p99_ms",
    "max_ttft_ms": "ttft_p99_ms",
    "min_throughput_tps": "output_tokens_per_s",
    "max_cost_per_hour": "cost_per_hour",
}


@dataclass(frozen=True, slots=True)
class Constraints:
    max_replicas: int = 10
    max_gpus_per_replica: int = 8
    require_high_availability: bool = False


@dataclass(frozen=True, slots=True)
class SearchSettings:
    population: int = 50
    generations: int = 100
    timeout_s: float = 300.0
    seed: int = 0


@dataclass(frozen=True, slots=True)
class OptimizationProblem:
    """What an optimization is asked, whichever method answers it: one value rather than a long parameter list, so
    that the API's job, the CLI and the benchmarks state a problem the same way and it pickles to a search process.

    `method` picks the strategy that `core.methods.optimize_deployment` runs; `search_deployment` and
    `heuristic_deployment` are those strategies and do not read it, and the HEURISTIC plan has no use for `settings`.
    """

    arch: ModelArchitecture
    clusters: tuple[ClusterOption, ...]
    precisions: tuple[Dtype, ...]
    workload: Workload
    engine: Engine
    method: Method
    targets: Targets = field(default_factory=Targets)
    constraints: Constraints = field(default_factory=Constraints)
    settings: SearchSettings = field(default_factory=SearchSettings)


@dataclass(frozen=True, slots=True)
class BindingTarget:
    target: str  # a Targets field, or "memory" / "capacity" / "request_fits" when the hardware itself binds
    required: float | None
    achieved: float | None  # the value the target was judged on


@dataclass(frozen=True, slots=True)
class Choice:
    """One recommended config with its cluster and predicted metrics, and their p10-p90 interval (None where a custom
    evaluator cannot say)."""

    config: ServingConfig
    cluster_label: str
    metrics: Metrics
    memory_fits: bool
    interval: Interval | None = None


# Why an answer's pick is the pick, as both methods choose (`search.operators.pick_order`, `heuristic_deployment`).
PICKED_FOR_COST = (
    "It meets every target at the lowest cost per million output tokens of the configs scored: the price of the work "
    "delivered, which neither the cheapest (idle) nor the fastest (over-provisioned) deployment wins by itself. Ties "
    "go to the higher throughput, then the lower p99 latency."
)
PICKED_AS_NEAREST_MISS = (
    "No config scored meets every target, so this is the one that misses them least; bindingTargets names each "
    "target it misses, what it requires and what this config achieves."
)


@dataclass(frozen=True, slots=True)
class OptimizationOutcome:
    best: Choice | None  # the pick, or the closest miss when nothing meets the targets
    pareto: tuple[Choice, ...]
    meets_targets: bool
    binding: tuple[BindingTarget, ...]
    confidence: float
    evaluations: int
    generations: int
    elapsed_ms: float
    timed_out: bool
    warnings: tuple[str, ...] = field(default=())
    cancelled: bool = False  # the caller's `on_generation` stopped the search; the answer is the best so far
    confidence_reasons: tuple[ConfidenceReason, ...] = ()  # what lowered the pick's confidence, worst first


def _finite(value: float | None) -> float | None:
    return round(float(value), 4) if value is not None and math.isfinite(value) else None


def _metrics(candidate: Candidate) -> Metrics:
    metrics = {name: _finite(candidate.metrics.get(source)) for name, source in METRIC_FIELDS.items()}
    metrics["cost_per_hour"] = _finite(candidate.cost_per_hour)
    return Metrics(**metrics)


def _choices(candidates: Sequence[Candidate], evaluator: Evaluator, clusters: Sequence[ClusterOption]) -> list[Choice]:
    """`candidates` as answers, each with its interval: one `ServingEvaluator.sides` call per cluster."""
    metrics = [_metrics(c) for c in candidates]
    intervals: list[Interval | None] = [None] * len(candidates)
    if isinstance(evaluator, ServingEvaluator):
        for index in {c.cluster_index for c in candidates}:
            rows = [i for i, c in enumerate(candidates) if c.cluster_index == index]
            batch = ConfigBatch.from_configs([candidates[i].config for i in rows])
            optimistic, pessimistic = evaluator.sides(clusters[index].cluster, batch)
            for position, i in enumerate(rows):
                ends = (metrics_of(side.at(position)) for side in (optimistic, pessimistic))
                intervals[i] = interval(metrics[i], *ends)
    return [
        Choice(c.config, c.cluster_label, m, bool(c.metrics.get("memory_fits", 1.0)), spread)
        for c, m, spread in zip(candidates, metrics, intervals, strict=True)
    ]


def _binding(candidate: Candidate, targets: Targets) -> tuple[BindingTarget, ...]:
    found = []
    for name, amount in sorted(candidate.violations.items(), key=lambda item: -item[1]):
        if name in TARGET_METRICS:
            metric = TARGET_METRICS[name]
            achieved = candidate.metrics.get(f"judged_{metric}", candidate.metrics.get(metric))
            if name == "max_cost_per_hour":
                achieved = candidate.cost_per_hour
            found.append(BindingTarget(name, getattr(targets, name), _finite(achieved)))
        elif amount > 0:
            found.append(BindingTarget(name, None, None))
    return tuple(found)


def _confidence(pick: Candidate | None) -> float:
    """The evaluator's confidence in the pick's predicted metrics (met or missed targets alike); 0 without a pick."""
    return round(float(pick.metrics.get("confidence", 0.0)), 4) if pick is not None else 0.0


def _reasons(
    pick: Candidate | None, evaluator: Evaluator, clusters: Sequence[ClusterOption]
) -> tuple[ConfidenceReason, ...]:
    """What lowered the pick's confidence: its factors recomputed for it alone (the search carried only the score).
    A custom evaluator reports no factors, so none."""
    if pick is None or not isinstance(evaluator, ServingEvaluator):
        return ()
    breakdown = evaluator.trust(clusters[pick.cluster_index].cluster, ConfigBatch.from_configs([pick.config]))
    return breakdown.reasons(0)


def _outcome(
    result: SearchResult, targets: Targets, evaluator: Evaluator, clusters: Sequence[ClusterOption]
) -> OptimizationOutcome:
    pick: Candidate | None = None
    binding: tuple[BindingTarget, ...]
    if result.best is not None:
        pick, binding, meets = result.best, (), True
    elif result.least_violating:
        # A miss that at least runs says more than one that does not even fit in memory.
        runnable = [c for c in result.least_violating if c.metrics.get("memory_fits", 0.0) > 0]
        pick = (runnable or list(result.least_violating))[0]
        binding, meets = _binding(pick, targets), False
    else:
        binding, meets = (), False
    answered = _choices([*result.pareto, *([pick] if pick else [])], evaluator, clusters)
    return OptimizationOutcome(
        best=answered[-1] if pick else None,
        pareto=tuple(answered[: len(result.pareto)]),
        meets_targets=meets,
        binding=binding,
        confidence=_confidence(pick),
        confidence_reasons=_reasons(pick, evaluator, clusters),
        evaluations=result.evaluations,
        generations=result.generations,
        elapsed_ms=result.elapsed_ms,
        timed_out=result.timed_out,
        cancelled=result.stop_reason == StopReason.CANCELLED,
    )


def _space(problem: OptimizationProblem, max_model_len: int, **options: Any) -> SearchSpace:
    """The space under the user's constraints; `options` narrow the gene options (`build_space`'s keywords)."""
    constraints = problem.constraints
    return build_space(
        problem.arch,
        problem.clusters,
        problem.precisions,
        max_model_len=max_model_len,
        max_replicas=constraints.max_replicas,
        max_gpus_per_replica=constraints.max_gpus_per_replica,
        require_high_availability=constraints.require_high_availability,
        **options,
    )


def search_space(problem: OptimizationProblem) -> SearchSpace:
    """The REGRESSOR search's space; raises `InfeasibleConfigError` naming the field when there is none.

    Cheap (milliseconds), so a caller that queues the search can refuse an impossible request up front instead of
    failing the job later.
    """
    arch, workload = problem.arch, problem.workload
    sequence = workload.input_tokens + workload.output_tokens
    if sequence > arch.max_context:
        raise InfeasibleConfigError(
            "workload", f"requests of {sequence} tokens exceed the context of {arch.max_context}"
        )
    return _space(problem, min(arch.max_context, max(sequence, 4096)))


def search_deployment(
    problem: OptimizationProblem,
    *,
    evaluator: Evaluator | None = None,
    on_generation: GenerationCallback | None = None,
    regressor: ResidualRegressor | None = None,
) -> OptimizationOutcome:
    """REGRESSOR method: NSGA-II over the whole space, scored by the analytical models corrected by `regressor`.

    Without a regressor (none trained yet) the analytical models score alone, and confidence says so.
    """
    space = search_space(problem)
    if evaluator is None:
        arch, workload, engine, targets = problem.arch, problem.workload, problem.engine, problem.targets
        evaluator = (
            analytical_evaluator(arch, workload, engine, targets)
            if regressor is None
            else calibrated_evaluator(arch, workload, engine, targets, regressor)
        )
    settings = problem.settings
    result = optimize(
        space,
        evaluator,
        population=settings.population,
        generations=settings.generations,
        seed=settings.seed,
        timeout_s=settings.timeout_s,
        on_generation=on_generation,
    )
    return _outcome(result, problem.targets, evaluator, problem.clusters)


def heuristic_deployment(
    problem: OptimizationProblem, measured_gpus: frozenset[str] = MEASURED_GPUS
) -> OptimizationOutcome:
    """HEURISTIC method: the memory plan on each allowed cluster and precision, scored once; no search. Its
    confidence is the analytical model's, lower on a GPU outside `measured_gpus` (`calibration.measured_gpus`)."""
    arch, clusters, workload, targets = problem.arch, problem.clusters, problem.workload, problem.targets
    constraints = problem.constraints
    evaluator = analytical_evaluator(arch, workload, problem.engine, targets, measured_gpus)
    candidates: list[Candidate] = []
    for index, option in enumerate(clusters):
        for dtype in problem.precisions:
            chosen = plan(arch, option.cluster, workload, PartialConfig(weight_dtype=dtype), dtype).config
            replicas = max(
                min(chosen.replicas, constraints.max_replicas), 2 if constraints.require_high_availability else 1
            )
            # A space holding exactly the plan's batch shape, so that it is scored as planned, not snapped to a grid
            # value the plan's memory arithmetic never checked.
            space = _space(
                problem,
                chosen.max_model_len,
                kv_cache_dtype=chosen.kv_cache_dtype,
                max_num_seqs=(chosen.max_num_seqs,),
                max_num_batched_tokens=(chosen.max_num_batched_tokens,),
                gpu_memory_utilization=(chosen.gpu_memory_utilization,),
            )
            genome = encode(space, replace(chosen, replicas=replicas), index)
            evaluation = score(space, evaluator, genome.reshape(1, -1))
            candidates.append(candidate(space, genome, evaluation, 0))
    feasible = [c for c in candidates if c.feasible]
    best = min(feasible, key=lambda c: (c.cost_per_million_tokens, -c.output_tokens_per_s), default=None)
    closest = min(candidates, key=lambda c: c.severity) if candidates else None
    pick = best or closest
    answered = _choices([*feasible, *([pick] if pick else [])], evaluator, clusters)
    return OptimizationOutcome(
        best=answered[-1] if pick else None,
        pareto=tuple(answered[: len(feasible)]),
        meets_targets=best is not None,
        binding=() if best or closest is None else _binding(closest, targets),
        confidence=_confidence(pick),
        confidence_reasons=_reasons(pick, evaluator, clusters),
        evaluations=len(candidates),
        generations=0,
        elapsed_ms=0.0,
        timed_out=False,
    )
