"""Endpoints: named plans for serving one model, their jobs, staleness and deployment.

Everything an endpoint shows beyond its own row (model, profiles, jobs, deployment, staleness) resolves through the
request's DataLoaders (`budsim.resolvers.loaders`), so a page of endpoints costs a few queries, not a few per row.
The resolvers build an Endpoint from its row (`budsim.resolvers.answers`).
"""

import uuid
from datetime import datetime
from typing import Self

import strawberry

from budsim.core.optimization import Constraints as ConstraintsKind
from budsim.core.search import Targets as TargetsKind
from budsim.schema.types.hardware import HardwareProfile
from budsim.schema.types.model import Model
from budsim.schema.types.optimization import OptimalConfig, OptimizationJob, OptimizationJobConnection
from budsim.schema.types.pagination import PageInfo
from budsim.schema.types.prediction import Dtype, Engine, PerformanceMetrics, WorkloadSpec
from budsim.schema.types.simulation import Method


@strawberry.type(name="Targets", description="Service-level targets as stored; each null one is free.")
class TargetsSpec:
    max_latency_ms: float | None = strawberry.field(description="On end-to-end latency p99.")
    min_throughput_tps: float | None = strawberry.field(description="Output tokens/s, all replicas.")
    max_ttft_ms: float | None = strawberry.field(description="On time to first token p99.")
    max_cost_per_hour: float | None

    @classmethod
    def from_targets(cls, targets: TargetsKind) -> Self:
        return cls(
            max_latency_ms=targets.max_latency_ms,
            min_throughput_tps=targets.min_throughput_tps,
            max_ttft_ms=targets.max_ttft_ms,
            max_cost_per_hour=targets.max_cost_per_hour,
        )


@strawberry.type(name="Constraints", description="Deployment constraints as stored (the user guide's defaults filled).")
class ConstraintsSpec:
    max_replicas: int
    max_gpus_per_replica: int
    allowed_gpu_types: list[str] | None = strawberry.field(
        description="GPU families or catalog names as given; null: every profile's GPU."
    )
    require_high_availability: bool

    @classmethod
    def from_constraints(cls, constraints: ConstraintsKind, allowed_gpu_types: tuple[str, ...] | None) -> Self:
        return cls(
            max_replicas=constraints.max_replicas,
            max_gpus_per_replica=constraints.max_gpus_per_replica,
            allowed_gpu_types=list(allowed_gpu_types) if allowed_gpu_types is not None else None,
            require_high_availability=constraints.require_high_availability,
        )


@strawberry.type(
    description="The chosen config of one job and how to start it. Generated text only: BudSim applies nothing."
)
class EndpointDeployment:
    job_id: strawberry.ID
    pareto_index: int | None = strawberry.field(description="Null: the recommended config (optimalConfig).")
    config: OptimalConfig
    metrics: PerformanceMetrics | None = strawberry.field(description="The chosen config's predicted metrics.")
    launch_command: str = strawberry.field(
        description="One replica, in the engine's own flags (the same text as OptimalConfig.launchCommand, unless "
        "the hardware profile changed since the job ran: then it follows the profile and `notes` says so)."
    )
    docker_run: str = strawberry.field(description="`docker run` of the engine's official image for one replica.")
    kubernetes_manifest: str = strawberry.field(
        description="A Kubernetes Deployment (YAML): replicas, GPUs per replica, the engine args, a readiness probe."
    )
    notes: list[str] = strawberry.field(
        description="What a person must check before applying (multi-node replicas, the image tag, the model's "
        "access token)."
    )
    created_at: datetime = strawberry.field(
        description="When it was chosen; the artifacts are kept as they were generated then."
    )


@strawberry.type(
    description="A named plan for serving one model: what to optimize over and for what, its jobs, and the "
    "deployment chosen."
)
class Endpoint:
    id: strawberry.ID
    name: str
    method: Method
    engine: Engine
    precisions: list[Dtype] | None = strawberry.field(
        description="Weight precisions to consider; null: the model's own, decided at each optimization."
    )
    workload: WorkloadSpec
    targets: TargetsSpec
    constraints: ConstraintsSpec
    seed: int
    created_at: datetime
    key: strawberry.Private[uuid.UUID]
    model_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def model(self, info: strawberry.Info) -> Model:
        # A model an endpoint names cannot be deleted (RESTRICT), and models have no delete path at all.
        return Model.from_row(await info.context.loaders.model.load(self.model_id))

    @strawberry.field(description="In the order they were given.")
    async def hardware_profiles(self, info: strawberry.Info) -> list[HardwareProfile]:
        profiles: list[HardwareProfile] = await info.context.loaders.endpoint_profiles.load(self.key)
        return profiles

    @strawberry.field(description="Newest first.")
    async def optimization_jobs(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> OptimizationJobConnection:
        connection: OptimizationJobConnection = await info.context.loaders.endpoint_jobs(self.key, first, after)
        return connection

    @strawberry.field(description="The newest job in any status; null before the first optimizeEndpoint.")
    async def latest_job(self, info: strawberry.Info) -> OptimizationJob | None:
        job: OptimizationJob | None = await info.context.loaders.latest_job.load(self.key)
        return job

    @strawberry.field(description="The newest deployEndpoint answer; null until the first.")
    async def deployment(self, info: strawberry.Info) -> EndpointDeployment | None:
        deployment: EndpointDeployment | None = await info.context.loaders.deployment.load(self.key)
        return deployment

    @strawberry.field(
        description="Its model or one of its hardware profiles changed after its latest optimization started (was "
        "queued: the job may have read either version). Models have no update path, so today only profiles do."
    )
    async def stale(self, info: strawberry.Info) -> bool:
        return bool(await info.context.loaders.stale_reasons.load(self.key))

    @strawberry.field(description="One sentence per change, naming what changed and when; empty when not stale.")
    async def stale_reasons(self, info: strawberry.Info) -> list[str]:
        reasons: list[str] = await info.context.loaders.stale_reasons.load(self.key)
        return reasons


@strawberry.type
class EndpointEdge:
    cursor: str
    node: Endpoint


@strawberry.type
class EndpointConnection:
    edges: list[EndpointEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type(description="An endpoint was deleted, with its deployments; its jobs remain, unlinked.")
class DeletedEndpoint:
    id: strawberry.ID
