"""Stored rows as GraphQL objects: `budsim.db.documents` reads their JSON into typed values, the types map those.

The schema types cannot read the database's documents themselves (they know core, not storage), so every row that
becomes a Simulation, an optimization's result, a job or its progress passes through here.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import strawberry
from strawberry.scalars import JSON

from budsim.core.optimization import PICKED_AS_NEAREST_MISS, PICKED_FOR_COST
from budsim.core.predictors import confidence_level
from budsim.core.results import Interval, Metrics
from budsim.core.types import Engine, JobStatus, Method
from budsim.db.documents import (
    PlacedConfig,
    Progress,
    read_artifacts,
    read_endpoint_settings,
    read_optimal_config,
    read_optimization_result,
    read_progress,
    read_simulation,
    without_version,
)
from budsim.db.models import EndpointDeploymentRow, EndpointRow, OptimizationJobRow, SimulationRow
from budsim.db.queries import Page
from budsim.resolvers.pagination import encode_cursor, page_info
from budsim.schema.types.confidence import ConfidenceReason
from budsim.schema.types.endpoint import ConstraintsSpec, Endpoint, EndpointDeployment, TargetsSpec
from budsim.schema.types.optimization import (
    BindingTarget,
    OptimalConfig,
    OptimizationJob,
    OptimizationJobConnection,
    OptimizationJobEdge,
    OptimizationProgress,
    OptimizationResult,
    ParetoPoint,
    ParetoSample,
    SimulationRef,
)
from budsim.schema.types.prediction import DeploymentConfig, MemoryReport, PerformanceMetrics, WorkloadSpec
from budsim.schema.types.simulation import Simulation


def simulation(row: SimulationRow) -> Simulation:
    stored = read_simulation(row.result, row.optimal_config)
    return Simulation(
        id=strawberry.ID(str(row.id)),
        method=Method(row.method),
        # the raw documents as they read before documents carried a version
        input_config=JSON(row.input_config),
        result=JSON(without_version(row.result)),
        optimal_config=JSON(without_version(row.optimal_config)) if row.optimal_config is not None else None,
        confidence=row.confidence,
        created_at=row.created_at,
        config=DeploymentConfig.from_config(stored.config) if stored.config else None,
        engine=stored.engine,
        workload=WorkloadSpec.from_workload(stored.workload) if stored.workload else None,
        metrics=PerformanceMetrics.from_metrics(stored.metrics, stored.interval) if stored.metrics else None,
        memory=MemoryReport.from_memory(stored.memory) if stored.memory else None,
        warnings=list(stored.warnings),
        model_id=row.model_id,
        hardware_profile_id=row.hardware_profile_id,
        confidence_level=confidence_level(row.confidence) if row.confidence is not None else None,
        confidence_reasons=[ConfidenceReason.from_reason(r) for r in stored.confidence_reasons],
        regressor_version=row.regressor_version_id,
        rerun_of_id=row.rerun_of_id,
    )


def optimal_config(placed: PlacedConfig) -> OptimalConfig:
    return OptimalConfig.from_placed(
        placed.config, placed.gpu_type, placed.hardware_profile_id, placed.vllm_args, placed.launch_command
    )


def optimization_result(row: SimulationRow) -> OptimizationResult:
    """An optimization's answer, read back from the Simulation its job stored."""
    answer = read_optimization_result(row.result)
    pick = read_optimal_config(row.optimal_config) if row.optimal_config else None
    return OptimizationResult(
        optimal_config=optimal_config(pick) if pick else None,
        predicted_metrics=PerformanceMetrics.from_metrics(answer.metrics, answer.interval) if answer.metrics else None,
        pareto_front=[
            ParetoPoint(
                config=optimal_config(entry.config),
                metrics=PerformanceMetrics.from_metrics(entry.metrics, entry.interval),
            )
            for entry in answer.pareto_front
        ],
        confidence=row.confidence or 0.0,
        meets_targets=answer.meets_targets,
        binding_targets=[
            BindingTarget(target=b.target, required=b.required, achieved=b.achieved) for b in answer.binding_targets
        ],
        evaluations=answer.evaluations,
        generations=answer.generations,
        elapsed_ms=answer.elapsed_ms,
        warnings=list(answer.warnings),
        simulation=SimulationRef(id=strawberry.ID(str(row.id))),
        pick_reason=PICKED_FOR_COST if answer.meets_targets else PICKED_AS_NEAREST_MISS,
        confidence_level=confidence_level(row.confidence or 0.0),
        confidence_reasons=[ConfidenceReason.from_reason(r) for r in answer.confidence_reasons],
    )


