"""Specification of the HEURISTIC method: what it chooses, what it respects, and how it says no."""

import re

import numpy as np
import pytest

from budsim.core.catalog.gpus import find_gpu
from budsim.core.deployment import Workload
from budsim.core.errors import InfeasibleConfigError
from budsim.core.heuristic import (
    DECODE_BANDWIDTH_EFFICIENCY,
    PREFILL_COMPUTE_EFFICIENCY,
    PartialConfig,
    default_max_num_batched_tokens,
    estimate_concurrency,
    plan,
)
from budsim.core.memory import valid_tensor_parallel_sizes
from budsim.core.types import Dtype
from tests.factories import arch, cluster

CHAT = Workload(input_tokens=1000, output_tokens=500, concurrency=32)


# ---------------------------------------------------------------- what it chooses


def test_a_model_that_fits_one_gpu_gets_tp1_and_one_replica_per_gpu() -> None:
    result = plan(arch("meta-llama/Llama-3.1-8B-Instruct"), cluster(), CHAT, PartialConfig())
    c = result.config
    assert (c.tensor_parallel, c.pipeline_parallel, c.replicas) == (1, 1, 8)
    assert (c.gpu_memory_utilization, c.weight_dtype, c.kv_cache_dtype) == (0.90, Dtype.BF16, Dtype.BF16)
    assert bool(result.memory.fits[0])
    assert result.warnings == ()


def test_llama31_70b_bf16_gets_the_smallest_tp_whose_kv_cache_holds_the_workload() -> None:
    # TP=1 cannot hold 141 GB; TP=2 leaves at most ~1.7 GB per GPU for KV, short of 16 requests of 3,000 tokens
    # (16 x 3,000 x 163,840 bytes = 7.9 GB) on each of 4 replicas; TP=4 holds them.
    heavy = Workload(input_tokens=2000, output_tokens=1000, concurrency=64)
    result = plan(arch("meta-llama/Llama-3.1-70B-Instruct"), cluster(), heavy, PartialConfig())
    assert (result.config.tensor_parallel, result.config.pipeline_parallel, result.config.replicas) == (4, 1, 2)
    assert bool(result.memory.fits[0])


def test_the_chosen_tp_is_a_power_of_two_dividing_the_heads() -> None:
    # Qwen2.5-72B has 64 heads and 8 KV heads; Qwen2.5-7B's 28 heads rule out TP=8.
    for hf_id in ("Qwen/Qwen2.5-72B-Instruct", "Qwen/Qwen2.5-7B-Instruct", "google/gemma-2-27b-it"):
        model = arch(hf_id)
        tp = plan(model, cluster(), CHAT, PartialConfig()).config.tensor_parallel
        assert tp in valid_tensor_parallel_sizes(model, 8)
        assert model.num_heads % tp == 0


def test_llama31_405b_bf16_spans_two_h100_nodes_with_pipeline_parallelism() -> None:
    # 811.7 GB of weights: a node of 8 x 72 GB budgets is not enough; TP=8 inside each node, PP=2 across them.
    result = plan(arch("meta-llama/Llama-3.1-405B-Instruct"), cluster(nodes=2), CHAT, PartialConfig())
    assert (result.config.tensor_parallel, result.config.pipeline_parallel, result.config.replicas) == (8, 2, 1)
    assert bool(result.memory.fits[0])


def test_llama31_405b_fp8_fits_inside_one_h200_node() -> None:
    result = plan(arch("meta-llama/Llama-3.1-405B-Instruct"), cluster("H200-SXM"), CHAT, PartialConfig(), Dtype.FP8)
    c = result.config
    assert c.pipeline_parallel == 1
    assert c.tensor_parallel * c.replicas <= 8
    assert (c.weight_dtype, c.kv_cache_dtype) == (Dtype.FP8, Dtype.BF16)  # vLLM "auto" KV stays 16-bit
    assert bool(result.memory.fits[0])


def test_max_num_seqs_is_vllms_256_when_the_cache_allows_more() -> None:
    result = plan(arch("meta-llama/Llama-3.1-8B-Instruct"), cluster(), CHAT, PartialConfig())
    assert result.config.max_num_seqs == 256
    assert result.memory.kv_tokens[0] // 1500 > 256


def test_max_num_seqs_is_what_the_cache_holds_rounded_down_to_a_multiple_of_8() -> None:
    # Llama-3.1-405B FP8 on one H100 node: ~17 GB of KV per GPU at 32,256 bytes per token.
    result = plan(arch("meta-llama/Llama-3.1-405B-Instruct"), cluster(), CHAT, PartialConfig(), Dtype.FP8)
    seqs = result.config.max_num_seqs
    holds = int(result.memory.kv_tokens[0]) // 1500
    assert seqs % 8 == 0
    assert holds - 8 < seqs <= holds < 256


