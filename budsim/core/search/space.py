"""The discrete space a config search walks, and its genome encoding.

A genome is a row of integers, one per gene in `Gene` order, each an index into that gene's option list. Encoding
indices rather than values is what keeps every gene inside its feasible set by construction: crossover swaps
indices and mutation draws indices, so no operator can produce a TP that does not divide the heads or a precision
the user did not allow. What a single gene cannot express is a constraint (`constraints`), scored rather than
prevented.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property

import numpy as np

from budsim.core.architecture import ModelArchitecture
from budsim.core.deployment import DTYPE_CODES, Cluster, ConfigBatch, ServingConfig
from budsim.core.errors import InfeasibleConfigError
from budsim.core.memory import valid_tensor_parallel_sizes
from budsim.core.types import Dtype, FloatArray, IntArray


class Gene(IntEnum):
    """Column of each gene in a genome."""

    TENSOR_PARALLEL = 0
    PIPELINE_PARALLEL = 1
    MAX_NUM_SEQS = 2
    MAX_NUM_BATCHED_TOKENS = 3
    GPU_MEMORY_UTILIZATION = 4
    REPLICAS = 5
    CLUSTER = 6
    WEIGHT_DTYPE = 7


# The batch-shape options span vLLM's useful range: max_num_seqs below 16 wastes a GPU on any realistic load and
# above 1024 only adds CUDA-graph memory; token budgets from vLLM's small-GPU default (2048) to 4x its H100 default.
DEFAULT_MAX_NUM_SEQS = (16, 32, 64, 128, 256, 512, 1024)
DEFAULT_MAX_NUM_BATCHED_TOKENS = (2048, 4096, 8192, 16384, 32768)
# Below 0.8 vLLM leaves KV room unused for no benefit; above 0.95 the non-PyTorch growth it cannot measure at start-up
# (fragmentation, NCCL lazily allocated buffers) makes out-of-memory crashes common in practice.
DEFAULT_GPU_MEMORY_UTILIZATION = (0.80, 0.85, 0.90, 0.95)


@dataclass(frozen=True, slots=True)
class ClusterOption:
    """One hardware profile the search may deploy on; `label` names it in answers (e.g. the profile's id)."""

    cluster: Cluster
    label: str


@dataclass(frozen=True)
class SearchSpace:
    """Option lists per gene plus the cross-gene rules; built by `build_space`, which filters the options.

    Not slotted so that the numpy lookup tables below can be cached on the instance.
    """

    clusters: tuple[ClusterOption, ...]
    tensor_parallel: tuple[int, ...]
    pipeline_parallel: tuple[int, ...]
    max_num_seqs: tuple[int, ...]
    max_num_batched_tokens: tuple[int, ...]
    gpu_memory_utilization: tuple[float, ...]
    replicas: tuple[int, ...]
    weight_dtypes: tuple[Dtype, ...]
    max_model_len: int
    kv_cache_dtype: Dtype | None = None  # None: vLLM's "auto", the activation dtype (16-bit) whatever the weights
    max_replicas: int = 10
    max_gpus_per_replica: int = 8
    require_high_availability: bool = False

    def __post_init__(self) -> None:
        for gene in Gene:
            if not self.options(gene):
                raise InfeasibleConfigError(f"search.{gene.name.lower()}", "has no option to choose from")

    def options(self, gene: Gene) -> tuple[object, ...]:
        by_gene: dict[Gene, tuple[object, ...]] = {
            Gene.TENSOR_PARALLEL: self.tensor_parallel,
            Gene.PIPELINE_PARALLEL: self.pipeline_parallel,
            Gene.MAX_NUM_SEQS: self.max_num_seqs,
            Gene.MAX_NUM_BATCHED_TOKENS: self.max_num_batched_tokens,
            Gene.GPU_MEMORY_UTILIZATION: self.gpu_memory_utilization,
            Gene.REPLICAS: self.replicas,
            Gene.CLUSTER: self.clusters,
            Gene.WEIGHT_DTYPE: self.weight_dtypes,
        }
        return by_gene[gene]

    @cached_property
    def sizes(self) -> IntArray:
        """Options per gene: a genome's gene g lies in [0, sizes[g])."""
        return np.array([len(self.options(g)) for g in Gene], dtype=np.int64)

    @property
    def size(self) -> int:
        """Genomes in the space, feasible or not."""
        return math.prod(int(s) for s in self.sizes)

    @cached_property
    def _int_tables(self) -> dict[str, IntArray]:
        """Option values as arrays, so decoding N genomes is one fancy-index per gene."""
        kv = [self._kv_dtype(d) for d in self.weight_dtypes]

        def ints(values: Sequence[int]) -> IntArray:
            return np.array(values, dtype=np.int64)

        return {
            "tp": ints(self.tensor_parallel),
            "pp": ints(self.pipeline_parallel),
            "seqs": ints(self.max_num_seqs),
            "tokens": ints(self.max_num_batched_tokens),
            "replicas": ints(self.replicas),
            "weight": ints([DTYPE_CODES.index(d) for d in self.weight_dtypes]),
            "kv": ints([DTYPE_CODES.index(d) for d in kv]),
            "node": ints([c.cluster.gpus_per_node for c in self.clusters]),
            "total": ints([c.cluster.total_gpus for c in self.clusters]),
        }

    @cached_property
    def _float_tables(self) -> dict[str, FloatArray]:
        return {
            "util": np.array(self.gpu_memory_utilization, dtype=np.float64),
            "price": np.array([c.cluster.cost_per_gpu_hour for c in self.clusters], dtype=np.float64),
        }

    def _kv_dtype(self, weights: Dtype) -> Dtype:
        if self.kv_cache_dtype is not None:
            return self.kv_cache_dtype
        return Dtype.FP16 if weights == Dtype.FP16 else Dtype.BF16

    def table(self, name: str) -> IntArray:
        """Integer option values by name: tp, pp, seqs, tokens, replicas, weight, kv (dtype codes), node, total."""
        return self._int_tables[name]

    def float_table(self, name: str) -> FloatArray:
        """Float option values by name: util, price (per GPU-hour, per cluster option)."""
        return self._float_tables[name]


def build_space(
    arch: ModelArchitecture,
    clusters: Sequence[ClusterOption],
    precisions: Sequence[Dtype],
    *,
    max_model_len: int,
    max_replicas: int = 10,
    max_gpus_per_replica: int = 8,
    require_high_availability: bool = False,
    kv_cache_dtype: Dtype | None = None,
    max_num_seqs: Sequence[int] = DEFAULT_MAX_NUM_SEQS,
    max_num_batched_tokens: Sequence[int] = DEFAULT_MAX_NUM_BATCHED_TOKENS,
    gpu_memory_utilization: Sequence[float] = DEFAULT_GPU_MEMORY_UTILIZATION,
) -> SearchSpace:
    """The space of configs for `arch` on any of `clusters` at any of `precisions`.

    Single-gene feasibility is settled here, once, by filtering options: TP is a power of two that vLLM can shard
    the heads over and that fits the largest node and the per-replica GPU limit; PP never exceeds the layers, the
    per-replica limit or the largest cluster; replicas start at 2 under high availability and never exceed what the
    largest cluster could hold. What depends on two genes is left to `structural_violations`.
    """
    if not clusters:
        raise InfeasibleConfigError("search.clusters", "at least one hardware profile is needed")
    if not precisions:
        raise InfeasibleConfigError("search.precisions", "at least one weight precision is needed")
    if max_gpus_per_replica < 1 or max_replicas < 1:
        raise InfeasibleConfigError("search.constraints", "max_gpus_per_replica and max_replicas must be at least 1")
    widest_node = max(c.cluster.gpus_per_node for c in clusters)
    largest = max(c.cluster.total_gpus for c in clusters)
    tps = tuple(tp for tp in valid_tensor_parallel_sizes(arch, widest_node) if tp <= max_gpus_per_replica)
    if not tps:
        raise InfeasibleConfigError("search.tensor_parallel", "no TP size shards this model within a node")
    deepest = min(arch.num_layers, max_gpus_per_replica, largest)
    first_replica = 2 if require_high_availability else 1
    return SearchSpace(
        clusters=tuple(clusters),
        tensor_parallel=tps,
        pipeline_parallel=tuple(range(1, deepest + 1)),
        max_num_seqs=tuple(sorted(set(max_num_seqs))),
        max_num_batched_tokens=tuple(sorted(set(max_num_batched_tokens))),
        gpu_memory_utilization=tuple(sorted(set(gpu_memory_utilization))),
        replicas=tuple(range(first_replica, min(max_replicas, largest) + 1)),
        weight_dtypes=tuple(dict.fromkeys(precisions)),
        max_model_len=max_model_len,
        kv_cache_dtype=kv_cache_dtype,
        max_replicas=max_replicas,
        max_gpus_per_replica=max_gpus_per_replica,
        require_high_availability=require_high_availability,
    )


def decode(space: SearchSpace, genomes: IntArray) -> tuple[ConfigBatch, IntArray]:
    """The configs N genomes stand for, and the index of each one's cluster option."""
    g = np.asarray(genomes, dtype=np.int64).reshape(-1, len(Gene))
    t = space.table
    weight = g[:, Gene.WEIGHT_DTYPE]
    batch = ConfigBatch(
        tensor_parallel=t("tp")[g[:, Gene.TENSOR_PARALLEL]],
        pipeline_parallel=t("pp")[g[:, Gene.PIPELINE_PARALLEL]],
        max_num_seqs=t("seqs")[g[:, Gene.MAX_NUM_SEQS]],
        max_num_batched_tokens=t("tokens")[g[:, Gene.MAX_NUM_BATCHED_TOKENS]],
        gpu_memory_utilization=space.float_table("util")[g[:, Gene.GPU_MEMORY_UTILIZATION]],
        max_model_len=np.full(g.shape[0], space.max_model_len, dtype=np.int64),
        replicas=t("replicas")[g[:, Gene.REPLICAS]],
        weight_dtype=t("weight")[weight],
        kv_cache_dtype=t("kv")[weight],
    )
    return batch, g[:, Gene.CLUSTER].copy()


def encode(space: SearchSpace, config: ServingConfig, cluster_index: int = 0) -> IntArray:
    """The genome of `config` on cluster option `cluster_index`; raises if a value is not one of the options."""
    values: dict[Gene, object] = {
        Gene.TENSOR_PARALLEL: config.tensor_parallel,
        Gene.PIPELINE_PARALLEL: config.pipeline_parallel,
        Gene.MAX_NUM_SEQS: config.max_num_seqs,
        Gene.MAX_NUM_BATCHED_TOKENS: config.max_num_batched_tokens,
        Gene.GPU_MEMORY_UTILIZATION: config.gpu_memory_utilization,
        Gene.REPLICAS: config.replicas,
        Gene.CLUSTER: space.clusters[cluster_index],
        Gene.WEIGHT_DTYPE: config.weight_dtype,
    }
    genome = np.empty(len(Gene), dtype=np.int64)
    for gene, value in values.items():
        options = space.options(gene)
        if value not in options:
            raise InfeasibleConfigError(f"search.{gene.name.lower()}", f"{value!r} is not among {options}")
        genome[gene] = options.index(value)
    return genome


def gpu_count(space: SearchSpace, genomes: IntArray) -> IntArray:
    g = np.asarray(genomes, dtype=np.int64).reshape(-1, len(Gene))
    t = space.table
    per_replica = t("tp")[g[:, Gene.TENSOR_PARALLEL]] * t("pp")[g[:, Gene.PIPELINE_PARALLEL]]
    counts: IntArray = per_replica * t("replicas")[g[:, Gene.REPLICAS]]
    return counts


def cost_per_hour(space: SearchSpace, genomes: IntArray) -> FloatArray:
    """Every GPU a deployment holds is paid for: TP x PP x replicas x the chosen cluster's price per GPU-hour."""
    g = np.asarray(genomes, dtype=np.int64).reshape(-1, len(Gene))
    cost: FloatArray = gpu_count(space, g) * space.float_table("price")[g[:, Gene.CLUSTER]]
    return cost


__all__ = [
    "DEFAULT_GPU_MEMORY_UTILIZATION",
    "DEFAULT_MAX_NUM_BATCHED_TOKENS",
    "DEFAULT_MAX_NUM_SEQS",
    "ClusterOption",
    "Gene",
    "SearchSpace",
    "build_space",
    "cost_per_hour",
    "decode",
    "encode",
    "gpu_count",
]
