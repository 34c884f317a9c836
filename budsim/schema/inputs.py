"""Input objects. Field checks live in the resolvers so every error can name its field in the result union."""

import strawberry
from strawberry.scalars import JSON

from budsim.schema.types.hardware import Interconnect


@strawberry.input
class CreateHardwareProfileInput:
    name: str
    gpu_type: str = strawberry.field(description="A catalog GPU (see `gpuTypes`) or any name with your own specs.")
    gpu_count: int = strawberry.field(description="GPUs per node.")
    node_count: int = 1
    interconnect: Interconnect | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Defaults to NVLINK where the GPU has a fabric, else PCIE."
    )
    gpu_memory_gb: float | None = strawberry.field(default=None, description="Omit for catalog GPUs.")
    specs: JSON | None = strawberry.field(
        default=None,
        description="bf16_tflops, fp8_tflops, int8_tops, memory_bandwidth_gbs, intra_node_bandwidth_gbs, "
        "inter_node_bandwidth_gbs (GB/s, bidirectional per GPU). Catalog GPUs fill in what is omitted.",
    )
    cost_per_gpu_hour: float | None = strawberry.field(default=None, description="Defaults to the catalog price.")


@strawberry.input(description="Only the fields given change.")
class UpdateHardwareProfileInput:
    name: str | None = strawberry.UNSET
    gpu_count: int | None = strawberry.UNSET
    node_count: int | None = strawberry.UNSET
    interconnect: Interconnect | None = strawberry.UNSET  # type: ignore[valid-type]
    gpu_memory_gb: float | None = strawberry.UNSET
    specs: JSON | None = strawberry.UNSET
    cost_per_gpu_hour: float | None = strawberry.UNSET
