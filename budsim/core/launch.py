"""The command that starts one replica of a recommended config, in the chosen engine's own flags.

Each engine names the same knobs differently, and two of them mean different things:

- vLLM (`vllm serve`): `--gpu-memory-utilization` is the share of the whole GPU the engine may use, which is what
  BudSim's `gpu_memory_utilization` is.
- SGLang (`python3 -m sglang.launch_server`): `--mem-fraction-static` is the share of the GPU for weights and the KV
  pool, the same budget; `--max-running-requests` is max_num_seqs, `--chunked-prefill-size` the token budget.
- TensorRT-LLM (`trtllm-serve`): `--kv_cache_free_gpu_memory_fraction` is the share of the memory left *after* weights
  and buffers that the KV cache takes, so it is derived from the memory plan (`memory_breakdown`); quantized weights
  come from a quantized checkpoint (TensorRT-LLM reads the format from it, there is no flag), and an FP8 KV cache is
  set in the LLM API options.

Flags as documented by each project: vLLM's `vllm serve --help` (EngineArgs), SGLang's ServerArgs
(python/sglang/srt/server_args.py) and TensorRT-LLM's trtllm-serve reference
(https://nvidia.github.io/TensorRT-LLM/commands/trtllm-serve.html). A trailing shell comment states how many
replicas to run and on how many GPUs each, so the line stays copy-pasteable.

Each command is built once, as a `Launch` (program, model, flags, one token each); its text here and the container
arguments of `core.artifacts` (`docker run`, Kubernetes) are both read from it, so a flag is written in one place.
SGLang starts as `python3 -m`, as its Docker image and documentation run it: `python` is absent from many hosts.
"""

from dataclasses import dataclass

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
# TensorRT-LLM takes an FP8 KV cache only in its LLM API options, a YAML file named by --extra_llm_api_options.
TRTLLM_FP8_KV_OPTIONS = "kv_cache_config: {dtype: fp8}"
PROGRAMS: dict[Engine, tuple[str, ...]] = {
    Engine.VLLM: ("vllm", "serve"),
    Engine.SGLANG: ("python3", "-m", "sglang.launch_server"),
    Engine.TRTLLM: ("trtllm-serve",),
}


@dataclass(frozen=True, slots=True)
class Launch:
    """How one replica starts: `program`, then `args` (the model and every flag, one token each, none needing a
    shell), then TensorRT-LLM's LLM API options where there are any, which the engine reads from a file."""

    engine: Engine
    program: tuple[str, ...]
    args: tuple[str, ...]
    llm_api_options: str | None  # YAML for --extra_llm_api_options; None when the defaults serve
    replicas_note: str  # how many replicas, on how many GPUs each
    cautions: tuple[str, ...]  # what to check before starting it

    @property
    def options_flag(self) -> str | None:
        """The options passed as a file by shell process substitution, as the command line writes it."""
        return f"--extra_llm_api_options <(echo '{self.llm_api_options}')" if self.llm_api_options else None

    @property
    def line(self) -> str:
        """The command without its trailing comment."""
        words = [*self.program, *self.args]
        return " ".join([*words, self.options_flag] if self.options_flag else words)

    @property
    def command(self) -> str:
        """The command line, ending in a comment with the replicas and what to check."""
        return self.line + "  # " + "; ".join([self.replicas_note, *self.cautions])


def _flags(pairs: list[tuple[str, object]]) -> tuple[str, ...]:
    return tuple(token for flag, value in pairs for token in (flag, str(value)))


def _vllm(model: str, config: ServingConfig) -> tuple[str, ...]:
    pairs: list[tuple[str, object]] = [
        ("--tensor-parallel-size", config.tensor_parallel),
        ("--pipeline-parallel-size", config.pipeline_parallel),
        ("--max-num-seqs", config.max_num_seqs),
        ("--max-num-batched-tokens", config.max_num_batched_tokens),
        ("--gpu-memory-utilization", f"{config.gpu_memory_utilization:.2f}"),
        ("--max-model-len", config.max_model_len),
        ("--dtype", DTYPE_FLAG.get(config.weight_dtype, "auto")),
    ]
    if config.weight_dtype in VLLM_QUANTIZATION:
        pairs.append(("--quantization", VLLM_QUANTIZATION[config.weight_dtype]))
    if config.kv_cache_dtype == Dtype.FP8:
        pairs.append(("--kv-cache-dtype", "fp8"))
    return (model, *_flags(pairs))


