"""Catalog GPUs as the API shows them."""

from typing import Any

import strawberry


@strawberry.type(description="A GPU of the built-in catalog; figures are dense (no sparsity), per GPU.")
class GpuType:
    name: str
    vendor: str
    memory_gb: float
    memory_bandwidth_gb_s: float
    bf16_tflops: float
    fp8_tflops: float | None = strawberry.field(description="Null where the GPU has no FP8 tensor path.")
    int8_tops: float
    interconnect_gb_s: float = strawberry.field(description="NVLink/fabric (bidirectional) where present, else PCIe.")
    nvlink_gb_s: float | None
    pcie_gb_s: float
    cost_per_hour: float = strawberry.field(description="Default on-demand price per GPU-hour (USD).")
    source: str
    price_source: str

    @classmethod
    def from_spec(cls, gpu: Any) -> "GpuType":
        return cls(
            name=gpu.name,
            vendor=gpu.vendor,
            memory_gb=gpu.memory_gb,
            memory_bandwidth_gb_s=gpu.memory_bandwidth_gbs,
            bf16_tflops=gpu.bf16_tflops,
            fp8_tflops=gpu.fp8_tflops,
            int8_tops=gpu.int8_tops,
            interconnect_gb_s=gpu.interconnect_gbs,
            nvlink_gb_s=gpu.nvlink_gbs,
            pcie_gb_s=gpu.pcie_gbs,
            cost_per_hour=gpu.cost_per_hour,
            source=gpu.spec_source,
            price_source=gpu.price_source,
        )
