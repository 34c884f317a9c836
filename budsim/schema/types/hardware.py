"""Hardware profiles: a cluster of identical GPUs that simulations run against."""

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from budsim.core.types import Interconnect as InterconnectKind
from budsim.schema.types.pagination import PageInfo

strawberry.enum(InterconnectKind, description="The fabric between the GPUs of a profile.")
Interconnect = InterconnectKind  # the same class, registered: annotations can name it


@strawberry.type
class HardwareProfile:
    id: strawberry.ID
    name: str
    gpu_type: str
    gpu_memory_gb: float
    gpu_count: int = strawberry.field(description="GPUs per node.")
    node_count: int
    interconnect: Interconnect
    specs: JSON = strawberry.field(description="Peak TFLOPS by dtype, memory and interconnect bandwidths (GB/s).")
    cost_per_gpu_hour: float
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="gpuCount x nodeCount.")
    def total_gpus(self) -> int:
        return self.gpu_count * self.node_count

    @classmethod
    def from_row(cls, row: Any) -> "HardwareProfile":
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            gpu_type=row.gpu_type,
            gpu_memory_gb=row.gpu_memory_gb,
            gpu_count=row.gpu_count,
            node_count=row.node_count,
            interconnect=InterconnectKind(row.interconnect),
            specs=row.specs,
            cost_per_gpu_hour=row.cost_per_gpu_hour,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type
class HardwareProfileEdge:
    cursor: str
    node: HardwareProfile


@strawberry.type
class HardwareProfileConnection:
    edges: list[HardwareProfileEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type(description="A profile was deleted; its id no longer resolves.")
class DeletedHardwareProfile:
    id: strawberry.ID


@strawberry.enum
class ChangeKind(Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


@strawberry.type(description="Pushed to `hardwareProfileEvents` subscribers after a change is committed.")
class HardwareProfileEvent:
    kind: ChangeKind
    id: strawberry.ID
    profile: HardwareProfile | None
