"""The HEURISTIC method: one sensible vLLM config from the architecture, the cluster and the workload, no model.

It answers the question an operator asks first ("what is the smallest deployment that holds this model and my
traffic?") the way an experienced operator would: keep tensor parallelism inside a node and as small as fits, span
nodes with pipeline parallelism only when a node is not enough, then let vLLM's own defaults and the KV cache decide
the batch limits. Every candidate is scored by `memory.memory_breakdown` in one vectorized call, so a plan costs well
under a millisecond and can sit on a request path.
"""

import math
from dataclasses import dataclass

import numpy as np

from budsim.core.architecture import ModelArchitecture
from budsim.core.catalog.gpus import GpuSpec
from budsim.core.deployment import DTYPE_BYTES, DTYPE_CODES, Cluster, ConfigBatch, ServingConfig, Workload
from budsim.core.errors import InfeasibleConfigError
from budsim.core.memory import (
    MemoryBreakdown,
    check_parallelism,
    longest_sequence,
    memory_breakdown,
    valid_tensor_parallel_sizes,
)
from budsim.core.types import Dtype, FloatArray

# vLLM's --gpu-memory-utilization default (CacheConfig.gpu_memory_utilization = 0.9).
DEFAULT_GPU_MEMORY_UTILIZATION = 0.90
# vLLM's V1 default max_num_seqs for the OpenAI server on GPUs under 70 GiB and on A100 (vllm-project/vllm PR #16158,
# v0.8.4, which reverted 1024 to the V0 value because of OOMs). H100-class GPUs default to 1024 since then; we stay
# at 256 everywhere because beyond it decode steps are long enough that latency targets, not memory, bound the batch.
VLLM_DEFAULT_MAX_NUM_SEQS = 256
# vLLM's chunked-prefill token budget for the OpenAI server (EngineArgs.get_batch_defaults in
# vllm/engine/arg_utils.py, unchanged v0.10-v0.19): 8192 on GPUs with >= 70 GiB that are not A100s (introduced for
# H100/H200 by vllm-project/vllm PR #12369, v0.7.1; A100 excluded after PR #17885 measured a throughput loss), else
# 2048 (PR #10544).
VLLM_LARGE_GPU_MAX_NUM_BATCHED_TOKENS = 8192
VLLM_DEFAULT_MAX_NUM_BATCHED_TOKENS = 2048
VLLM_LARGE_GPU_MIN_GB = 70 * 2**30 / 1e9
# Round max_num_seqs down to this: vLLM captures decode CUDA graphs at every multiple of 8 from 8 to 256, so such a
# limit is itself a captured size and a full batch runs without padding.
MAX_NUM_SEQS_MULTIPLE = 8
# Round max_model_len down to vLLM's default KV block size (16 tokens on CUDA): the cache is allocated in whole
# blocks, so a non-multiple buys nothing.
MAX_MODEL_LEN_MULTIPLE = 16
# Crude step-time model for Little's law, only used to size the KV cache for a request rate. Decode reads every
# active weight once per step; small-batch GEMV kernels reach roughly 70% of peak HBM bandwidth (Llama-3.1-8B bf16
# on H100: 16.1 GB / 3.35 TB/s = 4.8 ms at peak, ~6.5-7 ms single-stream inter-token latency in vLLM benchmarks).
DECODE_BANDWIDTH_EFFICIENCY = 0.7
# Prefill is compute-bound at 2 FLOPs per active parameter per token; large prefill GEMMs typically sustain about
# half of the datasheet's dense BF16 peak.
PREFILL_COMPUTE_EFFICIENCY = 0.5


@dataclass(frozen=True, slots=True)
class PartialConfig:
    """What the user pinned; every None field is the method's to choose."""

    tensor_parallel: int | None = None
    pipeline_parallel: int | None = None
    max_num_seqs: int | None = None
    max_num_batched_tokens: int | None = None
    gpu_memory_utilization: float | None = None
    max_model_len: int | None = None
    replicas: int | None = None
    weight_dtype: Dtype | None = None
    kv_cache_dtype: Dtype | None = None