def test_max_model_len_is_the_model_context_when_the_cache_holds_it() -> None:
    result = plan(arch("meta-llama/Llama-3.1-8B-Instruct"), cluster(), CHAT, PartialConfig())
    assert result.config.max_model_len == 131_072


def test_max_model_len_shrinks_to_what_the_cache_holds_in_whole_16_token_blocks() -> None:
    # Llama-3.1-70B pinned to TP=4, PP=1 at utilization 0.5: of a 40 GB budget, weights take 35.3 GB and activation
    # plus overhead 4 GB, leaving ~0.7 GB of KV at 81,920 bytes per token.
    result = plan(
        arch("meta-llama/Llama-3.1-70B-Instruct"),
        cluster(),
        CHAT,
        PartialConfig(tensor_parallel=4, pipeline_parallel=1, gpu_memory_utilization=0.5),
    )
    length = result.config.max_model_len
    assert 1500 <= length < 131_072
    assert length % 16 == 0
    assert length <= result.memory.kv_tokens[0] < length + 16
    assert bool(result.memory.fits[0])


def test_max_num_batched_tokens_is_vllms_chunked_prefill_default_for_the_gpu() -> None:
    # vLLM EngineArgs.get_batch_defaults (OpenAI server): 8192 on >= 70 GiB GPUs other than A100, else 2048.
    expected = {"H100-SXM": 8192, "H200-SXM": 8192, "MI300X": 8192, "A100-80GB-SXM": 2048, "L40S": 2048, "L4": 2048}
    for name, tokens in expected.items():
        gpu = find_gpu(name)
        assert gpu is not None
        assert default_max_num_batched_tokens(gpu) == tokens, name
    result = plan(arch("meta-llama/Llama-3.1-8B-Instruct"), cluster("L40S"), CHAT, PartialConfig())
    assert result.config.max_num_batched_tokens == 2048


def test_request_rate_becomes_concurrency_by_littles_law() -> None:
    # Llama-3.1-8B bf16 on H100 at TP=1 touches 7.50B parameters per token (all but the embedding table, of which a
    # token reads one row): decode step 15.0 GB / (3,350 GB/s x 0.7) = 6.40 ms; prefill of 1,000 tokens
    # 2 x 7.50e9 x 1000 / (989 TFLOPS x 0.5) = 30.4 ms; 500 outputs -> 3.23 s in system; 10 req/s -> 32.3 in flight.
    gpu = find_gpu("H100-SXM")
    assert gpu is not None
    model = arch("meta-llama/Llama-3.1-8B-Instruct")
    step = model.active_param_count * 2 / (3350e9 * DECODE_BANDWIDTH_EFFICIENCY)
    prefill = 2 * model.active_param_count * 1000 / (989e12 * PREFILL_COMPUTE_EFFICIENCY)
    workload = Workload(input_tokens=1000, output_tokens=500, request_rate=10.0)
    in_flight = estimate_concurrency(model, gpu, workload, np.array([1.0, 2.0]), Dtype.BF16)
    assert in_flight[0] == pytest.approx(10 * (prefill + 500 * step))
    assert in_flight[0] == pytest.approx(32.3, abs=0.1)
    assert in_flight[1] == pytest.approx(in_flight[0] / 2)


def test_the_last_resort_for_a_workload_the_cache_cannot_hold_is_the_config_that_holds_most_and_a_warning() -> None:
    # 2,000 concurrent 8k-token requests of Llama-3.1-8B on one L4: it fits, but the cache holds a handful.
    crowd = Workload(input_tokens=7000, output_tokens=1000, concurrency=2000)
    result = plan(arch("meta-llama/Llama-3.1-8B-Instruct"), cluster("L4", 1, 1), crowd, PartialConfig())
    assert bool(result.memory.fits[0])
    assert len(result.warnings) == 1
    assert re.search(
        r"holds \d+ concurrent 8000-token requests; the workload keeps about 2000 in flight", result.warnings[0]
    )


# ---------------------------------------------------------------- what it respects


def test_every_fixed_field_is_taken_as_given() -> None:
    fixed = PartialConfig(
        tensor_parallel=2,
        pipeline_parallel=1,
        max_num_seqs=64,
        max_num_batched_tokens=4096,
        gpu_memory_utilization=0.85,
        max_model_len=16_384,
        replicas=3,
        weight_dtype=Dtype.FP8,
        kv_cache_dtype=Dtype.FP8,
    )
    c = plan(arch("meta-llama/Llama-3.1-8B-Instruct"), cluster(), CHAT, fixed).config
    assert (c.tensor_parallel, c.pipeline_parallel, c.max_num_seqs, c.max_num_batched_tokens) == (2, 1, 64, 4096)
    assert (c.gpu_memory_utilization, c.max_model_len, c.replicas) == (0.85, 16_384, 3)
    assert (c.weight_dtype, c.kv_cache_dtype) == (Dtype.FP8, Dtype.FP8)


