"""Time of one engine step (a forward pass over a batch of prefill and decode tokens) for N candidate configs at once.

A step of a replica runs every layer once over the tokens scheduled in it. Per kernel class it costs the roofline
maximum of its FLOPs and its bytes, and the classes add up:

- dense GEMMs (attention projections, dense MLPs, shared experts, router): all weights are read once per step, FLOPs
  grow with the tokens;
- expert GEMMs: only the experts some token routed to are read; with T tokens each picking k of E experts uniformly,
  E (1 - (1 - k/E)^T) distinct experts per layer are touched;
- LM head: run only for the sequences that sample a token in the step;
- attention: prefill FLOPs grow with the context each new token attends to (causal, clipped by a sliding window);
  decode streams each sequence's whole KV cache; MLA stores one latent per token, replicated on every TP rank, and
  attends in the absorbed form at decode and the expanded (MHA) form at prefill;
- communication: two all-reduces per layer under tensor parallelism, a hand-off per pipeline boundary;
- fixed costs: every GEMM costs a fixed latency on top of its roofline time (what makes the small GEMMs of a wide
  tensor-parallel shard slower than their bytes and FLOPs say), attention no less than its launches allow, the small
  element-wise kernels a launch each;
- the host: the engine spends CPU time per step and per running sequence (scheduling, input preparation, sampling),
  and prepares the next step while the GPU runs this one (vLLM's async scheduling, SGLang's overlap scheduler,
  TensorRT-LLM's overlap scheduler), so a step takes the longer of the two, not their sum. Summed, they had made the
  model's decode steps 0-5% slower at TP 8 than at TP 1 relative to measured runs (bench/accuracy.py, by TP);
- service scales: a learned correction (`core.calibration`) multiplies the step's time, by its decode scale for the
  decode tokens' share of the step and its prefill scale for the prompt tokens' share; whatever the scales, no step
  runs faster than the hardware allows (`bounds`: its tokens at the achievable compute, one pass over the weights at
  the achievable bandwidth).

Everything per GPU of one tensor-parallel group; pipeline stages add their times (a micro-batch passes all of them),
and an iteration over `m` micro-batches of the running batch costs one full pass over a micro-batch of 1/m of it.

The coefficients that do not depend on the batch are computed once per candidate (`replica_cost`), so the same
arithmetic serves the vectorised serving model (arrays of N) and the step-by-step simulation (Python floats).
"""

from dataclasses import dataclass, fields, replace
from typing import Any, Self

import numpy as np

from budsim.core.architecture import ModelArchitecture
from budsim.core.deployment import DTYPE_CODES, Cluster, ConfigBatch
from budsim.core.perf.bounds import min_seconds_per_token, min_weight_pass_s
from budsim.core.perf.comm import (
    allreduce_latency_s,
    allreduce_seconds,
    allreduce_seconds_per_byte,
    p2p_latency_s,
    p2p_seconds_per_byte,
)
from budsim.core.perf.constants import (
    ACTIVATION_BYTES,
    ATTENTION_DECODE_BANDWIDTH_EFFICIENCY,
    ATTENTION_DECODE_COMPUTE_EFFICIENCY,
    ATTENTION_KERNEL_LATENCY_S,
    ATTENTION_PREFILL_EFFICIENCY,
    ELEMENTWISE_KERNELS_PER_LAYER,
    EXTRA_GEMM_KERNELS_PER_MLA_LAYER,
    EXTRA_KERNELS_PER_MOE_LAYER,
    GEMM_BANDWIDTH_EFFICIENCY,
    GEMM_COMPUTE_EFFICIENCY,
    GEMM_KERNEL_LATENCY_S,
    GEMM_KERNELS_PER_LAYER,
    KERNEL_LATENCY_S,
    LM_HEAD_BYTES_PER_PARAM,
    MOE_KERNEL_EFFICIENCY,
)
from budsim.core.perf.engines import EngineProfile
from budsim.core.perf.roofline import GIGA, TERA, gemm_byte_rate, gemm_flop_rate
from budsim.core.types import Dtype, FloatArray

Real = FloatArray | float  # a per-candidate array in the vectorised model, a float in the simulation

LOGIT_BYTES = 4.0  # logits are produced in FP32 for sampling


