"""Per-GPU memory of a vLLM replica: the ground the HEURISTIC method stands on.

vLLM sizes its KV cache at start-up (V1 engine, `Worker.determine_available_memory` in vllm/v1/worker/gpu_worker.py,
the successor of V0's `determine_num_available_blocks`): it takes `gpu_memory_utilization x total memory` as its
budget, loads the weights, runs one profile forward pass of `max_num_batched_tokens` tokens plus a dummy sampler run
over `max_num_seqs` sequences, measures the peak PyTorch allocation and the non-PyTorch growth (cuBLAS workspaces,
NCCL buffers), and hands everything left to the KV cache. Since v0.21 it also charges an estimate of the CUDA-graph
pool against that budget (earlier releases captured graphs after sizing the cache, out of the 1 - utilization slack).
This module reproduces that arithmetic in closed form from the architecture alone, for N candidate configs at once,
so a search can score thousands of them per generation.

Conventions: sizes are GB (10^9 bytes) per GPU. `gpu_memory_gb` is best given as the capacity the CUDA driver
reports, which is what vLLM multiplies by the utilization: an "80 GB" H100 reports 79.19 GiB = 85.0 GB. The GPU
catalog's nominal figure is smaller, so passing it makes every estimate conservative by the difference. With
pipeline parallelism each stage is a different GPU with different contents (embedding on the first, lm_head on the
last, uneven layer counts); vLLM gives every stage the same number of KV blocks, so the stage with the fewest KV
tokens bounds the replica and is the one reported.

Simplifications, each small against the 1 - utilization headroom: vocabularies are not padded to vLLM's multiples of
64; KV capacity is not rounded down to 16-token blocks; dense layers of mixture-of-experts models are assumed to come
first (true of DeepSeek's `first_k_dense_replace`); sliding-window layers are assumed spread evenly over stages;
quantized checkpoints are taken to quantize every linear layer (gpt-oss keeps attention in bf16, Meta's Llama 3.1
405B FP8 keeps attention in bf16); the CUDA context (~0.5 GB) is not charged, because vLLM takes its baseline
snapshot after creating it, so it sits in the 1 - utilization headroom as it does in vLLM.
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from budsim.core.architecture import ModelArchitecture
from budsim.core.deployment import Cluster, ConfigBatch
from budsim.core.errors import InfeasibleConfigError
from budsim.core.types import BoolArray, FloatArray, IntArray

GB = 1e9
_GIB_IN_GB = 2**30 / GB  # 1 GiB = 1.0737 GB: vLLM logs every memory figure in GiB

# Embeddings, lm_head, norms and MoE routers stay 16-bit under FP8/INT8/INT4 checkpoints (vLLM's quantization
# methods replace Linear layers; VocabParallelEmbedding and ReplicatedLinear routers keep the model dtype).
HALF_PRECISION_BYTES = 2.0
# Activations and the profile forward pass run in the model dtype (bf16/fp16) whatever the weight format.
ACTIVATION_BYTES = 2.0
# The sampler works on fp32 logits (vLLM's LogitsProcessor casts to float before sampling).
LOGIT_BYTES = 4.0
# fp32 [max_num_seqs x vocab] tensors alive at the dummy sampler run's peak: logits, probabilities, and the sorted
# values and their indices that top-p/top-k need. Calibrated on vLLM v0.19.0 / H100 (llm-d-planner accuracy report,
# docs/accuracy/vllm-v0.19.0-accuracy-report.md), where the activation peak is TP-invariant and scales with vocab at
# the H100 default max_num_seqs=1024: Llama-3.1-8B 1.89 GiB / (1024 x 128,256 x 4 B) = 3.9 copies, Qwen2.5-7B
# 2.21 GiB / (1024 x 152,064 x 4 B) = 3.8, phi-4 1.52 GiB / (1024 x 100,352 x 4 B) = 4.0. With this module's
# formula those runs come out at 2.02, 2.38 and 1.61 GiB (+6-8%), and CodeLlama-7B (small vocab, forward-bound) at
# 0.63 GiB against 0.77 GiB measured.
SAMPLER_FP32_COPIES = 4.0
# vLLM's fused MoE kernel processes at most this many tokens at a time (VLLM_FUSED_MOE_CHUNK_SIZE in vllm/envs.py,
# default 32 x 1024), so its intermediate caches stop growing beyond it.
FUSED_MOE_CHUNK_TOKENS = 32 * 1024

# Non-PyTorch memory vLLM measures during profiling with TP=1: cuBLAS/cuBLASLt workspaces, allocator and runtime
# bookkeeping. llm-d-planner's v0.19.0 runs on H100 observed 0.24-0.27 GiB (mean 0.27 GiB) at TP=1, PP=1.
NON_TORCH_BASE_GB = 0.27 * _GIB_IN_GB
# Extra non-PyTorch memory once TP > 1: NCCL communicator buffers plus vLLM's custom all-reduce IPC buffers. The same
# runs observed 2.06-2.17 GiB in total at TP=2 and TP=4 (mean 2.1 GiB), i.e. ~1.85 GiB over the TP=1 figure and
# independent of the TP degree. PP-only runs showed no such growth (0.07 GiB), so pipeline P2P is not charged.
TP_COMM_BUFFERS_GB = 1.85 * _GIB_IN_GB
# CUDA-graph pool, charged against the budget as vLLM >= 0.21 does by default (VLLM_MEMORY_PROFILER_ESTIMATE_
# CUDAGRAPHS). vLLM logs the memory of each captured size: ~6-8 MiB at 80-112 tokens, ~24-28 MiB at 416-464 tokens
# (vllm-project/vllm PR #22897 logs), i.e. a fixed cost plus a cost growing with the batch size. The two constants
# below are scaled so that the default 51 sizes up to 512 tokens cost ~1 GB, the mean of the 0.51-1.85 GiB pools
# llm-d-planner observed across 57 vLLM v0.19 runs on H100 (piecewise plus full decode graphs).
CUDA_GRAPH_GB_PER_GRAPH = 0.004
CUDA_GRAPH_GB_PER_TOKEN = 0.00008
# vLLM's default capture range: max_cudagraph_capture_size = min(2 x max_num_seqs, 512, max_num_batched_tokens), and
# the sizes are [1, 2, 4] + range(8, 256, 8) + range(256, max + 1, 16) (VllmConfig._set_cudagraph_sizes,
# vllm/config/vllm.py; CompilationConfig docstring in vllm/config/compilation.py).
CUDA_GRAPH_MAX_CAPTURE_TOKENS = 512

_UNBOUNDED = np.iinfo(np.int64).max


@dataclass(frozen=True, slots=True)
class MemoryBreakdown:
    """Per-GPU memory of N candidate configs (every field an array of length N), for the stage that binds."""

    weights_gb: FloatArray
    kv_cache_gb: FloatArray
    activation_gb: FloatArray
    overhead_gb: FloatArray
    total_gb: FloatArray
    kv_bytes_per_token: FloatArray  # one token of context, averaged over sliding-window layers at max_model_len
    kv_tokens: IntArray  # KV-cache token capacity of one replica
    max_num_seqs_allowed: IntArray  # how many max_model_len sequences the cache holds at once
    fits: BoolArray  # weights, activation and overhead fit the budget and the cache holds one max_model_len sequence
    shortfall_gb: FloatArray  # GB per GPU missing on the worst stage (0 where it fits)

    def __len__(self) -> int:
        return int(self.weights_gb.shape[0])


@dataclass(frozen=True, slots=True)
class _Stages:
    """What each pipeline stage of one architecture holds, in parameters (arrays of length pp).

    Split by how each group shards and which precision it keeps, so bytes per GPU for any TP and weight dtype are a
    few multiply-adds.
    """

    layers: FloatArray
    sliding_layers: FloatArray
    sharded: FloatArray  # quantizable linears split over TP (Column/RowParallelLinear, MoE experts)
    kv_proj: FloatArray  # k/v projections: split over min(TP, kv_heads), replicated beyond
    replicated_linear: FloatArray  # quantizable linears every TP rank holds whole (MLA's down-projections)
    replicated_half: FloatArray  # 16-bit, every rank whole: norms, MoE routers
    vocab: FloatArray  # 16-bit, split over TP: embedding (first stage), lm_head (last stage)


def pipeline_layer_counts(num_layers: int, pp: int) -> list[int]:
    """Layers per stage exactly as vLLM assigns them (get_pp_indices in vllm/distributed/utils.py).

    Every stage gets num_layers // pp; the remainder goes one each to the stages just before the last, which is
    spared because it also carries the lm_head.
    """
    counts = [num_layers // pp] * pp
    for i in range(2, num_layers % pp + 2):
        counts[-i] += 1
    return counts


def _attention_split(arch: ModelArchitecture) -> tuple[int, int, int]:
    """(TP-sharded, k/v projection, replicated) parameters of one attention layer; they sum to the architecture's."""
    total = arch.attention_params_per_layer()
    h = arch.hidden_size
    if arch.mla:
        m = arch.mla
        # vLLM's DeepSeek MLA keeps q_a_proj and kv_a_proj_with_mqa as ReplicatedLinear (fused_qkv_a_proj in newer
        # releases) and their layernorms whole on every rank; q_b/kv_b/o projections are Column/RowParallel.
        replicated = h * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank
        if m.q_lora_rank is not None:
            replicated += h * m.q_lora_rank + m.q_lora_rank
        return total - replicated, 0, replicated
    kv_dim = arch.num_kv_heads * arch.head_dim
    kv = 2 * h * kv_dim + (2 * kv_dim if arch.biased_linears else 0)
    return total - kv, kv, 0


