"""What a prediction is about: the cluster, a batch of candidate serving configs, and the workload.

Candidates are a struct of numpy arrays (`ConfigBatch`) rather than a list of objects, because a search scores
thousands of them per generation and every model in core/ is written to take whole arrays at once.
"""

from dataclasses import dataclass, fields
from typing import Any, Self

import numpy as np

from budsim.core.catalog.gpus import GpuSpec
from budsim.core.types import Dtype, FloatArray, IntArray, Interconnect

# Bytes per stored element. INT4 (AWQ/GPTQ) adds one FP16 scale and one 4-bit zero point per group of 128 weights.
DTYPE_BYTES: dict[Dtype, float] = {
    Dtype.BF16: 2.0,
    Dtype.FP16: 2.0,
    Dtype.FP8: 1.0,
    Dtype.INT8: 1.0,
    Dtype.INT4: 0.5 + (2.0 + 0.5) / 128,
}
DTYPE_CODES: tuple[Dtype, ...] = tuple(Dtype)


@dataclass(frozen=True, slots=True)
class Cluster:
    """One hardware profile: `node_count` nodes of `gpus_per_node` identical GPUs."""

    gpu: GpuSpec
    gpus_per_node: int
    node_count: int
    interconnect: Interconnect
    intra_node_gbs: float  # bidirectional GPU-to-GPU bandwidth inside a node, GB/s
    inter_node_gbs: float  # bidirectional per-GPU network bandwidth between nodes, GB/s
    cost_per_gpu_hour: float

    @property
    def total_gpus(self) -> int:
        return self.gpus_per_node * self.node_count


@dataclass(frozen=True, slots=True)
class ServingConfig:
    """One engine configuration for one replica, replicated `replicas` times."""

    tensor_parallel: int
    pipeline_parallel: int
    max_num_seqs: int
    max_num_batched_tokens: int
    gpu_memory_utilization: float
    max_model_len: int
    replicas: int
    weight_dtype: Dtype
    kv_cache_dtype: Dtype

    @property
    def gpus_per_replica(self) -> int:
        return self.tensor_parallel * self.pipeline_parallel

    def engine_named(self) -> dict[str, int | float | Dtype]:
        """The fields under vLLM's engine-argument names (`--tensor-parallel-size` …), which stored documents and
        the API's DeploymentConfig use too; only TP and PP are named shorter here."""
        return {
            "tensor_parallel_size": self.tensor_parallel,
            "pipeline_parallel_size": self.pipeline_parallel,
            "max_num_seqs": self.max_num_seqs,
            "max_num_batched_tokens": self.max_num_batched_tokens,
            "gpu_memory_utilization": self.gpu_memory_utilization,
            "max_model_len": self.max_model_len,
            "replicas": self.replicas,
            "weight_dtype": self.weight_dtype,
            "kv_cache_dtype": self.kv_cache_dtype,
        }


@dataclass(frozen=True, slots=True)
class ConfigBatch:
    """N candidate configs as parallel arrays; dtypes are indices into `DTYPE_CODES`."""

    tensor_parallel: IntArray
    pipeline_parallel: IntArray
    max_num_seqs: IntArray
    max_num_batched_tokens: IntArray
    gpu_memory_utilization: FloatArray
    max_model_len: IntArray
    replicas: IntArray
    weight_dtype: IntArray
    kv_cache_dtype: IntArray

    def __len__(self) -> int:
        return int(self.tensor_parallel.shape[0])

    @classmethod
    def from_configs(cls, configs: list[ServingConfig]) -> Self:
        def column(name: str) -> Any:  # an IntArray or a FloatArray, by the field it fills
            values = [getattr(c, name) for c in configs]
            if name.endswith("dtype"):
                return np.array([DTYPE_CODES.index(v) for v in values], dtype=np.int64)
            kind = np.float64 if name == "gpu_memory_utilization" else np.int64
            return np.array(values, dtype=kind)

        return cls(**{f.name: column(f.name) for f in fields(cls)})

    @classmethod
    def single(cls, config: ServingConfig) -> Self:
        return cls.from_configs([config])

    def bytes_per_weight(self) -> FloatArray:
        return np.array([DTYPE_BYTES[d] for d in DTYPE_CODES])[self.weight_dtype]

    def bytes_per_kv_element(self) -> FloatArray:
        return np.array([DTYPE_BYTES[d] for d in DTYPE_CODES])[self.kv_cache_dtype]

    def take(self, rows: IntArray) -> Self:
        """The candidates at `rows`, in that order (repeats allowed: a stacked or tiled batch)."""
        return type(self)(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    def row(self, index: int) -> ServingConfig:
        values = {f.name: getattr(self, f.name)[index].item() for f in fields(self)}
        values["weight_dtype"] = DTYPE_CODES[values["weight_dtype"]]
        values["kv_cache_dtype"] = DTYPE_CODES[values["kv_cache_dtype"]]
        return ServingConfig(
            tensor_parallel=values["tensor_parallel"],
            pipeline_parallel=values["pipeline_parallel"],
            max_num_seqs=values["max_num_seqs"],
            max_num_batched_tokens=values["max_num_batched_tokens"],
            gpu_memory_utilization=values["gpu_memory_utilization"],
            max_model_len=values["max_model_len"],
            replicas=values["replicas"],
            weight_dtype=values["weight_dtype"],
            kv_cache_dtype=values["kv_cache_dtype"],
        )


@dataclass(frozen=True, slots=True)
class Workload:
    """Mean request shape and offered load: a closed loop (`concurrency` in flight) or an open `request_rate`/s."""

    input_tokens: int
    output_tokens: int
    concurrency: float | None = None
    request_rate: float | None = None
