"""Specification of one engine step's time: roofline per kernel class, MoE routing, attention, TP and PP costs."""

from dataclasses import replace

import numpy as np
import pytest

from budsim.core.catalog.gpus import GPUS
from budsim.core.deployment import Cluster, ConfigBatch, ServingConfig
from budsim.core.perf.constants import MOE_KERNEL_EFFICIENCY
from budsim.core.perf.engines import engine_profile
from budsim.core.perf.step import (
    ReplicaCost,
    chunk_pairs,
    decode_load,
    decode_time,
    prefill_time,
    replica_cost,
    step_time,
    touched_experts,
)
from budsim.core.types import Dtype, Engine, Interconnect
from tests.factories import arch


def cost(
    hf_id: str,
    gpu: str = "H100-SXM",
    tp: int = 1,
    pp: int = 1,
    weights: Dtype = Dtype.BF16,
    kv: Dtype = Dtype.BF16,
    engine: Engine = Engine.VLLM,
) -> ReplicaCost:
    spec = GPUS[gpu]
    cluster = Cluster(spec, 8, 2, Interconnect.NVLINK, spec.interconnect_gbs, 100.0, spec.cost_per_hour)
    config = ServingConfig(tp, pp, 256, 8192, 0.9, 8192, 1, weights, kv)
    return replica_cost(arch(hf_id), cluster, ConfigBatch.single(config), engine_profile(engine))


def test_a_batch_one_decode_of_a_dense_model_streams_every_weight_once() -> None:
    model = arch("meta-llama/Llama-3.1-8B-Instruct")
    step = decode_time(cost("meta-llama/Llama-3.1-8B-Instruct"), 1.0, 1.0)
    # Everything but the embedding table (a gather) is read: 7.50e9 params x 2 B at 3,350 GB/s x 0.82 = 5.46 ms.
    weights_s = (model.param_count - model.embedding_params) * 2.0 / (3350e9 * 0.82)
    assert weights_s * 1e3 == pytest.approx(5.46, abs=0.01)
    assert step.memory_s[0] == pytest.approx(weights_s, rel=0.005)
    assert step.compute_s[0] < step.memory_s[0] / 100


def test_fp8_weights_halve_the_weight_bytes_a_step_reads() -> None:
    bf16 = cost("meta-llama/Llama-3.1-70B-Instruct", weights=Dtype.BF16)
    fp8 = cost("meta-llama/Llama-3.1-70B-Instruct", weights=Dtype.FP8)
    assert fp8.dense_weight_bytes[0] / bf16.dense_weight_bytes[0] == pytest.approx(0.5)
    assert fp8.lm_head_bytes[0] == bf16.lm_head_bytes[0]  # the LM head stays 16-bit


def test_decode_time_grows_with_the_kv_cache_it_reads() -> None:
    replica = cost("meta-llama/Llama-3.1-70B-Instruct", gpu="H200-SXM", tp=4, weights=Dtype.FP8)
    short, long = decode_time(replica, 32.0, 1024.0), decode_time(replica, 32.0, 8192.0)
    # 32 sequences x 7,168 more tokens x 80 layers x 2 (K, V) x 2 KV heads per GPU x 128 x 2 B at 4,800 GB/s x 0.76.
    extra = 32 * 7168 * 80 * 2 * 2 * 128 * 2 / (4800e9 * 0.76)
    assert extra * 1e3 == pytest.approx(5.15, abs=0.01)
    assert long.total_s[0] - short.total_s[0] == pytest.approx(extra, rel=0.01)


def test_prefill_is_compute_bound_and_attention_makes_it_superlinear_in_prompt_length() -> None:
    replica = cost("meta-llama/Llama-3.1-70B-Instruct", gpu="H200-SXM", weights=Dtype.FP8)
    four, eight = prefill_time(replica, 4096.0), prefill_time(replica, 8192.0)
    assert four.compute_s[0] > 5 * four.memory_s[0]
    assert 2.05 < eight.compute_s[0] / four.compute_s[0] < 2.3


def test_chunked_prefill_attends_to_the_cached_prefix_and_sliding_windows_clip_it() -> None:
    # Ten new tokens after 120 cached ones attend to positions 121..130: 1,255 pairs; with a 128-token window the
    # last two see only 128 each: 996 + 256 = 1,252.
    assert chunk_pairs(10.0, 120.0, None) == (1255.0, 1255.0)
    assert chunk_pairs(10.0, 120.0, 128.0) == (1255.0, 1252.0)