@dataclass(frozen=True, slots=True)
class HeuristicPlan:
    config: ServingConfig
    memory: MemoryBreakdown  # length-1 arrays: the chosen config's per-GPU memory
    warnings: tuple[str, ...]


def default_max_num_batched_tokens(gpu: GpuSpec) -> int:
    """The token budget vLLM itself would pick on this GPU when serving the OpenAI API."""
    if gpu.memory_gb >= VLLM_LARGE_GPU_MIN_GB and "a100" not in gpu.name.lower():
        return VLLM_LARGE_GPU_MAX_NUM_BATCHED_TOKENS
    return VLLM_DEFAULT_MAX_NUM_BATCHED_TOKENS


def estimate_concurrency(
    arch: ModelArchitecture, gpu: GpuSpec, workload: Workload, tensor_parallel: FloatArray, weight_dtype: Dtype
) -> FloatArray:
    """Requests in flight the deployment must hold, per candidate TP.

    A closed-loop workload states it. For an open request rate, Little's law (in flight = rate x time in system) with
    an unloaded latency: prefill at PREFILL_COMPUTE_EFFICIENCY of peak plus one weight read per output token at
    DECODE_BANDWIDTH_EFFICIENCY of HBM bandwidth, both split over TP. Queueing and batching slow-downs are ignored,
    so this is a floor; it only decides how much KV room to ask of a candidate. Neither given: one request.
    """
    if workload.concurrency is not None:
        return np.full(tensor_parallel.shape, max(1.0, float(workload.concurrency)))
    if workload.request_rate is None:
        return np.ones(tensor_parallel.shape)
    active = float(arch.active_param_count)
    step_s = active * DTYPE_BYTES[weight_dtype] / (gpu.memory_bandwidth_gbs * 1e9 * DECODE_BANDWIDTH_EFFICIENCY)
    prefill_s = 2.0 * active * workload.input_tokens / (gpu.bf16_tflops * 1e12 * PREFILL_COMPUTE_EFFICIENCY)
    latency_s = (prefill_s + workload.output_tokens * step_s) / tensor_parallel
    return np.maximum(1.0, workload.request_rate * latency_s)


def _round_max_num_seqs(allowed: int, cap: int) -> int:
    seqs = min(allowed, cap)
    if seqs >= MAX_NUM_SEQS_MULTIPLE:
        seqs -= seqs % MAX_NUM_SEQS_MULTIPLE
    return max(1, seqs)


def _validate_partial(arch: ModelArchitecture, partial: PartialConfig) -> None:
    positive = {
        "max_num_seqs": partial.max_num_seqs,
        "max_num_batched_tokens": partial.max_num_batched_tokens,
        "max_model_len": partial.max_model_len,
        "replicas": partial.replicas,
    }
    for field, value in positive.items():
        if value is not None and value < 1:
            raise InfeasibleConfigError(field, f"must be at least 1, got {value}")
    util = partial.gpu_memory_utilization
    if util is not None and not 0.0 < util <= 1.0:
        raise InfeasibleConfigError("gpu_memory_utilization", f"must be in (0, 1], got {util}")
    if partial.max_model_len is not None and partial.max_model_len > arch.max_context:
        raise InfeasibleConfigError(
            "max_model_len", f"{partial.max_model_len} exceeds the model's context of {arch.max_context} tokens"
        )
    seqs, tokens = partial.max_num_seqs, partial.max_num_batched_tokens
    if seqs is not None and tokens is not None and tokens < seqs:
        # vLLM's SchedulerConfig rejects this: a step could not give every running sequence one token.
        raise InfeasibleConfigError(
            "max_num_batched_tokens", f"{tokens} is below max_num_seqs={seqs}; each step must fit one per sequence"
        )


