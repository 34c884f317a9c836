"""An optimize request as a job carries it: validated, stored as JSON, solved by whichever worker claims it.

The API process validates and stores a `JobRequest` (`budsim.db.documents`); a worker (maybe in another process, on
another machine) reads it back, loads the model and profiles it names, runs the search and stores the answer as a
Simulation. Nothing here touches the event loop or the database session: `solve` runs in a search process
(`budsim.jobs.search_process`).
"""

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from budsim.core.architecture import ModelArchitecture, parse_hf_config
from budsim.core.deployment import ServingConfig
from budsim.core.launch import launch_command, vllm_args
from budsim.core.methods import optimize_deployment
from budsim.core.optimization import (
    Choice,
    OptimizationOutcome,
    OptimizationProblem,
    SearchSettings,
    search_space,
)
from budsim.core.predictors import ResidualRegressor
from budsim.core.search import ClusterOption
from budsim.core.search.nsga2 import FrontPoint, GenerationCallback, GenerationReport
from budsim.core.types import Engine, JobStatus
from budsim.db.converters import cluster_from_profile
from budsim.db.documents import (
    JobRequest,
    OptimizationAnswer,
    ParetoEntry,
    PlacedConfig,
    Progress,
    optimal_config_document,
    optimization_result_document,
    progress_document,
    read_progress,
)
from budsim.db.models import HardwareProfileRow, ModelRow, SimulationRow

# Points of the front each progress event carries: a scatter plot's worth, 1.6 kB of a NOTIFY payload's 7.9
# (budsim.jobs.news.NOTIFY_LIMIT; tests/jobs/test_request.py checks the worst case).
PROGRESS_FRONT_POINTS = 64
FRONT_DIGITS = 4  # significant digits of each value sent: within 0.05%, finer than a plot shows


@dataclass(frozen=True, slots=True)
class Place:
    """Where a config runs, as its answer names it."""

    hardware_profile_id: uuid.UUID
    gpu_type: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A request with its rows resolved into what core computes on; plain values, so it pickles to a search process."""

    request: JobRequest
    model_name: str
    arch: ModelArchitecture
    places: dict[str, Place]  # cluster label (the profile id) -> the profile
    clusters: tuple[ClusterOption, ...]

    def optimization(self, search: SearchSettings) -> OptimizationProblem:
        """The request as core's problem, searched with `search` under the request's own seed."""
        r = self.request
        return OptimizationProblem(
            arch=self.arch,
            clusters=self.clusters,
            precisions=r.precisions,
            workload=r.workload,
            engine=r.engine,
            method=r.method,
            targets=r.targets,
            constraints=r.constraints,
            settings=replace(search, seed=r.seed),
        )


def problem(request: JobRequest, model: ModelRow, profiles: Sequence[HardwareProfileRow]) -> Problem:
    by_label = {str(row.id): row for row in profiles}
    return Problem(
        request=request,
        model_name=model.name,
        arch=parse_hf_config(model.architecture),
        places={label: Place(row.id, row.gpu_type) for label, row in by_label.items()},
        clusters=tuple(ClusterOption(cluster_from_profile(row), label) for label, row in by_label.items()),
    )


def preflight(task: Problem) -> None:
    """Raise the `CoreError` the search would raise (naming the field), in milliseconds, before anything is queued."""
    search_space(task.optimization(SearchSettings()))


def solve(
    task: Problem,
    search: SearchSettings,
    regressor: ResidualRegressor | None,
    on_generation: GenerationCallback | None = None,
) -> OptimizationOutcome:
    """Run the request's method; CPU-bound (up to OPTIMIZATION_TIMEOUT), so callers run it off the event loop."""
    return optimize_deployment(task.optimization(search), regressor, on_generation)


def placed(task: Problem, config: ServingConfig, cluster_label: str) -> PlacedConfig:
    """A pick with where it runs and the command that starts it in the request's engine."""
    place = task.places[cluster_label]
    engine = task.request.engine
    gpu = next(option.cluster.gpu for option in task.clusters if option.label == cluster_label)
    return PlacedConfig(
        config=config,
        gpu_type=place.gpu_type,
        hardware_profile_id=place.hardware_profile_id,
        launch_command=launch_command(engine, task.model_name, task.arch, gpu, config),
        vllm_args=vllm_args(task.model_name, config) if engine == Engine.VLLM else None,
    )


