"""Optimization jobs, their progress, and their results read back from the Simulation each job stored."""

import uuid
from datetime import datetime
from typing import Any

import strawberry

from budsim.core.types import JobStatus as JobStatusKind
from budsim.core.types import Method as MethodKind
from budsim.schema.types.pagination import PageInfo
from budsim.schema.types.prediction import DeploymentConfig, PerformanceMetrics
from budsim.schema.types.simulation import Method

strawberry.enum(
    JobStatusKind,
    description="QUEUED until a worker claims it; RUNNING; then SUCCEEDED, FAILED, CANCELLED (best so far kept) or "
    "TIMED_OUT (OPTIMIZATION_TIMEOUT passed; best so far kept).",
)
JobStatus = JobStatusKind  # the same class, registered: annotations can name it


@strawberry.type(description="A recommended configuration: where it runs and how to start it.")
class OptimalConfig(DeploymentConfig):
    gpu_type: str
    hardware_profile_id: strawberry.ID
    vllm_args: str | None = strawberry.field(
        description="The `vllm serve` command line for one replica; null unless the engine is VLLM."
    )
    launch_command: str | None = strawberry.field(
        default=None,
        description="The command that starts one replica in the chosen engine (`vllm serve`, "
        "`python -m sglang.launch_server` or `trtllm-serve`), ending in a shell comment with the replica count. "
        "Null in answers stored before it was reported.",
    )


@strawberry.type
class ParetoPoint:
    config: OptimalConfig
    metrics: PerformanceMetrics


@strawberry.type(description="A target the answer cannot meet: what it requires and what the closest config achieves.")
class BindingTarget:
    target: str
    required: float | None
    achieved: float | None


@strawberry.type
class SimulationRef:
    id: strawberry.ID


@strawberry.type
class OptimizationResult:
    optimal_config: OptimalConfig | None
    predicted_metrics: PerformanceMetrics | None
    pareto_front: list[ParetoPoint]
    confidence: float
    meets_targets: bool
    binding_targets: list[BindingTarget]
    evaluations: int
    generations: int
    elapsed_ms: float
    warnings: list[str]
    simulation: SimulationRef


def _config(document: dict[str, Any] | None) -> OptimalConfig | None:
    config = OptimalConfig.from_document(document)
    if config is not None:
        config.hardware_profile_id = strawberry.ID(str(config.hardware_profile_id))
    return config


def result_from_simulation(row: Any) -> OptimizationResult:
    """An optimization's answer, read back from the Simulation its job stored."""
    doc = row.result
    pareto = [
        ParetoPoint(config=_config(point["config"]), metrics=PerformanceMetrics.from_document(point["metrics"]))  # type: ignore[arg-type]
        for point in doc.get("pareto_front", [])
    ]
    return OptimizationResult(
        optimal_config=_config(row.optimal_config),
        predicted_metrics=PerformanceMetrics.from_document(doc.get("metrics")),
        pareto_front=pareto,
        confidence=row.confidence or 0.0,
        meets_targets=doc["meets_targets"],
        binding_targets=[BindingTarget(**b) for b in doc.get("binding_targets", [])],
        evaluations=doc["evaluations"],
        generations=doc["generations"],
        elapsed_ms=doc["elapsed_ms"],
        warnings=list(doc.get("warnings", [])),
        simulation=SimulationRef(id=strawberry.ID(str(row.id))),
    )


async def _load_result(info: strawberry.Info, simulation_id: uuid.UUID | None) -> OptimizationResult | None:
    if simulation_id is None:
        return None
    row = await info.context.loaders.simulation.load(simulation_id)
    return result_from_simulation(row) if row is not None else None


@strawberry.type(
    description="Where a search stands: one per generation while it runs, then a last one carrying the end status "
    "and the result. The best values are over the feasible configs seen so far (null while there are none)."
)
class OptimizationProgress:
    job_id: strawberry.ID
    status: JobStatus
    attempt: int | None = strawberry.field(description="1 unless a worker died and another retried the job.")
    generation: int | None = strawberry.field(description="0 is the initial population; null before the first.")
    evaluations: int | None = strawberry.field(description="Distinct configurations scored so far.")
    elapsed_ms: float | None
    best_output_tokens_per_s: float | None
    best_e2e_latency_p99_ms: float | None
    best_cost_per_hour: float | None
    pareto_front_size: int | None
    best_config: OptimalConfig | None = strawberry.field(description="The config the pick rule would choose now.")
    error: str | None = strawberry.field(description="Why the job FAILED (or was cancelled without running).")
    simulation_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="The answer, on the last event of a job that produced one.")
    async def result(self, info: strawberry.Info) -> OptimizationResult | None:
        return await _load_result(info, self.simulation_id)

    @classmethod
    def from_document(
        cls,
        job_id: Any,
        status: str,
        progress: dict[str, Any] | None,
        *,
        error: str | None = None,
        simulation_id: uuid.UUID | None = None,
    ) -> "OptimizationProgress":
        p = progress or {}
        return cls(
            job_id=strawberry.ID(str(job_id)),
            status=JobStatusKind(status),
            attempt=p.get("attempt"),
            generation=p.get("generation"),
            evaluations=p.get("evaluations"),
            elapsed_ms=p.get("elapsed_ms"),
            best_output_tokens_per_s=p.get("best_output_tokens_per_s"),
            best_e2e_latency_p99_ms=p.get("best_e2e_latency_p99_ms"),
            best_cost_per_hour=p.get("best_cost_per_hour"),
            pareto_front_size=p.get("pareto_front_size"),
            best_config=_config(p.get("best_config")),
            error=error,
            simulation_id=simulation_id,
        )

    @classmethod
    def from_row(cls, row: Any) -> "OptimizationProgress":
        """The job's state as stored: its latest saved generation, or its end."""
        return cls.from_document(row.id, row.status, row.progress, error=row.error, simulation_id=row.simulation_id)


@strawberry.type(description="One optimize request: queued, run by a worker, ended with a result or a reason.")
class OptimizationJob:
    id: strawberry.ID
    status: JobStatus
    method: Method
    created_at: datetime
    started_at: datetime | None = strawberry.field(description="When the current (last) attempt started.")
    finished_at: datetime | None
    attempts: int
    error: str | None = strawberry.field(description="Why the job FAILED; null otherwise.")
    progress: OptimizationProgress | None = strawberry.field(
        description="The latest generation a worker saved (at most a second old while running)."
    )
    simulation_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The answer; null until the job ends with one (SUCCEEDED, TIMED_OUT, CANCELLED).")
    async def result(self, info: strawberry.Info) -> OptimizationResult | None:
        return await _load_result(info, self.simulation_id)

    @classmethod
    def from_row(cls, row: Any) -> "OptimizationJob":
        return cls(
            id=strawberry.ID(str(row.id)),
            status=JobStatusKind(row.status),
            method=MethodKind(row.method),
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            attempts=row.attempts,
            error=row.error,
            progress=OptimizationProgress.from_row(row) if row.progress else None,
            simulation_id=row.simulation_id,
        )


@strawberry.type
class OptimizationJobEdge:
    cursor: str
    node: OptimizationJob


@strawberry.type
class OptimizationJobConnection:
    edges: list[OptimizationJobEdge]
    page_info: PageInfo
    total_count: int
