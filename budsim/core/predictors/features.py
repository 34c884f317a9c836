"""Feature vectors for the residual regressor: what the analytical model was asked, and how it answered.

Features are scale-free where possible (logs, shares, ratios) so that trees split on "memory-bound decode at high
concurrency" rather than on one GPU's absolute numbers; that is what lets a correction learned on H100/B200 carry over
to a GPU never measured. Everything is vectorised over the N candidate configs of one `ConfigBatch`.

The architecture enters by its kind (MoE, MLA, active share) and through the physics' own terms, not by identity: with
parameter count, layer count, hidden size and GQA ratio the trees told the 14 measured models apart and learned
offsets per model that no other model shares (held out by model, TPOT 19.5% median error with them, 15.6% without).

Four features describe deployments that measured runs have and BudSim's own configs do not: the expert-parallel
degree, the attention data-parallel degree, FP4 weights, and FP4 weights on a GPU whose tensor cores compute in FP4
(`core.measurements` predicts such runs as plain tensor parallelism and INT4 weight-only, which is what FP4 is on
Hopper but not on Blackwell). They let the trees keep those runs' errors apart from the rest; a config BudSim generates
has them at their neutral values (1, 1, no FP4), which is what `feature_matrix` assumes unless told otherwise.

What the trees learn are service times (`regressor`), so the features describe a replica's service, never the queue in
front of it: load is the batch in service (requests beyond max_num_seqs or the KV cache wait outside and change
nothing about how fast a step runs), and TTFT is taken without the wait for a slot. A question about 2,048 clients
on a replica that holds 256 is then, to the trees, the measured runs near 256 in service, not an extrapolation of
TTFTs ten times longer than any they saw.
"""

import numpy as np

from budsim.core.architecture import ModelArchitecture
from budsim.core.deployment import Cluster, ConfigBatch, Workload
from budsim.core.perf.engines import engine_profile
from budsim.core.perf.serving import ServingMetrics
from budsim.core.types import Engine, FloatArray

ENGINES: tuple[Engine, ...] = tuple(Engine)
_EPS = 1e-9

# Requests each client sends in a fixed-length closed-loop benchmark: request count = 10 x concurrency is the usual
# genai-perf / aiperf setting and the one aiconfigurator's own queueing validation assumes
# (tools/queueing_oracle/validate_formula.py, n_mult=10). Only the first of those rounds starts as one wave.
BENCHMARK_ROUNDS = 10

# GPUs whose tensor cores run FP4 (NVFP4/MXFP4) natively: Blackwell's fifth generation. Elsewhere (Hopper and older)
# FP4 checkpoints run as 4-bit weights dequantised inside the kernel (W4A16), i.e. as `core.measurements` models them.
FP4_TENSOR_CORE_GPUS = frozenset({"B200", "B300", "GB200", "GB300"})

# The log-ratio of a benchmark's TTFT (its synchronised waves weighed in) to the steady state's, at the batch in
# service.
BENCHMARK_TTFT_FEATURE = "log_benchmark_ttft_ratio"

FEATURE_NAMES: tuple[str, ...] = (
    # architecture
    "active_fraction",
    "is_moe",
    "is_mla",
    # GPU
    "log_bandwidth_gbs",
    "log_bf16_tflops",
    "log_fp8_tflops",
    "memory_gb",
    "log_interconnect_gbs",
    # config
    "tp",
    "pp",
    "weight_bytes",
    "kv_bytes",
    # deployments measured runs have and BudSim's configs do not (1, 1, 0 for BudSim's own)
    "log2_expert_parallel",
    "log2_attention_dp",
    "fp4_weights",
    "fp4_native",
    # workload
    "log_input_tokens",
    "log_output_tokens",
    "log_batch_in_service",
    "log_waves",
    "closed_loop",
    # analytical terms
    "prefill_compute_share",
    "prefill_comm_share",
    "decode_compute_share",
    "comm_share",
    "overhead_share",
    "frontend_share",
    "log1p_kv_pressure",
    "log_running_batch",
    "batch_fill",
    "prefill_step_share",
    "log_synchronized_ttft_ratio",
    BENCHMARK_TTFT_FEATURE,
    "queue_wait_share",
    "log_ttft_ms",
    "log_tpot_ms",
    "log_tokens_per_s_per_gpu",
    # engine one-hot
    *(f"engine_{engine.value.lower()}" for engine in ENGINES),
)


