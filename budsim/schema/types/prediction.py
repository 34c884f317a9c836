"""What a prediction says: the config it is about, its metrics and its memory breakdown.

Each type maps from core's typed value of the same name and fields (`core.results`, `core.deployment`): the resolvers
hand it what `budsim.db.documents` read from a stored simulation, or what core has just answered.
"""

from dataclasses import asdict
from typing import Any, Self

import strawberry

from budsim.core.deployment import ServingConfig, Workload
from budsim.core.results import Interval, MemoryFootprint, Metrics
from budsim.core.types import Dtype as DtypeKind
from budsim.core.types import Engine as EngineKind

strawberry.enum(DtypeKind, description="Numeric format of weights or KV cache.")
Dtype = DtypeKind  # the same class, registered: annotations can name it
strawberry.enum(EngineKind, description="Serving engine the prediction is for.")
Engine = EngineKind  # the same class, registered: annotations can name it


def config_fields(config: ServingConfig) -> dict[str, Any]:
    """A config as DeploymentConfig's fields (core calls TP and PP `tensor_parallel` and `pipeline_parallel`)."""
    return dict(config.engine_named())


@strawberry.type(description="One serving configuration of the engine, replicated `replicas` times.")
class DeploymentConfig:
    tensor_parallel_size: int
    pipeline_parallel_size: int
    max_num_seqs: int
    max_num_batched_tokens: int
    gpu_memory_utilization: float
    max_model_len: int
    replicas: int
    weight_dtype: Dtype
    kv_cache_dtype: Dtype

    @classmethod
    def from_config(cls, config: ServingConfig) -> Self:
        return cls(**config_fields(config))

    @strawberry.field(description="tensorParallelSize x pipelineParallelSize.")
    def gpus_per_replica(self) -> int:
        return self.tensor_parallel_size * self.pipeline_parallel_size

    @strawberry.field(description="GPUs the whole deployment occupies.")
    def total_gpus(self) -> int:
        return self.tensor_parallel_size * self.pipeline_parallel_size * self.replicas


@strawberry.type(
    description="Serving metrics for the whole deployment (all replicas), one value each. Latencies are null where the "
    "deployment cannot serve the load: a request does not fit, or the offered rate exceeds capacity."
)
class MetricValues:
    ttft_mean_ms: float | None
    ttft_p50_ms: float | None
    ttft_p99_ms: float | None
    tpot_ms: float | None = strawberry.field(description="Time per output token after the first (inter-token latency).")
    e2e_latency_p50_ms: float | None
    e2e_latency_p99_ms: float | None
    output_tokens_per_s: float | None
    total_tokens_per_s: float | None
    requests_per_s: float | None
    cost_per_hour: float | None
    cost_per_million_tokens: float | None = strawberry.field(description="USD per million output tokens at this load.")
    e2e_latency_mean_ms: float | None = strawberry.field(
        default=None,
        description="Mean request latency as a client sees it; with a closed loop, requestsPerS x this = concurrency "
        "(Little's law). Null in simulations stored before it was reported.",
    )

    @classmethod
    def from_metrics(cls, metrics: Metrics) -> Self:
        return cls(**asdict(metrics))


@strawberry.type(
    description="Predicted serving metrics for the whole deployment (all replicas), with their interval: p10 holds "
    "every metric's 10th percentile and p90 its 90th, from the uncertainty of the service times behind them (the "
    "regressor's ensemble and the spread of similar measured runs, or the analytical model's spread from measured "
    "runs). A null value in p90 means unbounded (a queue that could grow without limit)."
)
class PerformanceMetrics(MetricValues):
    p10: MetricValues | None = strawberry.field(default=None, description="Every metric's 10th percentile.")
    p90: MetricValues | None = strawberry.field(default=None, description="Every metric's 90th percentile.")

    @classmethod
    def from_metrics(cls, metrics: Metrics, interval: Interval | None = None) -> Self:
        performance = super().from_metrics(metrics)
        if interval is not None:
            performance.p10 = MetricValues.from_metrics(interval.p10)
            performance.p90 = MetricValues.from_metrics(interval.p90)
        return performance


@strawberry.type(description="Per-GPU memory of the busiest pipeline stage, in GB (10^9 bytes).")
class MemoryReport:
    weights_gb_per_gpu: float
    kv_cache_gb_per_gpu: float
    activation_gb_per_gpu: float
    overhead_gb_per_gpu: float
    total_gb_per_gpu: float
    kv_cache_tokens: int = strawberry.field(description="KV-cache capacity of one replica, in tokens.")
    max_num_seqs_at_max_model_len: int
    fits: bool

    @classmethod
    def from_memory(cls, memory: MemoryFootprint) -> Self:
        return cls(**asdict(memory))


@strawberry.type(description="The request shape and load a prediction assumes.")
class WorkloadSpec:
    input_tokens: int
    output_tokens: int
    concurrency: float | None
    request_rate: float | None

    @classmethod
    def from_workload(cls, workload: Workload) -> Self:
        return cls(**asdict(workload))
