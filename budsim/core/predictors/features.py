"""Feature vectors for the residual regressor: what the analytical model was asked, and how it answered.

Features are scale-free where possible (logs, shares, ratios) so that trees split on "memory-bound decode at high
concurrency" rather than on one GPU's absolute numbers; that is what lets a correction learned on H100/B200 carry over
to a GPU never measured. Everything is vectorised over the N candidate configs of one `ConfigBatch`.
"""

import numpy as np
import numpy.typing as npt

from budsim.core.architecture import ModelArchitecture
from budsim.core.deployment import Cluster, ConfigBatch, Workload
from budsim.core.perf.serving import ServingMetrics
from budsim.core.types import Engine

ENGINES: tuple[Engine, ...] = tuple(Engine)
_EPS = 1e-9

FEATURE_NAMES: tuple[str, ...] = (
    # architecture
    "log_params",
    "log_active_params",
    "active_fraction",
    "is_moe",
    "is_mla",
    "num_layers",
    "log_hidden",
    "gqa_ratio",
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
    # workload
    "log_input_tokens",
    "log_output_tokens",
    "log_concurrency",
    # analytical terms
    "prefill_compute_share",
    "decode_compute_share",
    "comm_share",
    "overhead_share",
    "log1p_kv_pressure",
    "log_running_batch",
    "batch_fill",
    "prefill_step_share",
    "sync_ttft_ratio",
    "queue_wait_share",
    "log_ttft_ms",
    "log_tpot_ms",
    "log_tokens_per_s_per_gpu",
    # engine one-hot
    *(f"engine_{engine.value.lower()}" for engine in ENGINES),
)


def _arr(value: object, n: int) -> npt.NDArray[np.float64]:
    """Broadcast a scalar or per-candidate array to float64[N]."""
    return np.broadcast_to(np.asarray(value, dtype=np.float64).reshape(-1), (n,)).astype(np.float64)


def _log(value: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.log(np.maximum(value, _EPS))


def _finite(value: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Infinite latencies (configs that do not fit) become NaN, which xgboost treats as missing, not as huge."""
    return np.where(np.isfinite(value), value, np.nan)


def feature_matrix(
    arch: ModelArchitecture,
    cluster: Cluster,
    batch: ConfigBatch,
    workload: Workload,
    engine: Engine,
    metrics: ServingMetrics,
) -> npt.NDArray[np.float64]:
    """Features [N, len(FEATURE_NAMES)] for the N configs of `batch` predicted as `metrics` under `workload`."""
    n = len(batch)
    gpu = cluster.gpu
    params, active = float(arch.param_count), float(arch.active_param_count)
    tp = batch.tensor_parallel.astype(np.float64)
    pp = batch.pipeline_parallel.astype(np.float64)

    def m(name: str) -> npt.NDArray[np.float64]:
        return _finite(_arr(getattr(metrics, name), n))

    prefill_c, prefill_m = m("prefill_compute_ms"), m("prefill_memory_ms")
    decode_c, decode_m = m("decode_compute_ms"), m("decode_memory_ms")
    decode_step = np.maximum(m("decode_step_ms"), _EPS)
    ttft, tpot = m("ttft_mean_ms"), m("tpot_ms")
    running, limit = m("running_batch"), m("batch_limit")
    replicas = batch.replicas.astype(np.float64)
    concurrency = (
        _arr(float(workload.concurrency), n)
        if workload.concurrency is not None
        else np.maximum(running * replicas, 1.0)
    )
    gpus = np.maximum(tp * pp * replicas, 1.0)
    columns = [
        _arr(np.log(params), n),
        _arr(np.log(active), n),
        _arr(active / params, n),
        _arr(float(arch.moe is not None), n),
        _arr(float(arch.mla is not None), n),
        _arr(float(arch.num_layers), n),
        _arr(np.log(arch.hidden_size), n),
        _arr(arch.num_heads / max(arch.num_kv_heads, 1), n),
        _arr(np.log(gpu.memory_bandwidth_gbs), n),
        _arr(np.log(gpu.bf16_tflops), n),
        _arr(np.log(gpu.fp8_tflops or gpu.bf16_tflops), n),
        _arr(gpu.memory_gb, n),
        _arr(np.log(cluster.intra_node_gbs), n),
        tp,
        pp,
        batch.bytes_per_weight().astype(np.float64),
        batch.bytes_per_kv_element().astype(np.float64),
        _arr(np.log(workload.input_tokens), n),
        _arr(np.log(workload.output_tokens), n),
        np.log(concurrency),
        prefill_c / np.maximum(prefill_c + prefill_m, _EPS),
        decode_c / np.maximum(decode_c + decode_m, _EPS),
        m("comm_ms") / decode_step,
        m("overhead_ms") / decode_step,
        np.log1p(np.maximum(m("kv_pressure"), 0.0)),
        _log(running),
        running / np.maximum(limit, _EPS),
        m("prefill_step_share"),
        m("synchronized_ttft_ms") / np.maximum(ttft, _EPS),
        m("queue_wait_ms") / np.maximum(ttft, _EPS),
        _log(ttft),
        _log(tpot),
        _log(m("output_tokens_per_s") / gpus),
        *(_arr(float(engine == candidate), n) for candidate in ENGINES),
    ]
    return np.column_stack(columns)