def _arr(value: object, n: int) -> FloatArray:
    """Broadcast a scalar or per-candidate array to float64[N]."""
    return np.broadcast_to(np.asarray(value, dtype=np.float64).reshape(-1), (n,)).astype(np.float64)


def _log(value: FloatArray) -> FloatArray:
    return np.log(np.maximum(value, _EPS))


def _finite(value: FloatArray) -> FloatArray:
    """Infinite latencies (configs that do not fit) become NaN, which xgboost treats as missing, not as huge."""
    return np.where(np.isfinite(value), value, np.nan)


def synchronized_share(engine: Engine, closed_loop: bool) -> float:
    """Share of a benchmark's requests that arrive in a synchronised wave rather than at a random phase.

    An open loop (Poisson arrivals) has no waves. A fixed-length closed loop starts with every client's prompt at
    once. An engine that pauses decoding while it prefills (SGLang) finishes the whole wave's prefills before any of
    them decodes, so the wave's requests decode in lockstep, end in the same step and come back together: every
    round is a wave. An engine that mixes prefill chunks into decode steps (vLLM, TensorRT-LLM) lets the first-served
    prompts decode while the later ones prefill, so they end a few steps apart and the next round arrives spread
    out: only the first of the benchmark's rounds is a wave.
    """
    if not closed_loop:
        return 0.0
    return 1.0 / BENCHMARK_ROUNDS if engine_profile(engine).mixes_prefill_with_decode else 1.0


def benchmark_ttft_ms(metrics: ServingMetrics, engine: Engine, closed_loop: bool) -> FloatArray:
    """Mean TTFT a fixed-length benchmark measures: the steady state, with its synchronised waves weighed in.

    `ttft_mean_ms` is the steady state of randomly phased clients, `synchronized_ttft_ms` the mean TTFT of a wave of
    every client's prompt at once; their mix is `synchronized_share`. On the rows of data/benchmarks.csv the regressor
    trains on, the median predicted/measured TTFT of the steady state alone falls from 1.0 with the clients' prompts
    within one step's token budget to 0.2-0.5 beyond 32 budgets; with the waves weighed in it stays within 0.9-1.2 for
    TensorRT-LLM (all loads) and SGLang (up to 16 budgets), and 1.1-0.7 for vLLM, whose first-round cohorts partly
    persist. The residual left to the trees is then mostly a level, not a trend. Infinite where the config cannot
    serve.
    """
    steady = np.asarray(metrics.ttft_mean_ms, dtype=np.float64).reshape(-1)
    wave = np.asarray(metrics.synchronized_ttft_ms, dtype=np.float64).reshape(-1)
    share = synchronized_share(engine, closed_loop)
    with np.errstate(invalid="ignore"):
        extra = np.where(np.isfinite(steady), np.maximum(wave - steady, 0.0), 0.0)
    return steady + share * extra


def in_service(batch: ConfigBatch, workload: Workload, metrics: ServingMetrics) -> FloatArray:
    """Requests one replica serves at once: its share of a closed loop's clients up to its batch limit (the
    concurrency a measured run varied), or an open loop's running batch; at least one."""
    n = len(batch)
    limit = _arr(metrics.batch_limit, n)
    if workload.concurrency is not None:
        clients = float(workload.concurrency) / batch.replicas.astype(np.float64)
        return np.maximum(np.minimum(clients, limit), 1.0)
    return np.maximum(_arr(metrics.running_batch, n), 1.0)


