"""The command that starts one replica of a recommended config, in the chosen engine's own flags.

Each engine names the same knobs differently, and two of them mean different things:

- vLLM (`vllm serve`): `--gpu-memory-utilization` is the share of the whole GPU the engine may use, which is what
  BudSim's `gpu_memory_utilization` is.
- SGLang (`python -m sglang.launch_server`): `--mem-fraction-static` is the share of the GPU for weights and the KV
  pool, the same budget; `--max-running-requests` is max_num_seqs, `--chunked-prefill-size` the token budget.
- TensorRT-LLM (`trtllm-serve`): `--kv_cache_free_gpu_memory_fraction` is the share of the memory left *after* weights
  and buffers that the KV cache takes, so it is derived from the memory plan (`memory_breakdown`); quantized weights
  come from a quantized checkpoint (TensorRT-LLM reads the format from it, there is no flag), and an FP8 KV cache is
  set in the LLM API options.

Flags as documented by each project: vLLM's `vllm serve --help` (EngineArgs), SGLang's ServerArgs
(python/sglang/srt/server_args.py) and TensorRT-LLM's trtllm-serve reference
(https://nvidia.github.io/TensorRT-LLM/commands/trtllm-serve.html). A trailing shell comment states how many
replicas to run and on how many GPUs each, so the line stays copy-pasteable.
"""

from budsim.core.architecture import ModelArchitecture
from budsim.core.catalog.gpus import GpuSpec
from budsim.core.deployment import ConfigBatch, ServingConfig
from budsim.core.memory import memory_breakdown
from budsim.core.types import Dtype, Engine

# vLLM's --quantization for checkpoints BudSim's weight dtypes stand for.
VLLM_QUANTIZATION = {Dtype.FP8: "fp8", Dtype.INT4: "awq", Dtype.INT8: "compressed-tensors"}
# SGLang's --quantization: FP8 online or from an FP8 checkpoint, AWQ 4-bit weights, W8A8 integer (SmoothQuant).
SGLANG_QUANTIZATION = {Dtype.FP8: "fp8", Dtype.INT4: "awq", Dtype.INT8: "w8a8_int8"}
DTYPE_FLAG = {Dtype.BF16: "bfloat16", Dtype.FP16: "float16"}
# TensorRT-LLM accepts a KV-cache share of the free memory in (0, 1); keep a margin at both ends.
TRTLLM_KV_FRACTION_RANGE = (0.05, 0.95)


def vllm_args(model: str, config: ServingConfig) -> str:
    """The `vllm serve` command line for one replica of `config`."""
    parts = [
        f"vllm serve {model}",
        f"--tensor-parallel-size {config.tensor_parallel}",
        f"--pipeline-parallel-size {config.pipeline_parallel}",
        f"--max-num-seqs {config.max_num_seqs}",
        f"--max-num-batched-tokens {config.max_num_batched_tokens}",
        f"--gpu-memory-utilization {config.gpu_memory_utilization:.2f}",
        f"--max-model-len {config.max_model_len}",
        f"--dtype {DTYPE_FLAG.get(config.weight_dtype, 'auto')}",
    ]
    if config.weight_dtype in VLLM_QUANTIZATION:
        parts.append(f"--quantization {VLLM_QUANTIZATION[config.weight_dtype]}")
    if config.kv_cache_dtype == Dtype.FP8:
        parts.append("--kv-cache-dtype fp8")
    return " ".join(parts)


def _sglang(model: str, config: ServingConfig) -> list[str]:
    parts = [
        f"python -m sglang.launch_server --model-path {model}",
        f"--tp {config.tensor_parallel}",
        f"--pp-size {config.pipeline_parallel}",
        f"--mem-fraction-static {config.gpu_memory_utilization:.2f}",
        f"--max-running-requests {config.max_num_seqs}",
        f"--chunked-prefill-size {config.max_num_batched_tokens}",
        f"--context-length {config.max_model_len}",
        f"--dtype {DTYPE_FLAG.get(config.weight_dtype, 'auto')}",
    ]
    if config.weight_dtype in SGLANG_QUANTIZATION:
        parts.append(f"--quantization {SGLANG_QUANTIZATION[config.weight_dtype]}")
    if config.kv_cache_dtype == Dtype.FP8:
        parts.append("--kv-cache-dtype fp8_e4m3")
    return parts


def trtllm_kv_fraction(arch: ModelArchitecture, gpu: GpuSpec, config: ServingConfig) -> float:
    """`--kv_cache_free_gpu_memory_fraction` that gives the KV cache the memory plan's share: its GB over what the
    weights, activations and runtime leave free on the busiest GPU."""
    memory = memory_breakdown(arch, gpu.usable_memory_gb, ConfigBatch.single(config))
    free = gpu.usable_memory_gb - float(memory.weights_gb[0] + memory.activation_gb[0] + memory.overhead_gb[0])
    share = float(memory.kv_cache_gb[0]) / free if free > 0 else TRTLLM_KV_FRACTION_RANGE[0]
    low, high = TRTLLM_KV_FRACTION_RANGE
    return min(max(share, low), high)


def _trtllm(model: str, config: ServingConfig, kv_fraction: float) -> list[str]:
    parts = [
        f"trtllm-serve {model} --backend pytorch",
        f"--tp_size {config.tensor_parallel}",
        f"--pp_size {config.pipeline_parallel}",
        f"--max_batch_size {config.max_num_seqs}",
        f"--max_num_tokens {config.max_num_batched_tokens}",
        f"--kv_cache_free_gpu_memory_fraction {kv_fraction:.2f}",
        f"--max_seq_len {config.max_model_len}",
    ]
    if config.kv_cache_dtype == Dtype.FP8:
        parts.append("--extra_llm_api_options <(echo 'kv_cache_config: {dtype: fp8}')")
    return parts


def _notes(engine: Engine, config: ServingConfig) -> list[str]:
    replicas = "1 replica" if config.replicas == 1 else f"{config.replicas} replicas behind a load balancer"
    gpus = config.tensor_parallel * config.pipeline_parallel
    notes = [f"{replicas}, {gpus} GPU{'s' if gpus > 1 else ''} each"]
    if engine == Engine.TRTLLM and config.weight_dtype in (Dtype.FP8, Dtype.INT8, Dtype.INT4):
        notes.append(f"serve a {config.weight_dtype.value} checkpoint of the model (its quantization is read from it)")
    return notes


def launch_command(engine: Engine, model: str, arch: ModelArchitecture, gpu: GpuSpec, config: ServingConfig) -> str:
    """The command line that starts one replica of `config` with `engine`, ending in a comment with the replicas."""
    if engine == Engine.VLLM:
        parts = [vllm_args(model, config)]
    elif engine == Engine.SGLANG:
        parts = _sglang(model, config)
    else:
        parts = _trtllm(model, config, trtllm_kv_fraction(arch, gpu, config))
    return " ".join(parts) + "  # " + "; ".join(_notes(engine, config))
