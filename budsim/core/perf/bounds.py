"""Physical limits that no prediction may cross, whatever model or correction produced it.

A deployment cannot compute faster than its tensor cores, stream weights faster than its HBM, or hold more sequences
than its KV cache; a closed loop cannot complete more requests than its clients send (Little's law), nor an open loop
more than are offered. `physical_limits` states these limits for N candidate configs; the serving model keeps every
step time above `ReplicaCost`'s floors (built from the same constants), so a learned correction can speed a step up
only as far as the hardware allows, and the property tests and bench/physics.py check the limits end to end.

The achievable fractions are the ceiling a whole deployment can reach, not what a typical kernel does (that is
`constants.GEMM_*_EFFICIENCY`, which the analytical model uses and which sits below them):

- compute: 0.90 of the dense peak of the math the weight dtype uses (`roofline.dtype_peak_tflops`). In
  aiconfigurator's H100 GEMM table (vLLM 0.19, ../shared/data/kernels/h100_vllm_gemm.parquet, 35,742 shapes per dtype)
  the 99th percentile of BF16 efficiency is 0.86 and the best single shape 0.95; FP8's are 0.66 and 0.83. A serving
  step adds attention, norms and communication to its GEMMs, so a sustained 0.90 over a whole model is already
  beyond anything measured.
- memory: 0.92 of the HBM bandwidth. The same table's weight-streaming GEMMs (m <= 16) peak at 0.88 (BF16) and
  0.92 (FP8) of 3.35 TB/s; nothing reads weights faster than they do.

Counting, conservatively (every limit below is at or under what the hardware could do):
- compute: every token processed (prompt and output) costs 2 FLOPs per active non-embedding parameter
  (`ModelArchitecture.active_param_count`: routed experts only, the LM head included although prompt tokens skip it);
- decode: a decode step reads at least the active weights (routed experts only, the LM head in 16 bits) once per
  GPU, every pipeline stage in turn;
- prefill: a prompt's first token comes after its prompt's FLOPs on all TP x PP GPUs of its replica at once.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from budsim.core.architecture import ModelArchitecture
from budsim.core.catalog.gpus import GpuSpec
from budsim.core.deployment import DTYPE_CODES, ConfigBatch, Workload
from budsim.core.perf.constants import LM_HEAD_BYTES_PER_PARAM
from budsim.core.perf.engines import engine_profile
from budsim.core.perf.roofline import GIGA, TERA, dtype_peak_tflops
from budsim.core.types import Engine, FloatArray, IntArray

if TYPE_CHECKING:  # serving imports step, which prices its floors here
    from budsim.core.perf.serving import ServingMetrics

ACHIEVABLE_COMPUTE_FRACTION = 0.90
ACHIEVABLE_BANDWIDTH_FRACTION = 0.92


def peak_flop_rate(gpu: GpuSpec, weight_dtype: IntArray) -> FloatArray:
    """Dense FLOP/s per GPU of the math each candidate's weight dtype runs on (datasheet peak, no efficiency)."""
    table = np.array([dtype_peak_tflops(gpu, d) * TERA for d in DTYPE_CODES])
    return table[weight_dtype]


def flops_per_token(arch: ModelArchitecture) -> float:
    """FLOPs a token costs in the limits: 2 per active non-embedding parameter."""
    return 2.0 * float(arch.active_param_count)


def active_weight_bytes(arch: ModelArchitecture, batch: ConfigBatch) -> FloatArray:
    """Bytes of the weights one token must read: the active layers at the weight dtype, the LM head in 16 bits."""
    layers = float(arch.active_param_count - arch.lm_head_params)
    return layers * batch.bytes_per_weight() + float(arch.lm_head_params) * LM_HEAD_BYTES_PER_PARAM


def min_seconds_per_token(arch: ModelArchitecture, gpu: GpuSpec, batch: ConfigBatch) -> FloatArray:
    """Seconds a replica needs per token it processes, at the achievable compute of all its TP x PP GPUs."""
    gpus = (batch.tensor_parallel * batch.pipeline_parallel).astype(np.float64)
    rate = peak_flop_rate(gpu, batch.weight_dtype) * ACHIEVABLE_COMPUTE_FRACTION * gpus
    seconds: FloatArray = flops_per_token(arch) / rate
    return seconds