def test_sliding_window_layers_read_at_most_the_window_at_decode() -> None:
    replica = cost("openai/gpt-oss-120b", gpu="H200-SXM", weights=Dtype.INT4)
    # gpt-oss-120b: 18 full-attention and 18 sliding (128-token) layers, 8 KV heads of 64.
    assert replica.kv_bytes_per_context[0] == 18 * 2 * 8 * 64 * 2
    assert replica.kv_bytes_per_window_context[0] == 18 * 2 * 8 * 64 * 2
    far = step_time(replica, decode_load(1.0, 100_000.0, 128.0))
    near = step_time(replica, decode_load(1.0, 100_000.0, None))  # as if no layer had a window
    assert far.total_s[0] < near.total_s[0]


def test_mla_caches_one_latent_per_token_replicated_on_every_tp_rank() -> None:
    one, eight = cost("deepseek-ai/DeepSeek-V3", "H200-SXM", 1), cost("deepseek-ai/DeepSeek-V3", "H200-SXM", 8)
    # 61 layers x (kv_lora_rank 512 + rope 64) x 2 B, whatever the TP degree.
    assert one.kv_bytes_per_context[0] == eight.kv_bytes_per_context[0] == 61 * 576 * 2


def test_gqa_kv_heads_are_replicated_once_tp_exceeds_them() -> None:
    eight, sixteen = cost("meta-llama/Llama-3.1-70B-Instruct", tp=8), cost("meta-llama/Llama-3.1-70B-Instruct", tp=16)
    assert eight.kv_bytes_per_context[0] == sixteen.kv_bytes_per_context[0] == 80 * 2 * 1 * 128 * 2


def test_expected_distinct_experts_follows_the_occupancy_formula() -> None:
    assert touched_experts(128.0, 8.0, 1.0) == pytest.approx(8.0)
    assert touched_experts(128.0, 8.0, 16.0) == pytest.approx(128 * (1 - (15 / 16) ** 16))  # 82.4
    assert touched_experts(128.0, 8.0, 1000.0) == pytest.approx(128.0, rel=1e-6)


def test_moe_decode_reads_only_the_experts_its_tokens_route_to() -> None:
    # Without the per-token traffic (activations, logits, KV), the bytes that grow with the batch are the experts'.
    per_token = ("dense_act_bytes_per_token", "expert_act_bytes_per_token", "lm_head_logit_bytes_per_seq")
    replica = replace(cost("Qwen/Qwen3-30B-A3B"), **{name: 0.0 for name in per_token}, kv_bytes_per_context=0.0)
    one, full = decode_time(replica, 1.0, 1.0), decode_time(replica, 256.0, 1.0)
    all_experts_s = replica.expert_weight_bytes[0] / (replica.gemm_byte_rate[0] * MOE_KERNEL_EFFICIENCY)
    touched = (touched_experts(128.0, 8.0, 256.0) - touched_experts(128.0, 8.0, 1.0)) / 128
    assert full.memory_s[0] - one.memory_s[0] == pytest.approx(all_experts_s * touched, rel=1e-9)


def test_tensor_parallelism_adds_two_allreduces_per_layer() -> None:
    step = decode_time(cost("meta-llama/Llama-3.1-70B-Instruct", tp=4), 16.0, 1024.0)
    # 160 all-reduces of 16 tokens x 8,192 x 2 B = 262,144 B: (5.8 + 1.5 x 3) us + 2 x 3/4 x 262,144 B / (450 GB/s x
    # the efficiency of a message that size, 0.33 + 0.50 x 262,144 / (262,144 + 18e6)).
    message = 16 * 8192 * 2
    efficiency = 0.33 + 0.50 * message / (message + 18e6)
    per_allreduce = 10.3e-6 + 1.5 * message / (450e9 * efficiency)
    assert step.comm_s[0] == pytest.approx(160 * per_allreduce)
    assert decode_time(cost("meta-llama/Llama-3.1-70B-Instruct", tp=1), 16.0, 1024.0).comm_s[0] == 0.0


