"""Default GPU-to-GPU bandwidths a hardware profile gets when it does not state its own.

Bandwidths follow the GPU catalog's convention: bidirectional GB/s per GPU.
"""

from typing import Any

from budsim.core.catalog.gpus import GpuSpec
from budsim.core.deployment import Cluster
from budsim.core.types import Interconnect

# Per-GPU network between nodes. InfiniBand: one ConnectX-7 NDR 400 Gb/s port per GPU as in DGX H100
# (https://docs.nvidia.com/dgx/dgxh100-user-guide/introduction-to-dgxh100.html) = 50 GB/s each way.
# Ethernet: a 100 GbE port per GPU, a common cloud figure (AWS p4d: 4 x 100 Gb/s EFA for 8 GPUs is lower still).
INTER_NODE_GBS: dict[Interconnect, float] = {
    Interconnect.INFINIBAND: 100.0,
    Interconnect.ETHERNET: 25.0,
    Interconnect.NVLINK: 100.0,  # NVLink inside a node; nodes assumed linked by InfiniBand NDR
    Interconnect.PCIE: 100.0,
}


def default_interconnect(gpu: GpuSpec) -> Interconnect:
    """A GPU with a fabric is deployed on it; anything else talks over PCIe."""
    return Interconnect.NVLINK if gpu.nvlink_gbs is not None else Interconnect.PCIE


def catalog_cluster(
    gpu: GpuSpec, gpus_per_node: int, node_count: int = 1, interconnect: Interconnect | None = None
) -> Cluster:
    """A cluster of catalog GPUs with the default bandwidths and list price (what a seeded profile describes)."""
    fabric = interconnect or default_interconnect(gpu)
    return Cluster(
        gpu,
        gpus_per_node,
        node_count,
        fabric,
        intra_node_gbs(gpu, fabric),
        INTER_NODE_GBS[fabric],
        gpu.cost_per_hour,
    )


def intra_node_gbs(gpu: GpuSpec, interconnect: Interconnect) -> float:
    """GPUs in one node talk over their fabric unless the profile says they only have PCIe."""
    if interconnect == Interconnect.PCIE or gpu.nvlink_gbs is None:
        return gpu.pcie_gbs
    return gpu.nvlink_gbs


def default_specs(gpu: GpuSpec, interconnect: Interconnect) -> dict[str, Any]:
    return {
        "bf16_tflops": gpu.bf16_tflops,
        "fp8_tflops": gpu.fp8_tflops,
        "int8_tops": gpu.int8_tops,
        "memory_bandwidth_gbs": gpu.memory_bandwidth_gbs,
        "intra_node_bandwidth_gbs": intra_node_gbs(gpu, interconnect),
        "inter_node_bandwidth_gbs": INTER_NODE_GBS[interconnect],
        "source": gpu.spec_source,
    }