def test_a_fixed_tp_that_is_too_small_gets_pipeline_stages_rather_than_a_larger_tp() -> None:
    # Llama-3.1-70B pinned to TP=2 on two H100 nodes: 70.6 GB of weights per GPU leave too little KV room for 64
    # requests of 2,560 tokens, so PP grows instead.
    busy = Workload(input_tokens=2048, output_tokens=512, concurrency=64)
    c = plan(arch("meta-llama/Llama-3.1-70B-Instruct"), cluster(nodes=2), busy, PartialConfig(tensor_parallel=2)).config
    assert c.tensor_parallel == 2
    assert c.pipeline_parallel >= 2


def test_a_fixed_tp_is_kept_even_when_a_smaller_one_would_fit() -> None:
    c = plan(arch("meta-llama/Llama-3.1-8B-Instruct"), cluster(), CHAT, PartialConfig(tensor_parallel=4)).config
    assert (c.tensor_parallel, c.pipeline_parallel, c.replicas) == (4, 1, 2)


def test_fixed_replicas_limit_the_layouts_considered() -> None:
    # Three replicas of Llama-3.1-70B on 8 GPUs leave at most 2 GPUs each: TP=2, whatever its KV room.
    c = plan(arch("meta-llama/Llama-3.1-70B-Instruct"), cluster(), CHAT, PartialConfig(replicas=3)).config
    assert (c.tensor_parallel, c.pipeline_parallel, c.replicas) == (2, 1, 3)


def test_the_weight_dtype_defaults_to_the_callers_choice() -> None:
    c = plan(arch("deepseek-ai/DeepSeek-V3"), cluster("H200-SXM"), CHAT, PartialConfig(), Dtype.FP8).config
    assert (c.weight_dtype, c.tensor_parallel, c.pipeline_parallel) == (Dtype.FP8, 8, 1)


# ---------------------------------------------------------------- how it says no


def test_a_model_too_big_for_the_cluster_returns_its_largest_config_unfit_with_the_gb_shortfall() -> None:
    # Llama-3.1-405B bf16 on one node of 8 H100s: 101.5 GB of weights per GPU at TP=8 against a 76.5 GB budget
    # (0.90 of the 85.0 GB an "80GB" H100 lets an engine allocate).
    result = plan(arch("meta-llama/Llama-3.1-405B-Instruct"), cluster(), CHAT, PartialConfig())
    c = result.config
    assert (c.tensor_parallel, c.pipeline_parallel, c.replicas) == (8, 1, 1)
    assert not bool(result.memory.fits[0])
    assert len(result.warnings) == 1
    match = re.search(r"needs (\d+\.\d) GB more per GPU than the 76\.5 GB budget", result.warnings[0])
    assert match is not None
    assert float(match.group(1)) == pytest.approx(result.memory.shortfall_gb[0], abs=0.05)
    assert result.memory.shortfall_gb[0] > 25.0  # at least the weights' excess


@pytest.mark.parametrize(
    ("partial", "field"),
    [
        (PartialConfig(tensor_parallel=3), "tensor_parallel"),  # 3 does not divide 64 heads
        (PartialConfig(tensor_parallel=16), "tensor_parallel"),  # one node has 8 GPUs
        (PartialConfig(pipeline_parallel=81), "pipeline_parallel"),  # 80 layers
        (PartialConfig(tensor_parallel=8, pipeline_parallel=2), "pipeline_parallel"),  # 16 GPUs on 8
        (PartialConfig(tensor_parallel=4, replicas=3), "replicas"),  # 12 GPUs on 8
        (PartialConfig(replicas=9), "replicas"),
        (PartialConfig(replicas=0), "replicas"),
        (PartialConfig(gpu_memory_utilization=1.2), "gpu_memory_utilization"),
        (PartialConfig(max_model_len=200_000), "max_model_len"),  # context is 131,072
        (PartialConfig(max_num_seqs=512, max_num_batched_tokens=256), "max_num_batched_tokens"),
    ],
)
def test_impossible_fixed_fields_raise_naming_the_field(partial: PartialConfig, field: str) -> None:
    with pytest.raises(InfeasibleConfigError) as error:
        plan(arch("meta-llama/Llama-3.1-70B-Instruct"), cluster(), CHAT, partial)
    assert error.value.field == field


def test_a_workload_longer_than_the_model_context_is_warned_about() -> None:
    # Llama-2-7B's context is 4,096 tokens.
    long = Workload(input_tokens=6000, output_tokens=1000, concurrency=1)
    result = plan(arch("meta-llama/Llama-2-7b-hf"), cluster(), long, PartialConfig())
    assert result.config.max_model_len == 4096
    assert any("exceed the model's context of 4096" in w for w in result.warnings)


# ---------------------------------------------------------------- speed