def min_weight_pass_s(arch: ModelArchitecture, gpu: GpuSpec, batch: ConfigBatch) -> FloatArray:
    """Seconds one pass over the weights takes at the achievable bandwidth: each stage's TP shard, stage after stage."""
    bandwidth = gpu.memory_bandwidth_gbs * GIGA * ACHIEVABLE_BANDWIDTH_FRACTION
    seconds: FloatArray = active_weight_bytes(arch, batch) / batch.tensor_parallel.astype(np.float64) / bandwidth
    return seconds


@dataclass(frozen=True, slots=True)
class PhysicalLimits:
    """What the hardware allows each of N candidates, whole deployment (all replicas) for rates."""

    max_total_tokens_per_s: FloatArray  # compute: prompt plus output tokens per second
    min_tpot_ms: FloatArray  # decode: one weight pass per output token
    min_ttft_ms: FloatArray  # prefill: the prompt's FLOPs on all of a replica's GPUs
    max_running_batch: FloatArray  # per replica: max_num_seqs, and the requests the KV cache holds
    max_requests_per_s: FloatArray  # offered rate (open loop), or +inf (closed loop: Little's law is checked apart)


def physical_limits(
    arch: ModelArchitecture,
    gpu: GpuSpec,
    batch: ConfigBatch,
    workload: Workload,
    engine: Engine,
    kv_tokens: IntArray | FloatArray,
) -> PhysicalLimits:
    """The limits of every candidate in `batch` serving `workload`; `kv_tokens` is each replica's KV capacity.

    KV: a running request holds its prompt plus the share of its output its engine keeps (`EngineProfile.
    kv_reserved_output_fraction`: reserved at admission, or grown on average), and never fewer than one request runs.
    """
    per_token = min_seconds_per_token(arch, gpu, batch)
    replicas = batch.replicas.astype(np.float64)
    held = workload.input_tokens + engine_profile(engine).kv_reserved_output_fraction * workload.output_tokens
    kv_requests = np.maximum(np.floor(np.asarray(kv_tokens, dtype=np.float64) / held), 1.0)
    offered = np.inf if workload.request_rate is None else float(workload.request_rate)
    return PhysicalLimits(
        max_total_tokens_per_s=replicas / per_token,
        min_tpot_ms=min_weight_pass_s(arch, gpu, batch) * 1e3,
        min_ttft_ms=workload.input_tokens * per_token * 1e3,
        max_running_batch=np.minimum(batch.max_num_seqs.astype(np.float64), kv_requests),
        max_requests_per_s=np.full(len(batch), offered),
    )


def bound_ratios(
    limits: PhysicalLimits,
    metrics: "ServingMetrics",
    workload: Workload,
) -> dict[str, FloatArray]:
    """How close each of N predictions comes to each limit: at most 1 where it holds (bench/physics.py reports them).

    compute: total tokens/s over the compute limit; decode: the TPOT floor over TPOT; prefill: the TTFT floor over the
    smallest of TTFT mean, p50 and p99; kv: requests in service over what the cache and max_num_seqs hold; rate: an
    open loop's completions over the offered rate; little: a closed loop's completions x mean request latency over its
    clients, as 1 + the relative gap either way.
    """
    n = len(limits.min_tpot_ms)

    def column(name: str) -> FloatArray:
        return np.broadcast_to(np.asarray(getattr(metrics, name), dtype=np.float64).reshape(-1), (n,))

    ttft = np.minimum(np.minimum(column("ttft_mean_ms"), column("ttft_p50_ms")), column("ttft_p99_ms"))
    rate = column("requests_per_s")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = {
            "compute": column("total_tokens_per_s") / limits.max_total_tokens_per_s,
            "decode": np.where(np.isfinite(column("tpot_ms")), limits.min_tpot_ms / column("tpot_ms"), 0.0),
            "prefill": np.where(np.isfinite(ttft), limits.min_ttft_ms / ttft, 0.0),
            "kv": column("running_batch") / limits.max_running_batch,
        }
        if workload.request_rate is not None:
            ratios["rate"] = rate / workload.request_rate
        else:
            e2e = column("e2e_mean_ms")
            gap = np.abs(rate * e2e / 1e3 / float(workload.concurrency or 0) - 1.0)
            ratios["little"] = np.where(np.isfinite(e2e), 1.0 + gap, 0.0)
    return ratios
