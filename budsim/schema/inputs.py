"""Input objects. Field checks live in the resolvers so every error can name its field in the result union."""

import strawberry
from strawberry.scalars import JSON

from budsim.core.types import Engine as EngineKind
from budsim.core.types import Method as MethodKind
from budsim.schema.types.hardware import Interconnect
from budsim.schema.types.prediction import Dtype, Engine
from budsim.schema.types.simulation import Method


@strawberry.input
class CreateHardwareProfileInput:
    name: str
    gpu_type: str = strawberry.field(description="A catalog GPU (see `gpuTypes`) or any name with your own specs.")
    gpu_count: int = strawberry.field(description="GPUs per node.")
    node_count: int = 1
    interconnect: Interconnect | None = strawberry.field(
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
    interconnect: Interconnect | None = strawberry.UNSET
    gpu_memory_gb: float | None = strawberry.UNSET
    specs: JSON | None = strawberry.UNSET
    cost_per_gpu_hour: float | None = strawberry.UNSET


@strawberry.input(description="Every field optional: what is missing the method chooses.")
class DeploymentConfigInput:
    tensor_parallel_size: int | None = None
    pipeline_parallel_size: int | None = None
    max_num_seqs: int | None = None
    max_num_batched_tokens: int | None = None
    gpu_memory_utilization: float | None = None
    max_model_len: int | None = None
    replicas: int | None = None
    weight_dtype: Dtype | None = None
    kv_cache_dtype: Dtype | None = None


@strawberry.input(description="Mean request shape, and the load: exactly one of `concurrency` or `requestRate`.")
class WorkloadInput:
    input_tokens: int
    output_tokens: int
    concurrency: float | None = strawberry.field(default=None, description="Requests in flight (closed loop).")
    request_rate: float | None = strawberry.field(default=None, description="Requests per second (open loop).")


@strawberry.input
class SimulateInput:
    model_id: strawberry.ID
    hardware_profile_id: strawberry.ID
    workload: WorkloadInput
    method: Method = MethodKind.HEURISTIC
    engine: Engine = EngineKind.VLLM
    config: DeploymentConfigInput | None = None


@strawberry.input(description="Service-level targets; each omitted one is free.")
class TargetsInput:
    max_latency_ms: float | None = strawberry.field(default=None, description="On end-to-end latency p99.")
    min_throughput_tps: float | None = strawberry.field(default=None, description="Output tokens/s, all replicas.")
    max_ttft_ms: float | None = strawberry.field(default=None, description="On time to first token p99.")
    max_cost_per_hour: float | None = None


@strawberry.input
class ConstraintsInput:
    max_replicas: int = 10
    max_gpus_per_replica: int = 8
    allowed_gpu_types: list[str] | None = None
    require_high_availability: bool = strawberry.field(default=False, description="At least two replicas.")


@strawberry.input
class OptimizeInput:
    model_id: strawberry.ID
    hardware_profile_ids: list[strawberry.ID]
    method: Method = MethodKind.REGRESSOR
    engine: Engine = EngineKind.VLLM
    precisions: list[Dtype] | None = strawberry.field(
        default=None, description="Weight precisions to consider; default the model's own."
    )
    workload: WorkloadInput | None = strawberry.field(
        default=None, description="Default: 1024 input tokens, 256 output tokens, concurrency 32."
    )
    targets: TargetsInput | None = None
    constraints: ConstraintsInput | None = None
    seed: int = 0


@strawberry.input(
    description="A serving run you measured, for the regressor to learn from and for predictions to be checked "
    "against. Provenance is required. The GPU is a catalog `gpuType` or a `hardwareProfileId` (custom GPUs "
    "included); the load is the workload's `concurrency` (closed loop) or `requestRate` (open loop); give whichever "
    "metrics were measured, at least one. Training uses closed-loop runs with TTFT, TPOT and output tokens/s."
)
class RecordBenchmarkInput:
    model_id: strawberry.ID
    gpu_type: str | None = strawberry.field(
        default=None, description="A catalog GPU (see `gpuTypes`); stored by its catalog name. Or `hardwareProfileId`."
    )
    hardware_profile_id: strawberry.ID | None = strawberry.field(
        default=None, description="The hardware profile it ran on (its GPU, custom ones included); or `gpuType`."
    )
    gpu_count: int = strawberry.field(description="GPUs the run used: whole copies of the TP x PP group.")
    tensor_parallel_size: int
    pipeline_parallel_size: int = 1
    weight_dtype: Dtype
    kv_cache_dtype: Dtype | None = strawberry.field(
        default=None, description="Omit where the engine's default was used and not recorded."
    )
    engine: Engine
    engine_version: str | None = None
    workload: WorkloadInput = strawberry.field(
        description="Mean request shape, and either `concurrency` (closed loop) or `requestRate` (open loop)."
    )
    ttft_ms: float | None = strawberry.field(default=None, description="Mean time to first token.")
    ttft_p50_ms: float | None = strawberry.field(default=None, description="Median time to first token.")
    ttft_p99_ms: float | None = strawberry.field(default=None, description="99th percentile time to first token.")
    tpot_ms: float | None = strawberry.field(default=None, description="Mean time per output token after the first.")
    output_tokens_per_s: float | None = strawberry.field(
        default=None, description="Output tokens/s of the whole run (not input + output)."
    )
    requests_per_s: float | None = strawberry.field(default=None, description="Completed requests/s of the run.")
    e2e_latency_ms: float | None = strawberry.field(default=None, description="Mean end-to-end request latency.")
    e2e_p99_ms: float | None = strawberry.field(default=None, description="99th percentile end-to-end latency.")
    source: str = strawberry.field(description="Provenance: a URL, or who measured it, with what tool and how.")


@strawberry.input(
    description="What a deployment serving a stored simulation's config, model, profile and workload measured: "
    "whichever metrics were measured (at least one), and who measured them how."
)
class MeasuredMetricsInput:
    ttft_ms: float | None = strawberry.field(default=None, description="Mean time to first token.")
    ttft_p50_ms: float | None = strawberry.field(default=None, description="Median time to first token.")
    ttft_p99_ms: float | None = strawberry.field(default=None, description="99th percentile time to first token.")
    tpot_ms: float | None = strawberry.field(default=None, description="Mean time per output token after the first.")
    output_tokens_per_s: float | None = strawberry.field(default=None, description="Output tokens/s, all replicas.")
    requests_per_s: float | None = strawberry.field(default=None, description="Completed requests/s, all replicas.")
    e2e_latency_ms: float | None = strawberry.field(default=None, description="Mean end-to-end request latency.")
    e2e_p99_ms: float | None = strawberry.field(default=None, description="99th percentile end-to-end latency.")
    engine_version: str | None = None
    source: str = strawberry.field(description="Provenance: who measured it, with what tool and how.")


@strawberry.input(
    description="An endpoint: a name, and an optimize request's fields, checked as `optimize` checks them."
)
class CreateEndpointInput(OptimizeInput):
    name: str = strawberry.field(description="Unique, 1-200 characters.")


@strawberry.input(description="Which config of which job to deploy.")
class DeployChoiceInput:
    job_id: strawberry.ID | None = strawberry.field(
        default=None, description="The job whose answer to deploy; default the endpoint's newest job with a result."
    )
    pareto_index: int | None = strawberry.field(
        default=None, description="Index into that result's paretoFront; default the recommended optimalConfig."
    )
