"""Stored simulations; nested model and profile resolve through the request's DataLoaders."""

import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from budsim.core.types import Engine as EngineKind
from budsim.core.types import Method as MethodKind
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
    model_id: strawberry.Private[uuid.UUID]
    hardware_profile_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The configuration predicted (the recommended one where the method chose).")
    def config(self) -> DeploymentConfig | None:
        return DeploymentConfig.from_document(self.optimal_config)

    @strawberry.field
    def engine(self) -> Engine | None:
        engine = self.result.get("engine")
        return EngineKind(engine) if engine else None

    @strawberry.field
    def workload(self) -> WorkloadSpec | None:
        return WorkloadSpec.from_document(self.result.get("workload"))

    @strawberry.field
    def metrics(self) -> PerformanceMetrics | None:
        return PerformanceMetrics.from_document(self.result.get("metrics"))

    @strawberry.field
    def memory(self) -> MemoryReport | None:
        return MemoryReport.from_document(self.result.get("memory"))

    @strawberry.field(description="What the user should know: memory shortfalls, assumptions, clamped values.")
    def warnings(self) -> list[str]:
        return list(self.result.get("warnings", []))

    @strawberry.field
    async def model(self, info: strawberry.Info) -> Model | None:
        row = await info.context.loaders.model.load(self.model_id)
        return Model.from_row(row) if row else None

    @strawberry.field
    async def hardware_profile(self, info: strawberry.Info) -> HardwareProfile | None:
        row = await info.context.loaders.hardware_profile.load(self.hardware_profile_id)
        return HardwareProfile.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: Any) -> "Simulation":
        return cls(
            id=strawberry.ID(str(row.id)),
            method=MethodKind(row.method),
            input_config=row.input_config,
            result=row.result,
            optimal_config=row.optimal_config,
            confidence=row.confidence,
            created_at=row.created_at,
            model_id=row.model_id,
            hardware_profile_id=row.hardware_profile_id,
        )


@strawberry.type
class SimulationEdge:
    cursor: str
    node: Simulation


@strawberry.type
class SimulationConnection:
    edges: list[SimulationEdge]
    page_info: PageInfo
    total_count: int
