"""Specification of the launch commands (`core.launch`): each engine's own flags for one replica of a config."""

import shlex

import pytest

from budsim.core.catalog.gpus import GPUS
from budsim.core.deployment import ConfigBatch, ServingConfig
from budsim.core.launch import launch_command, trtllm_kv_fraction, vllm_args
from budsim.core.memory import memory_breakdown
from budsim.core.types import Dtype, Engine
from tests import factories

LLAMA_70B = "meta-llama/Llama-3.1-70B-Instruct"
H100 = GPUS["H100-SXM"]
CONFIG = ServingConfig(
    tensor_parallel=4,
    pipeline_parallel=2,
    max_num_seqs=128,
    max_num_batched_tokens=8192,
    gpu_memory_utilization=0.9,
    max_model_len=16384,
    replicas=3,
    weight_dtype=Dtype.FP8,
    kv_cache_dtype=Dtype.FP8,
)


def _flags(command: str) -> dict[str, str]:
    """Flag -> value of a command line (the trailing comment left out)."""
    words = shlex.split(command.split("  # ")[0])
    return {word: words[i + 1] for i, word in enumerate(words[:-1]) if word.startswith("--")}


def test_vllm_gets_its_own_flags_for_every_knob_of_the_config() -> None:
    command = launch_command(Engine.VLLM, LLAMA_70B, factories.arch(LLAMA_70B), H100, CONFIG)
    assert command.startswith(f"vllm serve {LLAMA_70B} ")
    assert command.split("  # ")[0] == vllm_args(LLAMA_70B, CONFIG)
    assert _flags(command) == {
        "--tensor-parallel-size": "4",
        "--pipeline-parallel-size": "2",
        "--max-num-seqs": "128",
        "--max-num-batched-tokens": "8192",
        "--gpu-memory-utilization": "0.90",
        "--max-model-len": "16384",
        "--dtype": "auto",
        "--quantization": "fp8",
        "--kv-cache-dtype": "fp8",
    }


def test_sglang_gets_its_server_args_not_vllms() -> None:
    command = launch_command(Engine.SGLANG, LLAMA_70B, factories.arch(LLAMA_70B), H100, CONFIG)
    assert command.startswith(f"python3 -m sglang.launch_server --model-path {LLAMA_70B} ")
    assert _flags(command) == {
        "--model-path": LLAMA_70B,
        "--tp": "4",
        "--pp-size": "2",
        "--mem-fraction-static": "0.90",
        "--max-running-requests": "128",
        "--chunked-prefill-size": "8192",
        "--context-length": "16384",
        "--dtype": "auto",
        "--quantization": "fp8",
        "--kv-cache-dtype": "fp8_e4m3",
    }


def test_trtllm_gets_trtllm_serve_flags_and_a_kv_share_of_the_free_memory() -> None:
    arch = factories.arch(LLAMA_70B)
    command = launch_command(Engine.TRTLLM, LLAMA_70B, arch, H100, CONFIG)
    assert command.startswith(f"trtllm-serve {LLAMA_70B} --backend pytorch ")
    flags = _flags(command)
    assert {k: v for k, v in flags.items() if k != "--kv_cache_free_gpu_memory_fraction"} == {
        "--backend": "pytorch",
        "--tp_size": "4",
        "--pp_size": "2",
        "--max_batch_size": "128",
        "--max_num_tokens": "8192",
        "--max_seq_len": "16384",
        "--extra_llm_api_options": "<(echo",
    }
    assert "kv_cache_config: {dtype: fp8}" in command
    # TensorRT-LLM sizes its cache as a share of what weights and buffers leave free, not of the whole GPU.
    memory = memory_breakdown(arch, H100.usable_memory_gb, ConfigBatch.single(CONFIG))
    free = H100.usable_memory_gb - float(memory.weights_gb[0] + memory.activation_gb[0] + memory.overhead_gb[0])
    assert trtllm_kv_fraction(arch, H100, CONFIG) == pytest.approx(float(memory.kv_cache_gb[0]) / free)
    assert float(flags["--kv_cache_free_gpu_memory_fraction"]) == pytest.approx(
        trtllm_kv_fraction(arch, H100, CONFIG), abs=0.005
    )
    assert "serve a FP8 checkpoint" in command


@pytest.mark.parametrize("engine", list(Engine))
def test_every_command_states_the_replicas_and_their_gpus(engine: Engine) -> None:
    command = launch_command(engine, LLAMA_70B, factories.arch(LLAMA_70B), H100, CONFIG)
    assert command.split("  # ")[1].startswith("3 replicas behind a load balancer, 8 GPUs each")


def test_a_bf16_config_names_its_dtype_and_asks_for_no_quantization() -> None:
    plain = ServingConfig(8, 1, 256, 8192, 0.9, 8192, 1, Dtype.BF16, Dtype.BF16)
    for engine in (Engine.VLLM, Engine.SGLANG):
        flags = _flags(launch_command(engine, LLAMA_70B, factories.arch(LLAMA_70B), H100, plain))
        assert flags["--dtype"] == "bfloat16"
        assert "--quantization" not in flags
        assert "--kv-cache-dtype" not in flags
    trtllm = launch_command(Engine.TRTLLM, LLAMA_70B, factories.arch(LLAMA_70B), H100, plain)
    assert "extra_llm_api_options" not in trtllm
    assert trtllm.endswith("# 1 replica, 8 GPUs each")