def _candidates(arch: ModelArchitecture, cluster: Cluster, partial: PartialConfig) -> list[tuple[int, int]]:
    """(TP, PP) pairs in order of preference: the smallest TP in a node, then PP across nodes at the largest TP."""
    tp_fixed, pp_fixed, replicas = partial.tensor_parallel, partial.pipeline_parallel, partial.replicas
    if tp_fixed is not None and pp_fixed is not None:
        check_parallelism(arch, cluster, tp_fixed, pp_fixed, replicas or 1)
        return [(tp_fixed, pp_fixed)]
    if tp_fixed is not None:
        check_parallelism(arch, cluster, tp_fixed, 1)
        tps = [tp_fixed]
    else:
        tps = valid_tensor_parallel_sizes(arch, cluster.gpus_per_node)
        if not tps:
            raise InfeasibleConfigError("tensor_parallel", "the cluster has no GPU per node")
    if pp_fixed is not None:
        check_parallelism(arch, cluster, 1, pp_fixed)
        pairs = [(tp, pp_fixed) for tp in tps]
    else:
        widest = tps[-1]
        deepest = min(arch.num_layers, cluster.total_gpus // widest)
        pairs = [(tp, 1) for tp in tps] + [(widest, pp) for pp in range(2, deepest + 1)]
    pairs = [(tp, pp) for tp, pp in pairs if tp * pp * (replicas or 1) <= cluster.total_gpus]
    if not pairs:
        field = "replicas" if replicas else "pipeline_parallel"
        raise InfeasibleConfigError(field, f"no TP x PP layout fits {cluster.total_gpus} GPUs with these fixed values")
    return pairs


def _batch(
    tp: list[int],
    pp: list[int],
    max_num_seqs: int,
    max_num_batched_tokens: int,
    utilization: float,
    max_model_len: int,
    replicas: list[int],
    weight_dtype: Dtype,
    kv_dtype: Dtype,
) -> ConfigBatch:
    n = len(tp)
    return ConfigBatch(
        tensor_parallel=np.array(tp, dtype=np.int64),
        pipeline_parallel=np.array(pp, dtype=np.int64),
        max_num_seqs=np.full(n, max_num_seqs, dtype=np.int64),
        max_num_batched_tokens=np.full(n, max_num_batched_tokens, dtype=np.int64),
        gpu_memory_utilization=np.full(n, utilization, dtype=np.float64),
        max_model_len=np.full(n, max_model_len, dtype=np.int64),
        replicas=np.array(replicas, dtype=np.int64),
        weight_dtype=np.full(n, DTYPE_CODES.index(weight_dtype), dtype=np.int64),
        kv_cache_dtype=np.full(n, DTYPE_CODES.index(kv_dtype), dtype=np.int64),
    )


def plan(
    arch: ModelArchitecture,
    cluster: Cluster,
    workload: Workload,
    partial: PartialConfig,
    default_weight_dtype: Dtype = Dtype.BF16,
) -> HeuristicPlan:
    """Choose every field `partial` leaves open; raise InfeasibleConfigError where the fixed ones cannot work.

    When nothing fits even at the largest TP x PP the cluster allows, the answer is that largest config with
    fits=False and a warning saying how many GB per GPU are missing, so the caller can show what it would take.
    """
    _validate_partial(arch, partial)
    gpu_gb = cluster.gpu.usable_memory_gb
    weight_dtype = partial.weight_dtype or default_weight_dtype
    # vLLM's kv_cache_dtype "auto" stores KV in the activation dtype, which stays 16-bit under quantized weights.
    kv_dtype = partial.kv_cache_dtype or (Dtype.FP16 if weight_dtype == Dtype.FP16 else Dtype.BF16)
    utilization = partial.gpu_memory_utilization or DEFAULT_GPU_MEMORY_UTILIZATION
    batched_tokens = partial.max_num_batched_tokens or default_max_num_batched_tokens(cluster.gpu)
    sequence = max(1, workload.input_tokens + workload.output_tokens)
    warnings: list[str] = []
    if sequence > arch.max_context:
        warnings.append(
            f"requests of {sequence} tokens (input + output) exceed the model's context of {arch.max_context}; "
            "vLLM will reject them"
        )
    fit_len = partial.max_model_len or min(sequence, arch.max_context)
    if partial.max_model_len is not None and partial.max_model_len < sequence <= arch.max_context:
        warnings.append(
            f"max_model_len {partial.max_model_len} is shorter than the workload's {sequence}-token requests; "
            "vLLM will reject them"
        )
    seqs_cap = partial.max_num_seqs or min(VLLM_DEFAULT_MAX_NUM_SEQS, batched_tokens)

    pairs = _candidates(arch, cluster, partial)
    tps = [tp for tp, _ in pairs]
    pps = [pp for _, pp in pairs]
    replicas = [partial.replicas or max(1, cluster.total_gpus // (tp * pp)) for tp, pp in pairs]

    def evaluate(index: list[int], seqs: int, length: int) -> tuple[ConfigBatch, MemoryBreakdown]:
        batch = _batch(
            [tps[i] for i in index],
            [pps[i] for i in index],
            seqs,
            batched_tokens,
            utilization,
            length,
            [replicas[i] for i in index],
            weight_dtype,
            kv_dtype,
        )
        return batch, memory_breakdown(arch, gpu_gb, batch)

    _, scan = evaluate(list(range(len(pairs))), seqs_cap, fit_len)
    in_flight = estimate_concurrency(arch, cluster.gpu, workload, np.array(tps, dtype=np.float64), weight_dtype)
    per_replica = np.minimum(np.ceil(in_flight / np.array(replicas)), seqs_cap)
    holds = scan.kv_tokens // sequence  # concurrent workload-shaped sequences each replica's cache holds
    roomy = np.flatnonzero(scan.fits & (holds >= per_replica))
    if roomy.size:
        choice = int(roomy[0])
    elif scan.fits.any():
        fleet = np.where(scan.fits, np.minimum(holds, seqs_cap) * np.array(replicas), -1)
        choice = int(np.argmax(fleet))  # first of the best: fewest GPUs per replica among equals
    else:
        choice = len(pairs) - 1
    fits = bool(scan.fits[choice])

    if partial.max_num_seqs is not None:
        max_num_seqs = partial.max_num_seqs
    elif fits:
        max_num_seqs = _round_max_num_seqs(int(holds[choice]), seqs_cap)
    else:
        max_num_seqs = 1  # report the least a single request needs
    if partial.max_model_len is not None or not fits:
        max_model_len = fit_len
    else:
        probe, _ = evaluate([choice], max_num_seqs, fit_len)
        longest = int(longest_sequence(arch, gpu_gb, probe)[0])
        aligned = longest - longest % MAX_MODEL_LEN_MULTIPLE
        max_model_len = max(min(arch.max_context, aligned), fit_len)
    final_batch, final = evaluate([choice], max_num_seqs, max_model_len)
    config = final_batch.row(0)

    if not bool(final.fits[0]):
        budget = utilization * gpu_gb
        warnings.append(
            f"does not fit even at TP={config.tensor_parallel} x PP={config.pipeline_parallel}: one {fit_len}-token "
            f"sequence needs {final.shortfall_gb[0]:.1f} GB more per GPU than the {budget:.1f} GB budget "
            f"({utilization:.2f} x {gpu_gb:g} GB {cluster.gpu.name})"
        )
    else:
        capacity = min(int(final.kv_tokens[0]) // sequence, max_num_seqs) * config.replicas
        wanted = math.ceil(float(in_flight[choice]))
        if capacity < wanted:
            warnings.append(
                f"the KV cache of {config.replicas} replica(s) holds {capacity} concurrent {sequence}-token requests; "
                f"the workload keeps about {wanted} in flight, so the rest will queue"
            )
    return HeuristicPlan(config=config, memory=final, warnings=tuple(warnings))
