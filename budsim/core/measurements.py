"""Measured serving runs rebuilt as deployments the analytical model can predict.

The accuracy bench, the regressor's training and its tests must all map a measurement the same way, or the error one
reports is not the error the other trains on; this module is that one mapping. A run (a row of data/benchmarks.csv
or a stored benchmark) names a model, a GPU, a parallel layout, precisions, an engine and a closed-loop workload.

Approximations forced by what BudSim can express today:
- parallelism: every GPU of the replica is one tensor-parallel group of `gpu_count` ranks; runs that used attention
  data parallelism or expert parallelism are flagged `ep_or_dp`;
- FP4 weights (NVFP4 on Blackwell, MXFP4 gpt-oss) run as INT4 weight-only (same bytes, BF16 compute rate), since
  `Dtype` has no FP4 yet: flagged `fp4`;
- a KV cache dtype that the source did not record is BF16 ("auto");
- the engine's default token budget and max_num_seqs (raised to the concurrency where a run needed more), KV
  capacity from `core.memory` at gpu_memory_utilization 0.9 and max_model_len = ISL + OSL.

The residual regressor sees the first two approximations as features (expert-parallel and attention-DP degrees, an
FP4 flag), so it can keep their errors apart; `budsim.regressor.training` leaves out the runs whose GPU count is no
tensor-parallel size BudSim generates.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass

from budsim.core.architecture import ModelArchitecture
from budsim.core.catalog.fabrics import catalog_cluster
from budsim.core.catalog.gpus import GpuSpec
from budsim.core.deployment import Cluster, ConfigBatch, ServingConfig, Workload
from budsim.core.perf.engines import engine_profile
from budsim.core.types import Dtype, Engine

RACK_SCALE_NVLINK_DOMAIN = {"GB200": 72, "GB300": 72}  # NVL72: one NVLink domain of 72 GPUs
GPUS_PER_NODE = 8
WEIGHT_DTYPES: dict[str, Dtype] = {
    "BF16": Dtype.BF16,
    "FP16": Dtype.FP16,
    "FP8": Dtype.FP8,
    "INT8": Dtype.INT8,
    "INT4": Dtype.INT4,
    "FP4": Dtype.INT4,
}
GPU_MEMORY_UTILIZATION = 0.9


@dataclass(frozen=True, slots=True)
class MeasuredRun:
    """One benchmark run: what was deployed, what was offered, and what was measured."""

    model: str
    gpu: str
    gpu_count: int
    tp: int
    attention_dp: int
    moe_ep: int
    precision: str
    kv_dtype: str
    engine: Engine
    input_tokens: int
    output_tokens: int
    concurrency: int
    static_batch: bool
    ttft_ms: float
    tpot_ms: float
    output_tokens_per_s: float
    source: str

    @classmethod
    def from_record(cls, record: Mapping[str, str]) -> "MeasuredRun":
        """From a data/benchmarks.csv row (every value a string, empty where unknown)."""
        return cls(
            model=record["model"],
            gpu=record["gpu"],
            gpu_count=int(record["gpu_count"]),
            tp=int(record["tp"]),
            attention_dp=int(record["attention_dp"] or 1),
            moe_ep=int(record["moe_ep"] or 1),
            precision=record["precision"],
            kv_dtype=record["kv_dtype"],
            engine=Engine(record["engine"]),
            input_tokens=int(record["input_tokens"]),
            output_tokens=int(record["output_tokens"]),
            concurrency=int(record["concurrency"]),
            static_batch=record["static_batch"] == "1",
            ttft_ms=float(record["ttft_ms"]),
            tpot_ms=float(record["tpot_ms"]),
            output_tokens_per_s=float(record["output_tokens_per_s"]),
            source=record["source"],
        )

    @property
    def measured(self) -> tuple[float, float, float]:
        """Throughput, TTFT, TPOT: the order of `core.predictors.TARGETS`."""
        return self.output_tokens_per_s, self.ttft_ms, self.tpot_ms

    @property
    def fp4(self) -> bool:
        return self.precision == "FP4"

    @property
    def ep_or_dp(self) -> bool:
        return self.attention_dp > 1 or self.moe_ep > 1 or self.gpu_count > self.tp

    @property
    def low_load(self) -> bool:
        """All clients' prompts fit one step's token budget, so the synchronised waves of a closed loop cannot queue."""
        budget = engine_profile(self.engine).default_max_num_batched_tokens
        return not self.static_batch and self.concurrency * self.input_tokens <= budget


def measured_cluster(gpu: GpuSpec, gpu_count: int) -> Cluster:
    """The cluster a run used: 8-GPU nodes, or one NVL72 rack for the rack-scale parts."""
    per_node = RACK_SCALE_NVLINK_DOMAIN.get(gpu.name, GPUS_PER_NODE)
    return catalog_cluster(gpu, per_node, max(1, math.ceil(gpu_count / per_node)))


def serving_config(run: MeasuredRun) -> ServingConfig:
    profile = engine_profile(run.engine)
    return ServingConfig(
        tensor_parallel=run.gpu_count,
        pipeline_parallel=1,
        max_num_seqs=max(profile.default_max_num_seqs, run.concurrency),
        max_num_batched_tokens=profile.default_max_num_batched_tokens,
        gpu_memory_utilization=GPU_MEMORY_UTILIZATION,
        max_model_len=run.input_tokens + run.output_tokens,
        replicas=1,
        weight_dtype=WEIGHT_DTYPES[run.precision],
        kv_cache_dtype=Dtype(run.kv_dtype) if run.kv_dtype else Dtype.BF16,
    )


@dataclass(frozen=True, slots=True)
class MeasuredDeployment:
    """A run in BudSim's own terms, ready for `perf.serving.predict` (or `perf.step` for static batches)."""

    run: MeasuredRun
    arch: ModelArchitecture
    cluster: Cluster
    batch: ConfigBatch
    workload: Workload


def deployment_of(run: MeasuredRun, arch: ModelArchitecture, gpu: GpuSpec) -> MeasuredDeployment:
    return MeasuredDeployment(
        run,
        arch,
        measured_cluster(gpu, run.gpu_count),
        ConfigBatch.single(serving_config(run)),
        Workload(run.input_tokens, run.output_tokens, concurrency=run.concurrency),
    )


@dataclass(frozen=True, slots=True)
class MeasuredMetrics:
    """What one recorded run measured, each None where it was not: the metrics a result file (`core.imports`) and
    `recordBenchmarks` carry, named as RecordBenchmarkInput names them and in `budsim.db.models.METRIC_COLUMNS`'
    order."""

    ttft_ms: float | None
    ttft_p50_ms: float | None
    ttft_p99_ms: float | None
    tpot_ms: float | None
    output_tokens_per_s: float | None
    requests_per_s: float | None
    e2e_latency_ms: float | None
    e2e_p99_ms: float | None
