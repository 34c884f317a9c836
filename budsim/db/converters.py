"""Database rows to core inputs: a hardware profile becomes a `Cluster` the performance models understand."""

import dataclasses
from typing import Any

from budsim.core.catalog.fabrics import INTER_NODE_GBS, intra_node_gbs
from budsim.core.catalog.gpus import GpuSpec, find_gpu
from budsim.core.deployment import Cluster
from budsim.core.types import Interconnect
from budsim.db.models import HardwareProfileRow


def _spec(specs: dict[str, Any], key: str, fallback: float | None) -> float | None:
    value = specs.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else fallback


def gpu_from_profile(row: HardwareProfileRow) -> GpuSpec:
    """The catalog GPU with the profile's own figures laid over it; a custom GPU from its specs alone."""
    specs = row.specs or {}
    base = find_gpu(row.gpu_type)
    if base is None:
        bf16 = _spec(specs, "bf16_tflops", None) or 0.0
        base = GpuSpec(
            name=row.gpu_type,
            vendor="custom",
            memory_gb=row.gpu_memory_gb,
            memory_bandwidth_gbs=_spec(specs, "memory_bandwidth_gbs", None) or 0.0,
            bf16_tflops=bf16,
            fp8_tflops=None,
            int8_tops=2 * bf16,
            nvlink_gbs=None,
            pcie_gbs=64.0,
            cost_per_hour=row.cost_per_gpu_hour,
            spec_source=str(specs.get("source", "user")),
            price_source="user",
        )
    return dataclasses.replace(
        base,
        memory_gb=row.gpu_memory_gb,
        memory_bandwidth_gbs=_spec(specs, "memory_bandwidth_gbs", base.memory_bandwidth_gbs) or 0.0,
        bf16_tflops=_spec(specs, "bf16_tflops", base.bf16_tflops) or 0.0,
        fp8_tflops=_spec(specs, "fp8_tflops", base.fp8_tflops),
        int8_tops=_spec(specs, "int8_tops", base.int8_tops) or 0.0,
        cost_per_hour=row.cost_per_gpu_hour,
    )


def cluster_from_profile(row: HardwareProfileRow) -> Cluster:
    gpu = gpu_from_profile(row)
    interconnect = Interconnect(row.interconnect)
    specs = row.specs or {}
    return Cluster(
        gpu=gpu,
        gpus_per_node=row.gpu_count,
        node_count=row.node_count,
        interconnect=interconnect,
        intra_node_gbs=_spec(specs, "intra_node_bandwidth_gbs", None) or intra_node_gbs(gpu, interconnect),
        inter_node_gbs=_spec(specs, "inter_node_bandwidth_gbs", None) or INTER_NODE_GBS[interconnect],
        cost_per_gpu_hour=row.cost_per_gpu_hour,
    )
