"""Stored simulations; nested model and profile resolve through the request's DataLoaders."""

import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from budsim.core.types import Method as MethodKind
from budsim.schema.types.hardware import HardwareProfile
from budsim.schema.types.model import Model
from budsim.schema.types.pagination import PageInfo

Method = strawberry.enum(MethodKind, description="HEURISTIC: memory-based rules; REGRESSOR: XGBoost + NSGA-II.")


@strawberry.type
class Simulation:
    id: strawberry.ID
    method: Method  # type: ignore[valid-type]
    input_config: JSON
    result: JSON
    optimal_config: JSON | None
    confidence: float | None
    created_at: datetime
    model_id: strawberry.Private[uuid.UUID]
    hardware_profile_id: strawberry.Private[uuid.UUID]

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