def test_pipeline_stages_split_the_batch_into_micro_batches_and_add_hand_offs() -> None:
    staged = cost("meta-llama/Llama-3.1-70B-Instruct", tp=4, pp=2)
    flat = cost("meta-llama/Llama-3.1-70B-Instruct", tp=4, pp=1)
    # 64 sequences over two stages: one full pass over a micro-batch of 32 and one hand-off of 32 x 8,192 x 2 B; the
    # host's time for the 32 more sequences hides behind the GPU's.
    handoff = 10e-6 + 32 * 8192 * 2 / (450e9 * 0.52)
    difference = decode_time(staged, 64.0, 1024.0).total_s[0] - decode_time(flat, 32.0, 1024.0).total_s[0]
    assert difference == pytest.approx(handoff)


def test_a_pipeline_with_fewer_sequences_than_stages_idles_in_bubbles() -> None:
    staged = cost("meta-llama/Llama-3.1-70B-Instruct", tp=2, pp=4)
    flat = cost("meta-llama/Llama-3.1-70B-Instruct", tp=2, pp=1)
    # One sequence: no micro-batching, the pass crosses all four stages and three hand-offs.
    difference = decode_time(staged, 1.0, 512.0).total_s[0] - decode_time(flat, 1.0, 512.0).total_s[0]
    assert difference == pytest.approx(3 * (10e-6 + 8192 * 2 / (450e9 * 0.52)))


def test_engine_kernel_factors_scale_kernel_time_but_not_communication() -> None:
    vllm = decode_time(cost("meta-llama/Llama-3.1-70B-Instruct", tp=2, engine=Engine.VLLM), 64.0, 2048.0)
    trt = decode_time(cost("meta-llama/Llama-3.1-70B-Instruct", tp=2, engine=Engine.TRTLLM), 64.0, 2048.0)
    assert trt.memory_s[0] / vllm.memory_s[0] == pytest.approx(0.90, rel=1e-6)
    assert trt.compute_s[0] / vllm.compute_s[0] == pytest.approx(0.90, rel=1e-6)
    assert trt.comm_s[0] == vllm.comm_s[0]


def test_every_gemm_pays_a_fixed_latency_on_top_of_its_roofline_time() -> None:
    """What makes a wide TP shard's small GEMMs slower than their bytes say (the H100 GEMM table's fit)."""
    replica = cost("meta-llama/Llama-3.1-8B-Instruct", tp=8)
    # 32 layers x 4 GEMMs (QKV, O, gate-up, down) at 3.7 us each, and the LM head's.
    assert replica.dense_latency_s[0] == pytest.approx(32 * 4 * 3.7e-6)
    assert replica.lm_head_latency_s[0] == pytest.approx(3.7e-6)
    fp8 = cost("meta-llama/Llama-3.1-8B-Instruct", tp=8, weights=Dtype.FP8)
    assert fp8.dense_latency_s[0] == pytest.approx(32 * 4 * 6.5e-6)


def test_the_host_prepares_the_next_step_while_the_gpu_runs_this_one() -> None:
    """A step takes the longer of the GPU's and the host's time, not their sum."""
    small = cost("meta-llama/Llama-3.2-1B-Instruct", tp=1)
    profile = engine_profile(Engine.VLLM)
    host = profile.step_overhead_s + 256 * profile.per_seq_overhead_s
    busy_host = decode_time(small, 256.0, 64.0)
    assert busy_host.total_s[0] >= host
    big = cost("meta-llama/Llama-3.1-70B-Instruct", tp=2)
    gpu_bound = decode_time(big, 256.0, 64.0)
    gpu = gpu_bound.total_s[0]
    assert gpu > 5 * host
    assert gpu == pytest.approx(
        decode_time(replace(big, step_overhead_s=0.0, per_seq_overhead_s=0.0), 256.0, 64.0).total_s[0]
    )


def test_a_replica_cost_row_as_floats_prices_steps_exactly_like_the_vectorised_form() -> None:
    spec = GPUS["H200-SXM"]
    cluster = Cluster(spec, 8, 1, Interconnect.NVLINK, 900.0, 100.0, 3.99)
    configs = [ServingConfig(tp, 1, 256, 8192, 0.9, 8192, 1, Dtype.FP8, Dtype.FP8) for tp in (2, 4, 8)]
    vector = replica_cost(
        arch("deepseek-ai/DeepSeek-V3"), cluster, ConfigBatch.from_configs(configs), engine_profile(Engine.SGLANG)
    )
    load = decode_load(48.0, 3000.0)
    batched = step_time(vector, load).total_s
    assert isinstance(vector.at(1).tp, float)
    assert [float(step_time(vector.at(i), load).total_s) for i in range(3)] == pytest.approx(list(np.asarray(batched)))