def feature_matrix(
    arch: ModelArchitecture,
    cluster: Cluster,
    batch: ConfigBatch,
    workload: Workload,
    engine: Engine,
    metrics: ServingMetrics,
    *,
    expert_parallel: FloatArray | float = 1.0,
    attention_dp: FloatArray | float = 1.0,
    fp4_weights: FloatArray | float = 0.0,
) -> FloatArray:
    """Features [N, len(FEATURE_NAMES)] for the N configs of `batch` predicted as `metrics` under `workload`.

    `expert_parallel`, `attention_dp` and `fp4_weights` (scalars or arrays of N) describe measured runs that BudSim
    predicts as plain tensor parallelism and INT4; BudSim's own configs leave them at 1, 1 and 0.
    """
    n = len(batch)
    gpu = cluster.gpu
    params, active = float(arch.param_count), float(arch.active_param_count)
    tp = batch.tensor_parallel.astype(np.float64)
    pp = batch.pipeline_parallel.astype(np.float64)

    def m(name: str) -> FloatArray:
        return _finite(_arr(getattr(metrics, name), n))

    prefill_c, prefill_m = m("prefill_compute_ms"), m("prefill_memory_ms")
    prefill_step = np.maximum(m("prefill_step_ms"), _EPS)
    decode_c, decode_m = m("decode_compute_ms"), m("decode_memory_ms")
    decode_step = np.maximum(m("decode_step_ms"), _EPS)
    slot_wait = np.where(np.isfinite(m("slot_wait_ms")), m("slot_wait_ms"), 0.0)
    ttft, tpot = m("ttft_mean_ms") - slot_wait, m("tpot_ms")  # TTFT once a slot is free
    ttft_floor = np.maximum(ttft, _EPS)
    running, limit = m("running_batch"), m("batch_limit")
    replicas = batch.replicas.astype(np.float64)
    closed = workload.concurrency is not None
    served = in_service(batch, workload, metrics)
    budget = batch.max_num_batched_tokens.astype(np.float64)
    gpus = np.maximum(tp * pp * replicas, 1.0)
    frontend_ms = engine_profile(engine).request_overhead_s * 1e3
    # The benchmark's waves as a run at the batch in service would see them (no slot wait, as in `ttft`).
    share = synchronized_share(engine, closed)
    wave = _log(ttft_floor + share * np.maximum(m("synchronized_ttft_ms") - ttft_floor, 0.0)) - _log(ttft_floor)
    columns = [
        _arr(active / params, n),
        _arr(float(arch.moe is not None), n),
        _arr(float(arch.mla is not None), n),
        _arr(np.log(gpu.memory_bandwidth_gbs), n),
        _arr(np.log(gpu.bf16_tflops), n),
        _arr(np.log(gpu.fp8_tflops or gpu.bf16_tflops), n),
        _arr(gpu.memory_gb, n),
        _arr(np.log(cluster.intra_node_gbs), n),
        tp,
        pp,
        batch.bytes_per_weight().astype(np.float64),
        batch.bytes_per_kv_element().astype(np.float64),
        np.log2(np.maximum(_arr(expert_parallel, n), 1.0)),
        np.log2(np.maximum(_arr(attention_dp, n), 1.0)),
        _arr(fp4_weights, n),
        _arr(fp4_weights, n) * float(gpu.name in FP4_TENSOR_CORE_GPUS),
        _arr(np.log(workload.input_tokens), n),
        _arr(np.log(workload.output_tokens), n),
        np.log(served),
        np.log(served * workload.input_tokens / budget),
        _arr(float(closed), n),
        prefill_c / np.maximum(prefill_c + prefill_m, _EPS),
        m("prefill_comm_ms") / prefill_step,
        decode_c / np.maximum(decode_c + decode_m, _EPS),
        m("comm_ms") / decode_step,
        m("overhead_ms") / decode_step,
        frontend_ms / ttft_floor,
        np.log1p(np.maximum(m("kv_pressure"), 0.0)),
        _log(running),
        running / np.maximum(limit, _EPS),
        m("prefill_step_share"),
        _log(m("synchronized_ttft_ms")) - _log(ttft_floor),
        wave,
        (m("queue_wait_ms") - slot_wait) / ttft_floor,
        _log(ttft),
        _log(tpot),
        _log(m("output_tokens_per_s") / gpus),
        *(_arr(float(engine == candidate), n) for candidate in ENGINES),
    ]
    return np.column_stack(columns)