def vllm_args(model: str, config: ServingConfig) -> str:
    """The `vllm serve` command line for one replica of `config`."""
    return " ".join([*PROGRAMS[Engine.VLLM], *_vllm(model, config)])


def _sglang(model: str, config: ServingConfig) -> tuple[str, ...]:
    pairs: list[tuple[str, object]] = [
        ("--model-path", model),
        ("--tp", config.tensor_parallel),
        ("--pp-size", config.pipeline_parallel),
        ("--mem-fraction-static", f"{config.gpu_memory_utilization:.2f}"),
        ("--max-running-requests", config.max_num_seqs),
        ("--chunked-prefill-size", config.max_num_batched_tokens),
        ("--context-length", config.max_model_len),
        ("--dtype", DTYPE_FLAG.get(config.weight_dtype, "auto")),
    ]
    if config.weight_dtype in SGLANG_QUANTIZATION:
        pairs.append(("--quantization", SGLANG_QUANTIZATION[config.weight_dtype]))
    if config.kv_cache_dtype == Dtype.FP8:
        pairs.append(("--kv-cache-dtype", "fp8_e4m3"))
    return _flags(pairs)


def trtllm_kv_fraction(arch: ModelArchitecture, gpu: GpuSpec, config: ServingConfig) -> float:
    """`--kv_cache_free_gpu_memory_fraction` that gives the KV cache the memory plan's share: its GB over what the
    weights, activations and runtime leave free on the busiest GPU."""
    memory = memory_breakdown(arch, gpu.usable_memory_gb, ConfigBatch.single(config))
    free = gpu.usable_memory_gb - float(memory.weights_gb[0] + memory.activation_gb[0] + memory.overhead_gb[0])
    share = float(memory.kv_cache_gb[0]) / free if free > 0 else TRTLLM_KV_FRACTION_RANGE[0]
    low, high = TRTLLM_KV_FRACTION_RANGE
    return min(max(share, low), high)


def _trtllm(model: str, config: ServingConfig, kv_fraction: float) -> tuple[str, ...]:
    pairs: list[tuple[str, object]] = [
        ("--backend", "pytorch"),
        ("--tp_size", config.tensor_parallel),
        ("--pp_size", config.pipeline_parallel),
        ("--max_batch_size", config.max_num_seqs),
        ("--max_num_tokens", config.max_num_batched_tokens),
        ("--kv_cache_free_gpu_memory_fraction", f"{kv_fraction:.2f}"),
        ("--max_seq_len", config.max_model_len),
    ]
    return (model, *_flags(pairs))


def _replicas_note(config: ServingConfig) -> str:
    replicas = "1 replica" if config.replicas == 1 else f"{config.replicas} replicas behind a load balancer"
    gpus = config.gpus_per_replica
    return f"{replicas}, {gpus} GPU{'s' if gpus > 1 else ''} each"


def _cautions(engine: Engine, config: ServingConfig) -> tuple[str, ...]:
    if engine == Engine.TRTLLM and config.weight_dtype in (Dtype.FP8, Dtype.INT8, Dtype.INT4):
        return (f"serve a {config.weight_dtype.value} checkpoint of the model (its quantization is read from it)",)
    return ()


def launch(engine: Engine, model: str, arch: ModelArchitecture, gpu: GpuSpec, config: ServingConfig) -> Launch:
    """How one replica of `config` starts with `engine`."""
    if engine == Engine.VLLM:
        args = _vllm(model, config)
    elif engine == Engine.SGLANG:
        args = _sglang(model, config)
    else:
        args = _trtllm(model, config, trtllm_kv_fraction(arch, gpu, config))
    fp8_kv_options = engine == Engine.TRTLLM and config.kv_cache_dtype == Dtype.FP8
    return Launch(
        engine=engine,
        program=PROGRAMS[engine],
        args=args,
        llm_api_options=TRTLLM_FP8_KV_OPTIONS if fp8_kv_options else None,
        replicas_note=_replicas_note(config),
        cautions=_cautions(engine, config),
    )


def launch_command(engine: Engine, model: str, arch: ModelArchitecture, gpu: GpuSpec, config: ServingConfig) -> str:
    """The command line that starts one replica of `config` with `engine`, ending in a comment with the replicas."""
    return launch(engine, model, arch, gpu, config).command