def progress(
    job_id: Any,
    status: str,
    stored: Progress,
    *,
    error: str | None = None,
    simulation_id: uuid.UUID | None = None,
) -> OptimizationProgress:
    return OptimizationProgress(
        job_id=strawberry.ID(str(job_id)),
        status=JobStatus(status),
        attempt=stored.attempt,
        generation=stored.generation,
        evaluations=stored.evaluations,
        elapsed_ms=stored.elapsed_ms,
        best_output_tokens_per_s=stored.best_output_tokens_per_s,
        best_e2e_latency_p99_ms=stored.best_e2e_latency_p99_ms,
        best_cost_per_hour=stored.best_cost_per_hour,
        pareto_front_size=stored.pareto_front_size,
        best_config=optimal_config(stored.best_config) if stored.best_config else None,
        error=error,
        pareto_front=[ParetoSample.from_point(point) for point in stored.pareto_front],
        simulation_id=simulation_id,
    )


def stored_progress(document: Mapping[str, Any] | None) -> Progress:
    """A job's progress document read, or no progress at all where there is none yet."""
    return read_progress(document) if document else Progress()


def job_progress(row: Any) -> OptimizationProgress:
    """The job's state as stored: its latest saved generation, or its end. `row` is a job row or its standing
    (`budsim.db.jobs.standing`): both have id, status, progress, error and simulation_id."""
    return progress(row.id, row.status, stored_progress(row.progress), error=row.error, simulation_id=row.simulation_id)


def job(row: OptimizationJobRow) -> OptimizationJob:
    return OptimizationJob(
        id=strawberry.ID(str(row.id)),
        status=JobStatus(row.status),
        method=Method(row.method),
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        attempts=row.attempts,
        error=row.error,
        progress=job_progress(row) if row.progress else None,
        simulation_id=row.simulation_id,
        endpoint_id=row.endpoint_id,
        rerun_of_id=row.rerun_of_id,
    )


def job_connection(page: Page[OptimizationJobRow], after: str | None) -> OptimizationJobConnection:
    """A page of jobs, newest first, with (created_at, id) cursors."""
    edges = [OptimizationJobEdge(cursor=encode_cursor(r.created_at.isoformat(), r.id), node=job(r)) for r in page.rows]
    return OptimizationJobConnection(
        edges=edges,
        page_info=page_info([edge.cursor for edge in edges], page.has_next_page, after),
        total_count=page.total_count,
    )


def endpoint(row: EndpointRow) -> Endpoint:
    settings = read_endpoint_settings(row.settings)
    return Endpoint(
        id=strawberry.ID(str(row.id)),
        name=row.name,
        method=Method(row.method),
        engine=Engine(row.engine),
        precisions=list(settings.precisions) if settings.precisions is not None else None,
        workload=WorkloadSpec.from_workload(settings.workload),
        targets=TargetsSpec.from_targets(settings.targets),
        constraints=ConstraintsSpec.from_constraints(settings.constraints, settings.allowed_gpu_types),
        seed=settings.seed,
        created_at=row.created_at,
        key=row.id,
        model_id=row.model_id,
    )


@dataclass(frozen=True, slots=True)
class Chosen:
    """One config of an optimization's answer, with its predicted metrics where the answer has them."""

    config: PlacedConfig
    metrics: Metrics | None
    interval: Interval | None


@dataclass(frozen=True, slots=True)
class Choices:
    """What a deploy can choose from one job's answer: its pick (None when nothing could be evaluated) or a member
    of its Pareto front, by index."""

    pick: Chosen | None
    front: tuple[Chosen, ...]

    def at(self, pareto_index: int | None) -> Chosen | None:
        if pareto_index is None:
            return self.pick
        return self.front[pareto_index] if 0 <= pareto_index < len(self.front) else None


def choices(row: SimulationRow) -> Choices:
    answer = read_optimization_result(row.result)
    pick = read_optimal_config(row.optimal_config) if row.optimal_config else None
    return Choices(
        pick=Chosen(pick, answer.metrics, answer.interval) if pick else None,
        front=tuple(Chosen(entry.config, entry.metrics, entry.interval) for entry in answer.pareto_front),
    )


def deployment(row: EndpointDeploymentRow, chosen: Chosen) -> EndpointDeployment:
    artifacts = read_artifacts(row.artifacts)
    return EndpointDeployment(
        job_id=strawberry.ID(str(row.job_id)),
        pareto_index=row.pareto_index,
        config=optimal_config(chosen.config),
        metrics=PerformanceMetrics.from_metrics(chosen.metrics, chosen.interval) if chosen.metrics else None,
        launch_command=artifacts.launch_command,
        docker_run=artifacts.docker_run,
        kubernetes_manifest=artifacts.kubernetes_manifest,
        notes=list(artifacts.notes),
        created_at=row.created_at,
    )