@lru_cache(maxsize=512)
def _stages(arch: ModelArchitecture, pp: int) -> _Stages:
    counts = np.array(pipeline_layer_counts(arch.num_layers, pp), dtype=np.float64)
    ends = np.cumsum(counts)
    starts = ends - counts
    dense_layers = np.clip(np.minimum(ends, arch.num_dense_layers) - starts, 0, None)
    moe_layers = counts - dense_layers

    attn_sharded, attn_kv, attn_replicated = _attention_split(arch)
    dense_mlp = arch.mlp_params(arch.intermediate_size)
    router = arch.hidden_size * arch.moe.num_experts if arch.moe else 0
    experts = arch.moe_params_per_layer(active_only=False) - router if arch.moe else 0
    norms = 2 * arch.hidden_size

    first = np.zeros(pp)
    first[0] = 1.0
    last = np.zeros(pp)
    last[-1] = 1.0
    # Tied embeddings are one matrix when one GPU holds both ends; with PP the last stage builds its own copy
    # (vLLM's LlamaModel creates embed_tokens on the last rank too when tie_word_embeddings is set).
    lm_head = arch.embedding_params if (arch.tie_embeddings and pp > 1) else arch.lm_head_params
    return _Stages(
        layers=counts,
        sliding_layers=counts * (arch.num_sliding_layers / arch.num_layers),
        sharded=counts * attn_sharded + dense_layers * dense_mlp + moe_layers * experts,
        kv_proj=counts * attn_kv,
        replicated_linear=counts * attn_replicated,
        replicated_half=counts * norms + moe_layers * router + last * arch.hidden_size,  # + final norm
        vocab=first * arch.embedding_params + last * lm_head,
    )


