"""Optimization jobs, their progress, and their results read back from the Simulation each job stored.

The resolvers build these from the typed values `budsim.db.documents` reads out of the job's and the Simulation's
documents (`budsim.resolvers.answers`).
"""

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry

from budsim.core.deployment import ServingConfig
from budsim.core.search.nsga2 import FrontPoint
from budsim.core.types import JobStatus as JobStatusKind
from budsim.schema.types.confidence import ConfidenceLevel, ConfidenceReason
from budsim.schema.types.pagination import PageInfo
from budsim.schema.types.prediction import DeploymentConfig, PerformanceMetrics, config_fields
from budsim.schema.types.simulation import Method, Simulation

if TYPE_CHECKING:
    from budsim.schema.types.endpoint import Endpoint

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
        "`python3 -m sglang.launch_server` or `trtllm-serve`), ending in a shell comment with the replica count. "
        "Null in answers stored before it was reported.",
    )

    @classmethod
    def from_placed(
        cls,
        config: ServingConfig,
        gpu_type: str,
        hardware_profile_id: uuid.UUID,
        vllm_args: str | None,
        launch_command: str | None,
    ) -> Self:
        return cls(
            **config_fields(config),
            gpu_type=gpu_type,
            hardware_profile_id=strawberry.ID(str(hardware_profile_id)),
            vllm_args=vllm_args,
            launch_command=launch_command,
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
    pick_reason: str = strawberry.field(
        description="Why optimalConfig was chosen over the other configs scored (or, missing a target, which "
        "rule chose the nearest miss)."
    )
    confidence_level: ConfidenceLevel = strawberry.field(
        default=ConfidenceLevel.NEEDS_MORE_DATA,
        description="The guide's band of `confidence`. A missed target is said by meetsTargets and bindingTargets, "
        "not here: the nearest miss is scored for trust like any pick.",
    )
    confidence_reasons: list[ConfidenceReason] = strawberry.field(
        default_factory=list,
        description="What lowered the pick's `confidence`, worst first, each with what to measure to raise it.",
    )


async def _load_result(info: strawberry.Info, simulation_id: uuid.UUID | None) -> OptimizationResult | None:
    if simulation_id is None:
        return None
    result: OptimizationResult | None = await info.context.loaders.optimization_result.load(simulation_id)
    return result


@strawberry.type(description="One point of the current Pareto front, for plotting while a search runs.")
class ParetoSample:
    output_tokens_per_s: float
    e2e_latency_p99_ms: float
    cost_per_hour: float

    @classmethod
    def from_point(cls, point: FrontPoint) -> Self:
        return cls(
            output_tokens_per_s=point.output_tokens_per_s,
            e2e_latency_p99_ms=point.e2e_p99_ms,
            cost_per_hour=point.cost_per_hour,
        )


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
    pareto_front: list[ParetoSample] = strawberry.field(
        default_factory=list,
        description="The feasible Pareto front after this generation (at most 64 points, spread evenly along it by "
        "throughput, each value to 4 significant digits); empty while nothing is feasible.",
    )
    simulation_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="The answer, on the last event of a job that produced one.")
    async def result(self, info: strawberry.Info) -> OptimizationResult | None:
        return await _load_result(info, self.simulation_id)


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
    endpoint_id: strawberry.Private[uuid.UUID | None] = None
    rerun_of_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="The answer; null until the job ends with one (SUCCEEDED, TIMED_OUT, CANCELLED).")
    async def result(self, info: strawberry.Info) -> OptimizationResult | None:
        return await _load_result(info, self.simulation_id)

    @strawberry.field(description="The endpoint it optimizes; null for a plain optimize call (or once deleted).")
    async def endpoint(
        self, info: strawberry.Info
    ) -> Annotated["Endpoint", strawberry.lazy("budsim.schema.types.endpoint")] | None:
        if self.endpoint_id is None:
            return None
        endpoint: Endpoint | None = await info.context.loaders.endpoint.load(self.endpoint_id)
        return endpoint

    @strawberry.field(
        description="The Simulation whose optimization this job reruns with the same request (`reoptimize`); null "
        "for a first run. The answer it stores links to it too (`rerunOf`)."
    )
    async def rerun_of(self, info: strawberry.Info) -> Simulation | None:
        if self.rerun_of_id is None:
            return None
        simulation: Simulation | None = await info.context.loaders.simulation_answer.load(self.rerun_of_id)
        return simulation


@strawberry.type
class OptimizationJobEdge:
    cursor: str
    node: OptimizationJob


@strawberry.type
class OptimizationJobConnection:
    edges: list[OptimizationJobEdge]
    page_info: PageInfo
    total_count: int
