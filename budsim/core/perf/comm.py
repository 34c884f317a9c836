"""Collective communication inside one replica: tensor-parallel all-reduces and pipeline hand-offs.

A tensor-parallel group sits inside one node when it fits (engines place ranks that way) and then talks over the
node's fabric (NVLink, or PCIe without one); a group wider than a node is bound by the per-GPU network link. The
cluster's bandwidths are bidirectional per GPU, as in the GPU catalog, so a ring sees half of each per direction.
"""

import numpy as np

from budsim.core.deployment import Cluster
from budsim.core.perf.constants import (
    ALLREDUCE_EFFICIENCY_HALF_BYTES,
    ALLREDUCE_EFFICIENCY_LARGE,
    ALLREDUCE_EFFICIENCY_SMALL,
    ALLREDUCE_LATENCY_BASE_S,
    ALLREDUCE_LATENCY_PER_PEER_S,
    INTER_NODE_LATENCY_S,
    P2P_BANDWIDTH_EFFICIENCY,
    P2P_LATENCY_S,
)
from budsim.core.perf.roofline import GIGA
from budsim.core.types import FloatArray


def link_bytes_per_s(cluster: Cluster, group_gpus: FloatArray) -> FloatArray:
    """Per-direction bytes/s a group of `group_gpus` ranks gets: the node's fabric or, across nodes, the NIC."""
    inside = group_gpus <= cluster.gpus_per_node
    return np.where(inside, cluster.intra_node_gbs, cluster.inter_node_gbs) * GIGA / 2.0


def allreduce_latency_s(cluster: Cluster, ranks: FloatArray) -> FloatArray:
    """Fixed cost of one all-reduce among `ranks` GPUs (zero for a single rank, which does not communicate)."""
    latency = ALLREDUCE_LATENCY_BASE_S + ALLREDUCE_LATENCY_PER_PEER_S * (ranks - 1.0)
    latency = latency + np.where(ranks > cluster.gpus_per_node, INTER_NODE_LATENCY_S, 0.0)
    return np.where(ranks > 1.0, latency, 0.0)


def allreduce_seconds_per_byte(cluster: Cluster, ranks: FloatArray) -> FloatArray:
    """Ring all-reduce at the link's full speed: every rank sends and receives 2 (n-1)/n of the message over its
    slowest link (divide by `allreduce_efficiency` for the time it takes)."""
    bandwidth = link_bytes_per_s(cluster, ranks)
    return np.where(ranks > 1.0, 2.0 * (ranks - 1.0) / np.maximum(ranks, 1.0) / bandwidth, 0.0)


def allreduce_efficiency(message_bytes: FloatArray | float) -> FloatArray:
    """Share of the link an all-reduce of `message_bytes` gets: small messages ride latency-bound protocols, large
    ones NVLS (constants.py)."""
    message_bytes = np.asarray(message_bytes, dtype=np.float64)
    share = message_bytes / (message_bytes + ALLREDUCE_EFFICIENCY_HALF_BYTES)
    efficiency: FloatArray = (
        ALLREDUCE_EFFICIENCY_SMALL + (ALLREDUCE_EFFICIENCY_LARGE - ALLREDUCE_EFFICIENCY_SMALL) * share
    )
    return efficiency


def allreduce_seconds(
    latency_s: FloatArray | float, seconds_per_byte: FloatArray | float, message_bytes: FloatArray | float
) -> FloatArray:
    """One all-reduce of `message_bytes` from its group's coefficients (`allreduce_latency_s`,
    `allreduce_seconds_per_byte`): the latency, then the bytes at the share of the link their size gets. The step
    model keeps the coefficients per candidate and sizes the message per step."""
    seconds: FloatArray = latency_s + message_bytes * seconds_per_byte / allreduce_efficiency(message_bytes)
    return seconds


def allreduce_time_s(cluster: Cluster, ranks: FloatArray, message_bytes: FloatArray) -> FloatArray:
    """Latency plus bandwidth term of one ring all-reduce of `message_bytes` among `ranks` GPUs."""
    return allreduce_seconds(
        allreduce_latency_s(cluster, ranks), allreduce_seconds_per_byte(cluster, ranks), message_bytes
    )


def p2p_seconds_per_byte(cluster: Cluster, replica_gpus: FloatArray) -> FloatArray:
    """Pipeline stages of a replica that spans nodes hand off over the network; otherwise over the fabric."""
    return 1.0 / (link_bytes_per_s(cluster, replica_gpus) * P2P_BANDWIDTH_EFFICIENCY)


def p2p_latency_s(cluster: Cluster, replica_gpus: FloatArray) -> FloatArray:
    return P2P_LATENCY_S + np.where(replica_gpus > cluster.gpus_per_node, INTER_NODE_LATENCY_S, 0.0)