def _kv_bytes_per_layer_token(arch: ModelArchitecture, tp: IntArray, kv_bytes: FloatArray) -> FloatArray:
    """Bytes one token costs in one layer's KV cache on one GPU.

    MLA caches one latent of kv_lora_rank + qk_rope_head_dim elements, shared by K and V and replicated on every TP
    rank (DeepSeek-V2 paper, Table 1: (d_c + d_h^R) l elements per token). GQA/MHA caches K and V for the GPU's share
    of KV heads; once TP exceeds the KV heads each rank still holds one (vLLM replicates them).
    """
    if arch.mla:
        return (arch.mla.kv_lora_rank + arch.mla.qk_rope_head_dim) * kv_bytes
    heads_per_gpu = -(-arch.num_kv_heads // tp)  # ceil
    return 2.0 * heads_per_gpu * arch.head_dim * kv_bytes


def _activation_gb(arch: ModelArchitecture, batch: ConfigBatch) -> FloatArray:
    """Peak PyTorch memory of vLLM's profile run: the larger of the forward pass and the dummy sampler run.

    Forward: the residual and hidden states of max_num_batched_tokens tokens plus the largest per-layer transient
    (gate/up and activation outputs of the MLP, the fused-MoE intermediate caches, or q/k/v/output of attention), each
    sharded by TP. Sampler: the final hidden states plus SAMPLER_FP32_COPIES fp32 logits tensors over the full
    vocabulary for max_num_seqs sequences, which is TP-invariant because logits are gathered before sampling.
    """
    tp = batch.tensor_parallel.astype(np.float64)
    tokens = batch.max_num_batched_tokens.astype(np.float64)
    h = arch.hidden_size
    transient = np.zeros_like(tp)
    if arch.num_dense_layers:
        transient = 3.0 * arch.intermediate_size / tp
    if arch.moe:
        moe = arch.moe
        moe_tokens = np.minimum(tokens, FUSED_MOE_CHUNK_TOKENS)
        experts = moe_tokens / tokens * moe.experts_per_token * (3.0 * moe.expert_intermediate_size / tp + h)
        shared = 3.0 * moe.shared_intermediate_size / tp
        transient = np.maximum(transient, np.maximum(experts, shared))
    if arch.mla:
        mla = arch.mla
        attention = arch.num_heads / tp * (2.0 * (mla.qk_nope_head_dim + mla.qk_rope_head_dim) + mla.v_head_dim)
    else:
        kv_heads = np.maximum(1.0, arch.num_kv_heads / tp)
        attention = 2.0 * arch.num_heads * arch.head_dim / tp + 2.0 * kv_heads * arch.head_dim
    forward = tokens * ACTIVATION_BYTES * (2.0 * h + np.maximum(transient, attention))
    sampler = tokens * h * ACTIVATION_BYTES + (
        batch.max_num_seqs * float(arch.vocab_size) * LOGIT_BYTES * SAMPLER_FP32_COPIES
    )
    peak: FloatArray = np.maximum(forward, sampler) / GB
    return peak


def cuda_graph_capture_sizes(max_num_seqs: int, max_num_batched_tokens: int) -> list[int]:
    """The decode batch sizes vLLM captures CUDA graphs for by default."""
    top = min(2 * max_num_seqs, CUDA_GRAPH_MAX_CAPTURE_TOKENS, max_num_batched_tokens)
    sizes = [s for s in (1, 2, 4) if s <= top]
    sizes += list(range(8, min(top, 255) + 1, 8)) + list(range(256, top + 1, 16))
    return sizes


def _cuda_graph_gb(batch: ConfigBatch) -> FloatArray:
    top = np.minimum(np.minimum(2 * batch.max_num_seqs, CUDA_GRAPH_MAX_CAPTURE_TOKENS), batch.max_num_batched_tokens)
    # Closed form of len() and sum() of cuda_graph_capture_sizes(), so 10,000 candidates cost no Python loop.
    small = (top >= 1).astype(np.int64) + (top >= 2) + (top >= 4)
    small_sum = 1 * (top >= 1) + 2 * (top >= 2) + 4 * (top >= 4)
    eights = np.minimum(top, 255) // 8
    sixteens = np.where(top >= 256, (top - 256) // 16 + 1, 0)
    count = small + eights + sixteens
    total = small_sum + 4 * eights * (eights + 1) + sixteens * 256 + 8 * sixteens * (sixteens - 1)
    graphs_gb: FloatArray = count * CUDA_GRAPH_GB_PER_GRAPH + total * CUDA_GRAPH_GB_PER_TOKEN
    return graphs_gb


def runtime_overhead_gb(batch: ConfigBatch) -> FloatArray:
    """Memory outside weights, activations and KV cache that vLLM charges against its budget, per GPU."""
    comm = np.where(batch.tensor_parallel > 1, TP_COMM_BUFFERS_GB, 0.0)
    return NON_TORCH_BASE_GB + comm + _cuda_graph_gb(batch)


@dataclass(frozen=True, slots=True)
class _StageMemory:
    """Per-stage arrays (rows x stages) for the candidates sharing one pipeline depth."""

    rows: IntArray
    weights_gb: FloatArray
    free_bytes: FloatArray  # budget left for KV cache on each stage
    kv_layer_bytes: FloatArray  # per row: one token in one layer
    full_layers: FloatArray  # per stage
    sliding_layers: FloatArray  # per stage


def _validate(arch: ModelArchitecture, batch: ConfigBatch) -> None:
    if not len(batch):
        return
    if batch.tensor_parallel.min() < 1:
        raise InfeasibleConfigError("tensor_parallel", "must be at least 1")
    if batch.pipeline_parallel.min() < 1:
        raise InfeasibleConfigError("pipeline_parallel", "must be at least 1")
    if batch.pipeline_parallel.max() > arch.num_layers:
        raise InfeasibleConfigError(
            "pipeline_parallel",
            f"{batch.pipeline_parallel.max()} stages exceed the model's {arch.num_layers} layers",
        )


def _stage_memory(
    arch: ModelArchitecture, gpu_memory_gb: float, batch: ConfigBatch, fixed_gb: FloatArray
) -> list[_StageMemory]:
    tp = batch.tensor_parallel.astype(np.float64)
    weight_bytes = batch.bytes_per_weight()
    kv_layer = _kv_bytes_per_layer_token(arch, batch.tensor_parallel, batch.bytes_per_kv_element())
    kv_split = np.minimum(tp, float(arch.num_kv_heads))
    spare = batch.gpu_memory_utilization * gpu_memory_gb - fixed_gb
    groups: list[_StageMemory] = []
    for depth in np.unique(batch.pipeline_parallel):
        rows = np.flatnonzero(batch.pipeline_parallel == depth)
        s = _stages(arch, int(depth))
        r_tp = tp[rows, None]
        linear = s.sharded / r_tp + s.kv_proj / kv_split[rows, None] + s.replicated_linear
        half = s.replicated_half + s.vocab / r_tp
        weights = (linear * weight_bytes[rows, None] + half * HALF_PRECISION_BYTES) / GB
        groups.append(
            _StageMemory(
                rows=rows,
                weights_gb=weights,
                free_bytes=(spare[rows, None] - weights) * GB,
                kv_layer_bytes=kv_layer[rows],
                full_layers=s.layers - s.sliding_layers,
                sliding_layers=s.sliding_layers,
            )
        )
    return groups


def memory_breakdown(arch: ModelArchitecture, gpu_memory_gb: float, batch: ConfigBatch) -> MemoryBreakdown:
    """Per-GPU memory of every candidate in `batch` on GPUs of `gpu_memory_gb` total memory.

    Raises InfeasibleConfigError when a candidate's parallelism cannot describe a replica at all (TP or PP below 1,
    more pipeline stages than layers); finer validity (heads divisible by TP) is `check_parallelism`'s job.
    """
    _validate(arch, batch)
    n = len(batch)
    activation = _activation_gb(arch, batch)
    overhead = runtime_overhead_gb(batch)
    fixed = activation + overhead
    context = np.maximum(batch.max_model_len, 1).astype(np.float64)
    window = float(arch.sliding_window or 0)
    windowed = np.minimum(context, window) if window else context

    weights = np.empty(n)
    kv_per_token = np.empty(n)
    free = np.empty(n)
    shortfall = np.empty(n)
    for g in _stage_memory(arch, gpu_memory_gb, batch, fixed):
        ctx = context[g.rows, None]
        # Bytes one max_model_len sequence takes on each stage.
        sequence = g.kv_layer_bytes[:, None] * (g.full_layers * ctx + g.sliding_layers * windowed[g.rows, None])
        per_token = sequence / ctx
        worst = np.argmin(g.free_bytes / per_token, axis=1)  # fewest KV tokens: binds the whole replica
        pick = (np.arange(g.rows.size), worst)
        weights[g.rows] = g.weights_gb[pick]
        kv_per_token[g.rows] = per_token[pick]
        free[g.rows] = g.free_bytes[pick]
        shortfall[g.rows] = np.max(sequence - g.free_bytes, axis=1) / GB

    fits = shortfall <= 0.0
    kv_cache = np.maximum(free, 0.0) / GB
    kv_tokens = np.floor(np.maximum(free, 0.0) / kv_per_token).astype(np.int64)
    return MemoryBreakdown(
        weights_gb=weights,
        kv_cache_gb=kv_cache,
        activation_gb=activation,
        overhead_gb=overhead,
        total_gb=weights + fixed + kv_cache,
        kv_bytes_per_token=kv_per_token,
        kv_tokens=kv_tokens,
        max_num_seqs_allowed=kv_tokens // np.maximum(batch.max_model_len, 1),
        fits=fits,
        shortfall_gb=np.where(fits, 0.0, shortfall),
    )


def longest_sequence(arch: ModelArchitecture, gpu_memory_gb: float, batch: ConfigBatch) -> IntArray:
    """Longest single sequence each candidate's KV cache holds on every stage: how far max_model_len can go.

    Inverts the sliding-window arithmetic: past the window only full-attention layers keep growing, so a model whose
    every layer slides is never bounded by its cache (reported as int64 max; the model's context caps it instead).
    The batch's max_model_len is ignored. 0 where the weights alone do not fit.
    """
    _validate(arch, batch)
    fixed = _activation_gb(arch, batch) + runtime_overhead_gb(batch)
    window = float(arch.sliding_window or 0)
    out = np.empty(len(batch), dtype=np.int64)
    for g in _stage_memory(arch, gpu_memory_gb, batch, fixed):
        free_tokens = np.maximum(g.free_bytes, 0.0) / g.kv_layer_bytes[:, None]  # layer-tokens each stage holds
        layers = g.full_layers + g.sliding_layers
        inside = free_tokens / layers  # sequence length if it stays within the window
        if window:
            with np.errstate(divide="ignore", invalid="ignore"):
                beyond = (free_tokens - g.sliding_layers * window) / g.full_layers
            tokens = np.where(inside <= window, inside, np.where(g.full_layers > 0, beyond, np.inf))
        else:
            tokens = inside
        shortest = np.min(tokens, axis=1)
        bounded = np.floor(np.minimum(shortest, 2.0**62)).astype(np.int64)
        out[g.rows] = np.where(np.isinf(shortest), _UNBOUNDED, bounded)
    return out


def valid_tensor_parallel_sizes(arch: ModelArchitecture, gpus_per_node: int) -> list[int]:
    """Powers of two up to one node that vLLM can shard this model over.

    vLLM splits attention heads evenly (num_heads % TP == 0) and KV heads either evenly or by replicating them when TP
    is a multiple of their count (QKVParallelLinear); MLA's latent cache has no KV heads to split. Powers of two are
    what NCCL rings and vLLM's custom all-reduce are tuned for; TP stays inside a node because all-reduce over the
    inter-node network would dominate each step.
    """
    sizes: list[int] = []
    tp = 1
    while tp <= gpus_per_node:
        kv = arch.num_kv_heads
        if arch.num_heads % tp == 0 and (arch.mla is not None or kv % tp == 0 or tp % kv == 0):
            sizes.append(tp)
        tp *= 2
    return sizes


def check_parallelism(arch: ModelArchitecture, cluster: Cluster, tp: int, pp: int, replicas: int = 1) -> None:
    """Raise InfeasibleConfigError, naming the field to fix, when no vLLM deployment could use these sizes."""
    if tp < 1:
        raise InfeasibleConfigError("tensor_parallel", f"must be at least 1, got {tp}")
    if pp < 1:
        raise InfeasibleConfigError("pipeline_parallel", f"must be at least 1, got {pp}")
    if replicas < 1:
        raise InfeasibleConfigError("replicas", f"must be at least 1, got {replicas}")
    if arch.num_heads % tp:
        raise InfeasibleConfigError(
            "tensor_parallel", f"{tp} does not divide the model's {arch.num_heads} attention heads"
        )
    kv = arch.num_kv_heads
    if not arch.mla and kv % tp and tp % kv:
        raise InfeasibleConfigError(
            "tensor_parallel",
            f"{tp} neither divides the model's {kv} KV heads nor is a multiple of them",
        )
    if tp > cluster.gpus_per_node:
        raise InfeasibleConfigError(
            "tensor_parallel",
            f"{tp} exceeds the {cluster.gpus_per_node} GPUs of one node; span nodes with pipeline parallelism",
        )
    if pp > arch.num_layers:
        raise InfeasibleConfigError("pipeline_parallel", f"{pp} stages exceed the model's {arch.num_layers} layers")
    if tp * pp > cluster.total_gpus:
        raise InfeasibleConfigError(
            "pipeline_parallel",
            f"TP {tp} x PP {pp} needs {tp * pp} GPUs per replica; the cluster has {cluster.total_gpus}",
        )
    if tp * pp * replicas > cluster.total_gpus:
        raise InfeasibleConfigError(
            "replicas",
            f"{replicas} replicas of {tp * pp} GPUs need {tp * pp * replicas}; the cluster has {cluster.total_gpus}",
        )


def gb_to_gib(gb: float) -> float:
    """For comparing with vLLM's logs, which print GiB."""
    return gb / _GIB_IN_GB


__all__ = [
    "MemoryBreakdown",
    "check_parallelism",
    "cuda_graph_capture_sizes",
    "gb_to_gib",
    "longest_sequence",
    "memory_breakdown",
    "pipeline_layer_counts",
    "runtime_overhead_gb",
    "valid_tensor_parallel_sizes",
]