def _significant(value: float) -> float:
    return float(f"{value:.{FRONT_DIGITS}g}")


def front_sample(front: Sequence[FrontPoint], limit: int = PROGRESS_FRONT_POINTS) -> tuple[FrontPoint, ...]:
    """At most `limit` points spread evenly along `front` (ordered by throughput), its two ends kept, each value
    rounded to FRONT_DIGITS. A point with an unbounded value is left out: JSON (and PostgreSQL's jsonb) has no
    infinity."""
    finite = [p for p in front if math.isfinite(p.output_tokens_per_s + p.e2e_p99_ms + p.cost_per_hour)]
    if len(finite) > limit:
        step = (len(finite) - 1) / (limit - 1)  # above 1, so the rounded indices never repeat
        finite = [finite[round(i * step)] for i in range(limit)]
    return tuple(
        FrontPoint(_significant(p.output_tokens_per_s), _significant(p.e2e_p99_ms), _significant(p.cost_per_hour))
        for p in finite
    )


def generation_progress(task: Problem, report: GenerationReport, attempt: int) -> dict[str, Any]:
    """One generation's report as pushed to subscribers and kept on the job row."""
    best = report.best
    return progress_document(
        Progress(
            attempt=attempt,
            generation=report.generation,
            evaluations=report.evaluations,
            elapsed_ms=round(report.elapsed_ms, 1),
            best_output_tokens_per_s=report.best_output_tokens_per_s,
            best_e2e_latency_p99_ms=report.best_e2e_p99_ms,
            best_cost_per_hour=report.best_cost_per_hour,
            pareto_front_size=report.front_size,
            min_violation=round(report.min_violation, 6),
            best_config=placed(task, best.config, best.cluster_label) if best is not None else None,
            pareto_front=front_sample(report.front),
        )
    )


def final_progress(outcome: OptimizationOutcome, attempt: int, previous: dict[str, Any] | None) -> dict[str, Any]:
    """The progress a job ends with: the last generation's, with the outcome's totals."""
    last = read_progress(previous) if previous else Progress()
    return progress_document(
        replace(
            last,
            attempt=attempt,
            generation=outcome.generations,
            evaluations=outcome.evaluations,
            elapsed_ms=round(outcome.elapsed_ms, 1),
        )
    )


def _placed(task: Problem, choice: Choice) -> PlacedConfig:
    return placed(task, choice.config, choice.cluster_label)


def simulation_row(task: Problem, outcome: OptimizationOutcome, status: JobStatus) -> SimulationRow:
    """The answer stored as a Simulation, so `simulations` lists optimizations beside single predictions."""
    r = task.request
    best = outcome.best
    chosen = best.cluster_label if best else next(iter(task.places))
    answer = OptimizationAnswer(
        status=status,
        engine=r.engine,
        workload=r.workload,
        targets=r.targets,
        metrics=best.metrics if best else None,
        interval=best.interval if best else None,
        pareto_front=tuple(ParetoEntry(_placed(task, c), c.metrics, c.interval) for c in outcome.pareto),
        meets_targets=outcome.meets_targets,
        binding_targets=outcome.binding,
        evaluations=outcome.evaluations,
        generations=outcome.generations,
        elapsed_ms=round(outcome.elapsed_ms, 1),
        warnings=outcome.warnings,
        confidence_reasons=outcome.confidence_reasons,
    )
    return SimulationRow(
        id=uuid.uuid4(),
        model_id=r.model_id,
        hardware_profile_id=task.places[chosen].hardware_profile_id,
        method=r.method.value,
        input_config={
            "kind": "optimization",
            "hardware_profile_ids": list(task.places),
            "precisions": [p.value for p in r.precisions],
            "seed": r.seed,
        },
        result=optimization_result_document(answer),
        optimal_config=optimal_config_document(_placed(task, best)) if best else None,
        confidence=outcome.confidence,
    )
