"""Specification of tensor-parallel all-reduce and pipeline hand-off costs, pinned to aiconfigurator's NCCL table."""

import numpy as np
import pytest

from budsim.core.catalog.gpus import GPUS
from budsim.core.deployment import Cluster
from budsim.core.perf.comm import (
    allreduce_efficiency,
    allreduce_latency_s,
    allreduce_time_s,
    link_bytes_per_s,
    p2p_latency_s,
)
from budsim.core.types import Interconnect

H100 = GPUS["H100-SXM"]
DGX_H100 = Cluster(H100, 8, 2, Interconnect.NVLINK, 900.0, 100.0, 2.99)
PCIE_BOX = Cluster(GPUS["L40S"], 8, 1, Interconnect.PCIE, 64.0, 25.0, 0.86)


def test_a_single_rank_does_not_communicate() -> None:
    assert allreduce_time_s(DGX_H100, np.array([1.0]), np.array([1e9]))[0] == 0.0


def test_allreduce_latency_grows_by_a_fixed_step_per_extra_rank() -> None:
    # Fit to the NCCL table: 5.8 us + 1.5 us per extra GPU (measured 6.2, 9.4, 15.5 us at 2, 4, 8 GPUs, 256 elements).
    assert allreduce_latency_s(DGX_H100, np.array([2.0, 4.0, 8.0])) * 1e6 == pytest.approx([7.3, 10.3, 16.3])


@pytest.mark.parametrize(
    ("message_bytes", "measured_us"),
    [(1_048_576.0, 25.4), (8_388_608.0, 79.0), (134_217_728.0, 578.0)],  # 0.5M, 4M and 64M fp16 elements
)
def test_an_allreduce_on_eight_h100s_takes_what_nccl_measured_at_every_message_size(
    message_bytes: float, measured_us: float
) -> None:
    """A decode step's all-reduce (1 MB) is latency-bound; a large model's prompt chunk's (128 MB) runs near NVLink's
    speed. One efficiency for both had made the large ones 37% too slow."""
    seconds = allreduce_time_s(DGX_H100, np.array([8.0]), np.array([message_bytes]))[0]
    assert seconds * 1e6 == pytest.approx(measured_us, rel=0.2)


def test_allreduce_efficiency_rises_with_the_message() -> None:
    efficiency = allreduce_efficiency(np.array([1e4, 18e6, 1e10]))
    assert efficiency == pytest.approx([0.33, 0.58, 0.83], abs=0.005)


def test_groups_wider_than_a_node_are_bound_by_the_per_gpu_network_link() -> None:
    inside, across = link_bytes_per_s(DGX_H100, np.array([8.0, 16.0]))
    assert (inside, across) == (450e9, 50e9)
    assert allreduce_latency_s(DGX_H100, np.array([16.0]))[0] * 1e6 == pytest.approx(5.8 + 1.5 * 15 + 20.0)


def test_gpus_without_a_fabric_communicate_over_pcie() -> None:
    assert link_bytes_per_s(PCIE_BOX, np.array([4.0]))[0] == 32e9


def test_a_pipeline_spanning_nodes_pays_the_network_round_trip_per_hand_off() -> None:
    assert p2p_latency_s(DGX_H100, np.array([8.0, 16.0])) * 1e6 == pytest.approx([10.0, 30.0])
