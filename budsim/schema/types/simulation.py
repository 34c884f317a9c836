"""Stored simulations; nested model and profile resolve through the request's DataLoaders.

The resolvers build a Simulation from its row (`budsim.resolvers.answers`): the raw documents as stored, and the
typed values `budsim.db.documents` reads out of them, mapped by the prediction types.
"""

import uuid
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from budsim.core.staleness import changed_since, regressor_changed
from budsim.core.types import Method as MethodKind
from budsim.schema.types.benchmark import BenchmarkRun, MetricComparison
from budsim.schema.types.confidence import ConfidenceLevel, ConfidenceReason
from budsim.schema.types.hardware import HardwareProfile
from budsim.schema.types.model import Model
from budsim.schema.types.pagination import PageInfo
from budsim.schema.types.prediction import (
    DeploymentConfig,
    Engine,
    MemoryReport,
    PerformanceMetrics,
    WorkloadSpec,
)

strawberry.enum(MethodKind, description="HEURISTIC: memory-based rules; REGRESSOR: XGBoost + NSGA-II.")
Method = MethodKind  # the same class, registered: annotations can name it


@strawberry.type
class Simulation:
    id: strawberry.ID
    method: Method
    input_config: JSON
    result: JSON
    optimal_config: JSON | None
    confidence: float | None
    created_at: datetime
    config: DeploymentConfig | None = strawberry.field(
        description="The configuration predicted (the recommended one where the method chose)."
    )
    engine: Engine | None
    workload: WorkloadSpec | None
    metrics: PerformanceMetrics | None
    memory: MemoryReport | None
    warnings: list[str] = strawberry.field(
        description="What the user should know: memory shortfalls, assumptions, clamped values."
    )
    model_id: strawberry.Private[uuid.UUID]
    hardware_profile_id: strawberry.Private[uuid.UUID]
    regressor_version: int | None = strawberry.field(
        default=None,
        description="The regressor version whose corrections it holds (`regressorVersions`); null for HEURISTIC, "
        "for a REGRESSOR answer made without a regressor, and for answers stored before versions were recorded.",
    )
    confidence_level: ConfidenceLevel | None = strawberry.field(
        default=None, description="The guide's band of `confidence` (null where confidence is)."
    )
    confidence_reasons: list[ConfidenceReason] = strawberry.field(
        default_factory=list,
        description="What lowered `confidence`, worst first, each with what to measure; empty where nothing did "
        "(and in answers stored before reasons were given).",
    )
    rerun_of_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(
        description="The simulation this one reran with the same inputs (`resimulate`, `reoptimize`); null for a "
        "first run."
    )
    async def rerun_of(self, info: strawberry.Info) -> "Simulation | None":
        if self.rerun_of_id is None:
            return None
        found: Simulation | None = await info.context.loaders.simulation_answer.load(self.rerun_of_id)
        return found

    @strawberry.field(
        description="The simulations that reran this one with the same inputs, newest first (a `reoptimize`'s once "
        "its job has stored its answer)."
    )
    async def reruns(self, info: strawberry.Info) -> list["Simulation"]:
        found: list[Simulation] = await info.context.loaders.reruns.load(uuid.UUID(self.id))
        return found

    @strawberry.field
    async def model(self, info: strawberry.Info) -> Model | None:
        row = await info.context.loaders.model.load(self.model_id)
        return Model.from_row(row) if row else None

    @strawberry.field
    async def hardware_profile(self, info: strawberry.Info) -> HardwareProfile | None:
        row = await info.context.loaders.hardware_profile.load(self.hardware_profile_id)
        return HardwareProfile.from_row(row) if row else None

    async def _changes(self, info: strawberry.Info) -> list[str]:
        row = await info.context.loaders.hardware_profile.load(self.hardware_profile_id)
        profiles = [(row.name, row.updated_at)] if row else []
        changes = changed_since(profiles, self.created_at, "this simulation was made")
        return changes + regressor_changed(self.regressor_version, info.context.regressor_version)

    @strawberry.field(
        description="Its hardware profile changed after it was made, or another regressor version is active than "
        "the one it was predicted with, so running it again may answer differently (models never change once "
        "registered)."
    )
    async def stale(self, info: strawberry.Info) -> bool:
        return bool(await self._changes(info))

    @strawberry.field(description="One sentence per change, naming what changed and when; empty when not stale.")
    async def stale_reasons(self, info: strawberry.Info) -> list[str]:
        return await self._changes(info)


@strawberry.type
class SimulationEdge:
    cursor: str
    node: Simulation


@strawberry.type
class SimulationConnection:
    edges: list[SimulationEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type(
    description="A stored prediction against a measurement of it: per metric, how far off and whether inside "
    "the prediction's p10-p90 interval. The measurement is stored as a benchmark run tied to the simulation."
)
class ValidationReport:
    simulation: Simulation
    run: BenchmarkRun
    metrics: list[MetricComparison]