@dataclass(frozen=True, slots=True)
class ReplicaCost:
    """Batch-independent cost coefficients of one replica, per GPU of its tensor-parallel group, summed over layers.

    Field units: bytes, FLOPs, seconds; `*_rate` fields are achievable FLOP/s or bytes/s (peak x efficiency).
    """

    tp: Real
    pp: Real
    window: float  # sliding-window length of the windowed layers; 0 without any
    # dense GEMMs
    dense_weight_bytes: Real
    dense_flops_per_token: Real
    dense_act_bytes_per_token: Real
    gemm_flop_rate: Real
    gemm_byte_rate: Real
    # experts (zeros for dense models)
    num_experts: float
    experts_per_token: float
    expert_weight_bytes: Real  # all experts of all MoE layers held by one GPU
    expert_flops_per_token: Real
    expert_act_bytes_per_token: Real
    # LM head
    lm_head_bytes: Real
    lm_head_flops_per_seq: Real
    lm_head_logit_bytes_per_seq: Real
    lm_flop_rate: Real
    lm_byte_rate: Real
    # attention
    prefill_attn_flops_per_pair: Real  # full-attention layers, per (query token, context token) pair
    prefill_attn_flops_per_window_pair: Real  # sliding-window layers
    decode_attn_flops_per_context: Real
    decode_attn_flops_per_window_context: Real
    kv_bytes_per_context: Real  # KV bytes read per context token at decode, full-attention layers
    kv_bytes_per_window_context: Real
    kv_write_bytes_per_token: Real
    prefill_attn_flop_rate: Real
    decode_attn_flop_rate: Real
    attn_byte_rate: Real
    # communication
    allreduces_per_step: Real
    allreduce_latency_s: Real
    allreduce_bytes_per_token: Real  # message bytes of one all-reduce per token of the step
    allreduce_s_per_byte: Real  # at the link's full speed (`comm.allreduce_efficiency` slows it by message size)
    handoffs: Real  # pipeline boundaries a micro-batch crosses
    handoff_latency_s: Real
    handoff_s_per_token: Real
    # fixed costs: shortest time of each kernel class, and the element-wise kernels the byte counts leave out
    dense_latency_s: Real  # every dense GEMM launch's fixed time, summed (`GEMM_KERNEL_LATENCY_S`)
    expert_latency_s: Real
    lm_head_latency_s: Real
    attention_floor_s: Real
    elementwise_s: Real
    step_overhead_s: float
    per_seq_overhead_s: float
    decode_kernel_factor: float
    prefill_kernel_factor: float
    # physical floors (`bounds`): seconds per token at achievable compute, one weight pass at achievable bandwidth
    min_s_per_token: Real
    min_pass_s: Real
    # whether any candidate has more than one pipeline stage (the step then splits into micro-batches)
    pipelined: bool
    # learned service-time corrections (1.0: the analytical model's own times), and whether any is set
    decode_scale: Real = 1.0
    prefill_scale: Real = 1.0
    scaled: bool = False

    def with_scales(self, decode: Real, prefill: Real) -> Self:
        """These coefficients with learned service-time scales (arrays of N, or floats)."""
        return replace(self, decode_scale=decode, prefill_scale=prefill, scaled=True)

    def at(self, index: int) -> Self:
        """One candidate's coefficients as Python floats, for the step-by-step simulation's inner loop."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.type is not bool}
        floats: dict[str, Any] = {k: float(np.asarray(v)[index]) if np.ndim(v) else float(v) for k, v in values.items()}
        return replace(self, **floats)


@dataclass(frozen=True, slots=True)
class StepLoad:
    """What one step computes: prefill chunks and decoding sequences (floats, or arrays broadcasting with N)."""

    prefill_tokens: Real = 0.0
    prefill_pairs: Real = 0.0  # sum over the new prefill tokens of the context each attends to (incl. itself)
    prefill_window_pairs: Real = 0.0  # the same, clipped to the sliding window
    prefill_seqs: Real = 0.0  # sequences with a prefill chunk in the step
    decode_seqs: Real = 0.0
    decode_context: Real = 0.0  # sum over decoding sequences of their context length
    decode_window_context: Real = 0.0
    sampled_seqs: Real = 0.0  # sequences that sample a token this step (decodes + prefills that finish)

    @property
    def tokens(self) -> Real:
        return self.prefill_tokens + self.decode_seqs

    @property
    def seqs(self) -> Real:
        return self.prefill_seqs + self.decode_seqs

    def __add__(self, other: "StepLoad") -> "StepLoad":
        return StepLoad(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def scaled(self, share: Real) -> "StepLoad":
        return StepLoad(*(getattr(self, f.name) * share for f in fields(self)))


def chunk_pairs(tokens: Real, offset: Real, window: float | None) -> tuple[Real, Real]:
    """Attention pairs of a prefill chunk of `tokens` new tokens after `offset` cached ones: full and windowed.

    Token j (1-based position) attends to j positions, or min(j, window) in a sliding-window layer.
    """
    full = tokens * offset + tokens * (tokens + 1.0) / 2.0
    if not window:
        return full, full
    first, last = offset + 1.0, offset + tokens
    head_end = np.minimum(last, window)  # positions first..head_end see all their predecessors
    head_count = np.maximum(head_end - first + 1.0, 0.0)
    head = head_count * (first + head_end) / 2.0
    tail = (tokens - head_count) * window
    return full, head + tail


def prefill_load(
    tokens: Real, offset: Real = 0.0, window: float | None = None, seqs: Real = 1.0, sampled: Real | None = None
) -> StepLoad:
    """`seqs` prompt chunks of `tokens` tokens each (after `offset` cached ones); `sampled` of them (default all)
    finish their prompt in this step and sample their first token."""
    pairs, window_pairs = chunk_pairs(tokens, offset, window)
    return StepLoad(
        prefill_tokens=tokens * seqs,
        prefill_pairs=pairs * seqs,
        prefill_window_pairs=window_pairs * seqs,
        prefill_seqs=seqs,
        sampled_seqs=seqs if sampled is None else sampled,
    )


def decode_load(batch: Real, context: Real, window: float | None = None) -> StepLoad:
    """A step that decodes one token for `batch` sequences of mean `context` tokens (context = tokens attended)."""
    clipped = np.minimum(context, window) if window else context
    return StepLoad(
        decode_seqs=batch, decode_context=batch * context, decode_window_context=batch * clipped, sampled_seqs=batch
    )


@dataclass(frozen=True, slots=True)
class StepTime:
    """Seconds of one step, kept apart by what bounds them (features for the residual model)."""

    compute_s: Real  # sum over kernel classes of their FLOP-bound time
    memory_s: Real  # sum over kernel classes of their byte-bound time
    comm_s: Real  # all-reduces and pipeline hand-offs
    overhead_s: Real  # element-wise kernels and engine CPU time
    total_s: Real  # (sum over classes of max(compute, memory, floor) + comm + overhead) x scales, >= the hardware floor


def _per_gpu_attention_params(arch: ModelArchitecture, tp: FloatArray) -> FloatArray:
    """Attention projection weights one TP rank holds: K/V heads are replicated once TP exceeds them, and MLA's
    down-projections are replicated (vLLM's ReplicatedLinear) rather than split."""
    h = arch.hidden_size
    if arch.mla:
        m = arch.mla
        replicated = h * (m.kv_lora_rank + m.qk_rope_head_dim) + (h * m.q_lora_rank if m.q_lora_rank else 0)
        return replicated + (arch.attention_params_per_layer() - replicated) / tp
    kv_dim = arch.num_kv_heads * arch.head_dim
    q_and_o = 2.0 * h * arch.q_dim
    kv_heads_per_gpu = np.maximum(arch.num_kv_heads / tp, 1.0)
    rest = arch.attention_params_per_layer() - q_and_o - 2 * h * kv_dim  # biases
    return q_and_o / tp + 2.0 * h * arch.head_dim * kv_heads_per_gpu + rest / tp


def _attention_coefficients(arch: ModelArchitecture, tp: FloatArray, kv_bytes: FloatArray) -> dict[str, Any]:
    """ReplicaCost's attention fields, by keyword (arrays over candidates)."""
    heads = arch.num_heads / tp
    full_layers = arch.num_layers - arch.num_sliding_layers
    window_layers = arch.num_sliding_layers
    if arch.mla:
        m = arch.mla
        prefill_per_layer = 2.0 * heads * (m.qk_nope_head_dim + m.qk_rope_head_dim + m.v_head_dim)
        decode_per_layer = 2.0 * heads * (2.0 * m.kv_lora_rank + m.qk_rope_head_dim)
        kv_per_layer = (m.kv_lora_rank + m.qk_rope_head_dim) * kv_bytes  # every TP rank holds the whole latent
    else:
        prefill_per_layer = 4.0 * heads * arch.head_dim
        decode_per_layer = prefill_per_layer
        kv_per_layer = 2.0 * np.maximum(arch.num_kv_heads / tp, 1.0) * arch.head_dim * kv_bytes
    return {
        "prefill_attn_flops_per_pair": full_layers * prefill_per_layer,
        "prefill_attn_flops_per_window_pair": window_layers * prefill_per_layer,
        "decode_attn_flops_per_context": full_layers * decode_per_layer,
        "decode_attn_flops_per_window_context": window_layers * decode_per_layer,
        "kv_bytes_per_context": full_layers * kv_per_layer,
        "kv_bytes_per_window_context": window_layers * kv_per_layer,
        "kv_write_bytes_per_token": arch.num_layers * kv_per_layer,
    }


def replica_cost(arch: ModelArchitecture, cluster: Cluster, batch: ConfigBatch, engine: EngineProfile) -> ReplicaCost:
    """Cost coefficients of every candidate in `batch` serving `arch` on `cluster` with `engine`."""
    gpu = cluster.gpu
    tp = batch.tensor_parallel.astype(np.float64)
    pp = batch.pipeline_parallel.astype(np.float64)
    weight_bytes = batch.bytes_per_weight()
    kv_bytes = batch.bytes_per_kv_element()
    h = arch.hidden_size
    layers = arch.num_layers

    # Dense GEMM weights per GPU, summed over all layers (a micro-batch passes every stage).
    attention = layers * _per_gpu_attention_params(arch, tp)
    dense_mlp = arch.num_dense_layers * arch.mlp_params(arch.intermediate_size) / tp
    moe = arch.moe
    moe_layers = moe.num_moe_layers if moe else 0
    shared_width = moe.shared_intermediate_size if moe else 0
    shared = moe_layers * (arch.mlp_params(shared_width) if shared_width else 0) / tp
    router = moe_layers * h * moe.num_experts if moe else 0  # replicated, kept in 16-bit
    dense_params = attention + dense_mlp + shared
    matrices = 3.0 if arch.gated_mlp else 2.0
    attn_act = 2.0 * h + (2.0 * arch.q_dim + 2.0 * arch.num_kv_heads * arch.head_dim) / tp
    mlp_act = 2.0 * h + (matrices * arch.intermediate_size) / tp
    shared_act = (2.0 * h + matrices * shared_width / tp) if shared_width else np.zeros_like(tp)
    expert_params = arch.mlp_params(moe.expert_intermediate_size) if moe else 0
    expert_width = moe.expert_intermediate_size if moe else 0
    expert_act = (2.0 * h + matrices * expert_width / tp) * (moe.experts_per_token if moe else 0)

    vocab_h = float(arch.vocab_size * h)
    attn_bw_eff = np.array([ATTENTION_DECODE_BANDWIDTH_EFFICIENCY[d] for d in DTYPE_CODES])[batch.kv_cache_dtype]
    bandwidth = gpu.memory_bandwidth_gbs * GIGA
    bf16_rate = gpu.bf16_tflops * TERA
    replica_gpus = tp * pp
    gemm_kernels = GEMM_KERNELS_PER_LAYER + (EXTRA_GEMM_KERNELS_PER_MLA_LAYER if arch.mla else 0)
    gemm_latency = np.array([GEMM_KERNEL_LATENCY_S[d] for d in DTYPE_CODES])[batch.weight_dtype]
    moe_kernels = 2 * moe_layers  # the grouped GEMMs replace the dense MLP's gate-up and down launches
    elementwise_kernels = ELEMENTWISE_KERNELS_PER_LAYER * layers + EXTRA_KERNELS_PER_MOE_LAYER * moe_layers

    def full(value: float) -> FloatArray:
        return np.full_like(tp, value)

    return ReplicaCost(
        tp=tp,
        pp=pp,
        window=float(arch.sliding_window or 0),
        dense_weight_bytes=dense_params * weight_bytes + router * ACTIVATION_BYTES,
        dense_flops_per_token=2.0 * (dense_params + router),
        dense_act_bytes_per_token=ACTIVATION_BYTES
        * (layers * attn_act + arch.num_dense_layers * mlp_act + moe_layers * shared_act),
        gemm_flop_rate=gemm_flop_rate(gpu, batch.weight_dtype),
        gemm_byte_rate=gemm_byte_rate(gpu, batch.weight_dtype),
        num_experts=float(moe.num_experts) if moe else 1.0,
        experts_per_token=float(moe.experts_per_token) if moe else 0.0,
        expert_weight_bytes=moe_layers * (moe.num_experts if moe else 0) * expert_params * weight_bytes / tp,
        expert_flops_per_token=2.0 * moe_layers * (moe.experts_per_token if moe else 0) * expert_params / tp,
        expert_act_bytes_per_token=ACTIVATION_BYTES * moe_layers * expert_act,
        lm_head_bytes=LM_HEAD_BYTES_PER_PARAM * vocab_h / tp,
        lm_head_flops_per_seq=2.0 * vocab_h / tp,
        lm_head_logit_bytes_per_seq=LOGIT_BYTES * arch.vocab_size / tp,
        lm_flop_rate=full(bf16_rate * GEMM_COMPUTE_EFFICIENCY[Dtype.BF16]),
        lm_byte_rate=full(bandwidth * GEMM_BANDWIDTH_EFFICIENCY[Dtype.BF16]),
        **_attention_coefficients(arch, tp, kv_bytes),
        prefill_attn_flop_rate=full(bf16_rate * ATTENTION_PREFILL_EFFICIENCY),
        decode_attn_flop_rate=full(bf16_rate * ATTENTION_DECODE_COMPUTE_EFFICIENCY),
        attn_byte_rate=bandwidth * attn_bw_eff,
        allreduces_per_step=np.where(tp > 1.0, 2.0 * layers, 0.0),
        allreduce_latency_s=allreduce_latency_s(cluster, tp),
        allreduce_bytes_per_token=full(h * ACTIVATION_BYTES),
        allreduce_s_per_byte=allreduce_seconds_per_byte(cluster, tp),
        handoffs=pp - 1.0,
        handoff_latency_s=p2p_latency_s(cluster, replica_gpus),
        handoff_s_per_token=h * ACTIVATION_BYTES * p2p_seconds_per_byte(cluster, replica_gpus),
        dense_latency_s=gemm_latency * (gemm_kernels * layers - moe_kernels),
        expert_latency_s=gemm_latency * moe_kernels,
        lm_head_latency_s=full(GEMM_KERNEL_LATENCY_S[Dtype.BF16]),
        attention_floor_s=full(ATTENTION_KERNEL_LATENCY_S * layers),
        elementwise_s=full(KERNEL_LATENCY_S * elementwise_kernels),
        step_overhead_s=engine.step_overhead_s,
        per_seq_overhead_s=engine.per_seq_overhead_s,
        decode_kernel_factor=engine.decode_kernel_factor,
        prefill_kernel_factor=engine.prefill_kernel_factor,
        min_s_per_token=min_seconds_per_token(arch, gpu, batch),
        min_pass_s=min_weight_pass_s(arch, gpu, batch),
        pipelined=bool(np.any(pp > 1.0)),
    )


def touched_experts(num_experts: Real, experts_per_token: Real, tokens: Real) -> Real:
    """Expected distinct experts per MoE layer when `tokens` tokens each route to `experts_per_token` of them.

    Each expert escapes one token with probability 1 - k/E (uniform routing, the load balancing losses' goal), so it
    is touched by at least one of T tokens with probability 1 - (1 - k/E)^T: E (1 - (1 - k/E)^T) experts in all.
    """
    escape = np.log1p(-experts_per_token / num_experts)  # log(1 - k/E), so that the power is one exp per token count
    return num_experts * -np.expm1(tokens * escape)


def step_time(cost: ReplicaCost, load: StepLoad) -> StepTime:
    """Seconds of one iteration that advances every sequence in `load` by its scheduled tokens.

    With pipeline parallelism the sequences are split into m = min(pp, sequences) micro-batches; the stages work on
    different micro-batches at once, so the iteration costs one full pass (all stages, all hand-offs) of a micro-batch
    of 1/m of the load. With fewer sequences than stages the pipeline has bubbles and that is what this yields too.
    """
    # Terms that are zero for a whole batch of candidates (no pipeline, no experts, no window) are skipped: this
    # function runs ~35 times per `serving.predict` over 10,000 candidates.
    part = load.scaled(1.0 / np.maximum(np.minimum(cost.pp, load.seqs), 1.0)) if cost.pipelined else load
    tokens = part.tokens

    dense_c = cost.dense_flops_per_token * tokens / cost.gemm_flop_rate
    dense_m = (cost.dense_weight_bytes + cost.dense_act_bytes_per_token * tokens) / cost.gemm_byte_rate

    if cost.experts_per_token:
        touched = touched_experts(cost.num_experts, cost.experts_per_token, tokens) / cost.num_experts
        moe_c = cost.expert_flops_per_token * tokens / (cost.gemm_flop_rate * MOE_KERNEL_EFFICIENCY)
        moe_bytes = cost.expert_weight_bytes * touched + cost.expert_act_bytes_per_token * tokens
        moe_m = moe_bytes / (cost.gemm_byte_rate * MOE_KERNEL_EFFICIENCY)
    else:
        moe_c = moe_m = 0.0

    lm_c = cost.lm_head_flops_per_seq * part.sampled_seqs / cost.lm_flop_rate
    lm_m = (cost.lm_head_bytes + cost.lm_head_logit_bytes_per_seq * part.sampled_seqs) / cost.lm_byte_rate

    prefill_flops = cost.prefill_attn_flops_per_pair * part.prefill_pairs
    decode_flops = cost.decode_attn_flops_per_context * part.decode_context
    kv_read = cost.kv_bytes_per_context * part.decode_context
    if cost.window:
        prefill_flops = prefill_flops + cost.prefill_attn_flops_per_window_pair * part.prefill_window_pairs
        decode_flops = decode_flops + cost.decode_attn_flops_per_window_context * part.decode_window_context
        kv_read = kv_read + cost.kv_bytes_per_window_context * part.decode_window_context
    pre_c = prefill_flops / cost.prefill_attn_flop_rate
    pre_m = cost.kv_write_bytes_per_token * part.prefill_tokens / cost.attn_byte_rate
    dec_c = decode_flops / cost.decode_attn_flop_rate
    dec_m = kv_read / cost.attn_byte_rate

    # Engine kernel speed, weighted by the tokens each phase contributes to the shared GEMMs.
    prefill_share = part.prefill_tokens / np.maximum(tokens, 1e-9)
    factor = cost.prefill_kernel_factor * prefill_share + cost.decode_kernel_factor * (1.0 - prefill_share)
    attention = np.maximum(
        np.maximum(pre_c, pre_m) * cost.prefill_kernel_factor + np.maximum(dec_c, dec_m) * cost.decode_kernel_factor,
        cost.attention_floor_s,
    )
    dense = np.maximum(dense_c, dense_m) * factor + cost.dense_latency_s
    kernels = dense + np.maximum(lm_c, lm_m) * factor + cost.lm_head_latency_s + attention
    if cost.experts_per_token:
        kernels = kernels + np.maximum(moe_c, moe_m) * factor + cost.expert_latency_s

    message = cost.allreduce_bytes_per_token * tokens
    comm = cost.allreduces_per_step * allreduce_seconds(cost.allreduce_latency_s, cost.allreduce_s_per_byte, message)
    if part is not load:
        comm = comm + cost.handoffs * (cost.handoff_latency_s + cost.handoff_s_per_token * tokens)
    host = cost.step_overhead_s + cost.per_seq_overhead_s * load.seqs
    overhead = cost.elementwise_s + host
    compute = (dense_c + moe_c + lm_c) * factor + pre_c * cost.prefill_kernel_factor + dec_c * cost.decode_kernel_factor
    memory = (dense_m + moe_m + lm_m) * factor + pre_m * cost.prefill_kernel_factor + dec_m * cost.decode_kernel_factor
    total = np.maximum(kernels + comm + cost.elementwise_s, host)
    if cost.scaled:
        total = total * (cost.prefill_scale * prefill_share + cost.decode_scale * (1.0 - prefill_share))
    floor = step_floor_s(cost, load.prefill_tokens + load.sampled_seqs)
    return StepTime(
        compute_s=compute, memory_s=memory, comm_s=comm, overhead_s=overhead, total_s=np.maximum(total, floor)
    )


def step_floor_s(cost: ReplicaCost, tokens: Real) -> Real:
    """The shortest time a step of `tokens` tokens can take on this hardware: all of them at the replica's achievable
    compute, and one pass over its weights at the achievable bandwidth (`bounds`).

    `step_time` counts a step's tokens as `bounds` does a request's, prompt plus output: its prompt tokens and one per
    sequence that samples. That charges the first output token, which in fact rides on the last prompt chunk's pass,
    so the floor is a little stricter than the hardware and a request's tokens/s never exceed the stated limit.
    """
    floor: Real = np.maximum(tokens * cost.min_s_per_token, cost.min_pass_s)
    return floor


def prefill_time(cost: ReplicaCost, tokens: Real, offset: Real = 0.0) -> StepTime:
    """One step that prefills a single prompt chunk of `tokens` tokens after `offset` cached ones."""
    return step_time(cost, prefill_load(tokens, offset, cost.window or None))


def decode_time(cost: ReplicaCost, batch: Real, context: Real) -> StepTime:
    """One decode step of `batch` sequences with mean context `context`."""
    return step_time(cost, decode_load(batch, context, cost.window or None))
