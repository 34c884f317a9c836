"""Specification of the per-GPU memory model, pinned to public figures.

Unless a test says otherwise, configs use vLLM's defaults (utilization 0.90) with max_num_seqs=256 and
max_num_batched_tokens=8192. Where a test compares with what vLLM measured on an H100 it uses the capacity vLLM
itself sees, 79.19 GiB (its log line "total_gpu_memory (79.19GiB)"), rather than the catalog's nominal 80 GB.
"""

from typing import Any

import numpy as np
import pytest

from budsim.core.architecture import ModelArchitecture, parse_hf_config
from budsim.core.catalog.gpus import find_gpu
from budsim.core.catalog.models import CATALOG_MODELS
from budsim.core.deployment import Cluster, ConfigBatch, ServingConfig
from budsim.core.errors import InfeasibleConfigError
from budsim.core.memory import (
    TP_COMM_BUFFERS_GB,
    MemoryBreakdown,
    check_parallelism,
    cuda_graph_capture_sizes,
    gb_to_gib,
    longest_sequence,
    memory_breakdown,
    pipeline_layer_counts,
    valid_tensor_parallel_sizes,
)
from budsim.core.types import Dtype, Interconnect
from tests.factories import arch

H100_GB = 80.0  # catalog figure
H100_AS_VLLM_SEES_IT_GB = 79.19 * 2**30 / 1e9  # 85.03 GB
H200_GB = 141.0
GIB = 2**30 / 1e9

# Mistral-7B-v0.1 is the Mistral release whose every layer uses a 4,096-token sliding window (v0.2+ dropped it).
# https://huggingface.co/mistralai/Mistral-7B-v0.1/blob/main/config.json
MISTRAL_7B_V01: dict[str, Any] = {
    "model_type": "mistral",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "max_position_embeddings": 32768,
    "sliding_window": 4096,
    "tie_word_embeddings": False,
    "vocab_size": 32000,
}


def config(
    tp: int = 1,
    pp: int = 1,
    max_num_seqs: int = 256,
    max_num_batched_tokens: int = 8192,
    utilization: float = 0.90,
    max_model_len: int = 8192,
    weights: Dtype = Dtype.BF16,
    kv: Dtype = Dtype.BF16,
) -> ServingConfig:
    return ServingConfig(tp, pp, max_num_seqs, max_num_batched_tokens, utilization, max_model_len, 1, weights, kv)


def one(model: ModelArchitecture, gpu_gb: float, serving: ServingConfig) -> MemoryBreakdown:
    return memory_breakdown(model, gpu_gb, ConfigBatch.single(serving))


def h100_cluster(nodes: int = 1) -> Cluster:
    gpu = find_gpu("H100-SXM")
    assert gpu is not None
    return Cluster(gpu, 8, nodes, Interconnect.NVLINK, 900.0, 50.0, gpu.cost_per_hour)


# ---------------------------------------------------------------- weights


def test_llama31_8b_bf16_weights_are_8_03b_params_times_two_bytes() -> None:
    # 8.03B parameters (Hugging Face safetensors metadata) x 2 bytes.
    memory = one(arch("meta-llama/Llama-3.1-8B-Instruct"), H100_GB, config())
    assert memory.weights_gb[0] == pytest.approx(16.06, abs=0.01)


def test_tensor_parallel_shards_every_layer_and_the_vocabulary() -> None:
    # vLLM v0.19 on H100 logged 7.51 GiB at TP=2 and 3.77 GiB at TP=4 for Llama-3.1-8B (llm-d-planner accuracy
    # report, docs/accuracy/vllm-v0.19.0-accuracy-report.md): 8.06 and 4.05 GB.
    llama = arch("meta-llama/Llama-3.1-8B-Instruct")
    tp2 = one(llama, H100_GB, config(tp=2)).weights_gb[0]
    tp4 = one(llama, H100_GB, config(tp=4)).weights_gb[0]
    assert tp2 == pytest.approx(8.03, abs=0.01)
    assert tp4 == pytest.approx(4.02, abs=0.01)
    assert tp2 == pytest.approx(7.51 * GIB, rel=0.01)
    assert tp4 == pytest.approx(3.77 * GIB, rel=0.01)


def test_fp8_quantizes_linear_layers_but_embeddings_and_lm_head_stay_16_bit() -> None:
    # Llama-3.1-8B: 2 x 128,256 x 4,096 = 1.05B vocabulary parameters stay bf16, the other 6.98B take 1 byte:
    # 6.98 + 2.10 = 9.08 GB. vLLM v0.19 with --quantization fp8 logged 8.49 GiB = 9.12 GB (llm-d-planner report).
    memory = one(arch("meta-llama/Llama-3.1-8B-Instruct"), H100_GB, config(weights=Dtype.FP8))
    assert memory.weights_gb[0] == pytest.approx(9.08, abs=0.01)
    assert memory.weights_gb[0] == pytest.approx(8.49 * GIB, rel=0.01)


def test_int4_weights_cost_a_quarter_plus_group_scales() -> None:
    # AWQ/GPTQ: 4 bits + one fp16 scale and 4-bit zero per 128 weights = 0.5195 bytes per linear weight.
    memory = one(arch("meta-llama/Llama-3.1-70B-Instruct"), H100_GB, config(weights=Dtype.INT4))
    vocab_gb = 2 * 128_256 * 8_192 * 2 / 1e9
    linear_gb = (70.554 - 2 * 128_256 * 8_192 / 1e9) * (0.5 + 2.5 / 128)
    assert memory.weights_gb[0] == pytest.approx(vocab_gb + linear_gb, rel=0.001)


def test_moe_experts_are_sharded_over_tensor_parallel_ranks() -> None:
    # Mixtral-8x7B: 46.7B parameters, all experts resident; TP=2 halves everything (vocabulary included).
    mixtral = arch("mistralai/Mixtral-8x7B-Instruct-v0.1")
    tp1 = one(mixtral, H100_GB, config()).weights_gb[0]
    tp2 = one(mixtral, H100_GB, config(tp=2)).weights_gb[0]
    assert tp1 == pytest.approx(93.41, abs=0.01)
    assert tp2 == pytest.approx(tp1 / 2, rel=0.001)


def test_mla_down_projections_are_replicated_so_deepseek_v3_tp8_holds_more_than_an_eighth() -> None:
    # DeepSeek-V3 FP8 at TP=8: 671B / 8 = 83.9 GB if everything sharded; the q_a/kv_a projections (7,168 x 2,112 per
    # layer x 61 layers = 0.92B) stay whole on every rank and the 2 x 0.93B vocabulary parameters stay bf16.
    memory = one(arch("deepseek-ai/DeepSeek-V3"), H200_GB, config(tp=8, weights=Dtype.FP8))
    assert memory.weights_gb[0] == pytest.approx(85.12, abs=0.05)


def test_pipeline_stages_get_layers_the_way_vllm_splits_them() -> None:
    # vllm/distributed/utils.py get_pp_indices: the remainder goes to the stages before the last.
    assert pipeline_layer_counts(32, 2) == [16, 16]
    assert pipeline_layer_counts(32, 3) == [11, 11, 10]
    assert pipeline_layer_counts(126, 4) == [31, 32, 32, 31]
    assert pipeline_layer_counts(61, 1) == [61]


def test_pipeline_parallel_reports_the_stage_holding_embedding_or_lm_head() -> None:
    # Llama-3.1-8B PP=2: 16 layers (3.49B) plus one 0.53B vocabulary matrix per stage = 8.03 GB. vLLM v0.19 logged
    # 7.51 GiB = 8.06 GB (llm-d-planner report).
    memory = one(arch("meta-llama/Llama-3.1-8B-Instruct"), H100_GB, config(pp=2))
    assert memory.weights_gb[0] == pytest.approx(8.03, abs=0.01)
    assert memory.weights_gb[0] == pytest.approx(7.51 * GIB, rel=0.01)


def test_tied_embeddings_are_stored_once_without_pipeline_but_on_both_end_stages_with_it() -> None:
    # Llama-3.2-1B ties lm_head to the embedding (262.7M parameters): one copy at PP=1; at PP=2 the last stage
    # builds its own (vLLM creates embed_tokens on the last rank too when tie_word_embeddings is set).
    small = arch("meta-llama/Llama-3.2-1B-Instruct")
    assert one(small, H100_GB, config()).weights_gb[0] == pytest.approx(1.236 * 2, abs=0.01)
    vocab_gb = 128_256 * 2_048 * 2 / 1e9
    layers_gb = 1.236 * 2 - vocab_gb
    assert one(small, H100_GB, config(pp=2)).weights_gb[0] == pytest.approx(layers_gb / 2 + vocab_gb, abs=0.01)


@pytest.mark.parametrize("model", CATALOG_MODELS, ids=lambda m: m.hf_id)
def test_every_catalog_model_weighs_its_published_parameters_times_two_bytes(model: Any) -> None:
    memory = one(parse_hf_config(model.config), H200_GB, config())
    assert memory.weights_gb[0] == pytest.approx(model.published_params_b * 2, rel=0.02)


# ---------------------------------------------------------------- KV cache per token


def test_llama31_8b_kv_is_131072_bytes_per_token_in_bf16() -> None:
    # 32 layers x 8 KV heads x 128 dims x 2 (K and V) x 2 bytes.
    memory = one(arch("meta-llama/Llama-3.1-8B-Instruct"), H100_GB, config())
    assert memory.kv_bytes_per_token[0] == 131_072


def test_llama31_70b_kv_is_327680_bytes_per_token_in_bf16() -> None:
    # 80 layers x 8 KV heads x 128 dims x 2 x 2 bytes.
    memory = one(arch("meta-llama/Llama-3.1-70B-Instruct"), H200_GB, config())
    assert memory.kv_bytes_per_token[0] == 327_680


def test_deepseek_v3_mla_caches_70272_bytes_per_token_on_every_tp_rank() -> None:
    # DeepSeek-V2 paper (arXiv:2405.04434), Table 1: MLA caches (d_c + d_h^R) l elements per token:
    # (512 + 64) x 61 layers x 2 bytes. The latent is not split by heads, so TP does not shrink it.
    deepseek = arch("deepseek-ai/DeepSeek-V3")
    batch = ConfigBatch.from_configs([config(tp=1, weights=Dtype.FP8), config(tp=8, weights=Dtype.FP8)])
    memory = memory_breakdown(deepseek, H200_GB, batch)
    assert memory.kv_bytes_per_token.tolist() == [70_272, 70_272]


def test_fp8_kv_cache_halves_bytes_per_token_and_doubles_token_capacity() -> None:
    # vLLM v0.19 on H100: Llama-3.1-8B held 476,016 tokens with bf16 KV and 952,032 with fp8 KV (llm-d-planner).
    llama = arch("meta-llama/Llama-3.1-8B-Instruct")
    memory = memory_breakdown(llama, H100_GB, ConfigBatch.from_configs([config(), config(kv=Dtype.FP8)]))
    assert memory.kv_bytes_per_token.tolist() == [131_072, 65_536]
    assert memory.kv_cache_gb[0] == memory.kv_cache_gb[1]
    assert memory.kv_tokens[1] == pytest.approx(2 * memory.kv_tokens[0], abs=1)


def test_tp8_splits_eight_kv_heads_but_replicates_four_beyond_tp4() -> None:
    # Llama-3.1-8B has 8 KV heads: TP=8 leaves one per GPU (131,072 / 8). Qwen3-30B-A3B has 4: at TP=8 each pair of
    # ranks holds a copy of the same head, so per-GPU KV stops shrinking after TP=4 (48 layers x 1 x 128 x 2 x 2).
    llama = arch("meta-llama/Llama-3.1-8B-Instruct")
    assert one(llama, H100_GB, config(tp=8)).kv_bytes_per_token[0] == 16_384
    qwen = arch("Qwen/Qwen3-30B-A3B")
    by_tp = memory_breakdown(qwen, H100_GB, ConfigBatch.from_configs([config(tp=t) for t in (1, 2, 4, 8)]))
    assert by_tp.kv_bytes_per_token.tolist() == [98_304, 49_152, 24_576, 24_576]


def test_pipeline_stage_caches_only_its_own_layers() -> None:
    memory = one(arch("meta-llama/Llama-3.1-8B-Instruct"), H100_GB, config(pp=2))
    assert memory.kv_bytes_per_token[0] == 131_072 / 2


def test_mistral_7b_v01_sliding_window_holds_at_most_4096_tokens_per_sequence() -> None:
    # Every layer attends over the last 4,096 tokens only, so a 32,768-token sequence caches 4,096 of them: averaged
    # over the sequence it costs an eighth of the 131,072 bytes per token a full-attention layer stack would.
    mistral = parse_hf_config(MISTRAL_7B_V01)
    batch = ConfigBatch.from_configs([config(max_model_len=4096), config(max_model_len=32768)])
    memory = memory_breakdown(mistral, H100_GB, batch)
    assert memory.kv_bytes_per_token.tolist() == [131_072, 16_384]
    assert memory.max_num_seqs_allowed[0] == memory.max_num_seqs_allowed[1]
    assert longest_sequence(mistral, H100_GB, batch).tolist() == [np.iinfo(np.int64).max] * 2


def test_gemma2_alternating_window_caps_only_its_sliding_layers() -> None:
    # Gemma-2-9B: 42 layers, half with a 4,096-token window, 8 KV heads x 256 dims. At 8,192 tokens the sliding
    # half holds 4,096: per token 2 x 8 x 256 x 2 bytes x (21 + 21 x 4096 / 8192) = 258,048 bytes.
    gemma = arch("google/gemma-2-9b-it")
    batch = ConfigBatch.from_configs([config(max_model_len=4096), config(max_model_len=8192)])
    memory = memory_breakdown(gemma, H100_GB, batch)
    assert memory.kv_bytes_per_token.tolist() == [344_064, 258_048]


# ---------------------------------------------------------------- budget, activation, overhead


def test_kv_pool_of_llama31_8b_on_h100_is_within_3_percent_of_what_vllm_allocates() -> None:
    # vLLM v0.19 on H100 at utilization 0.95 with its H100 defaults (max_num_seqs 1024, 8192 batched tokens) held
    # 476,016 tokens (llm-d-planner report). v0.19 captured CUDA graphs outside the budget; this model charges them
    # as vLLM >= 0.21 does (~1 GB), so it lands ~2% lower.
    memory = one(
        arch("meta-llama/Llama-3.1-8B-Instruct"),
        H100_AS_VLLM_SEES_IT_GB,
        config(max_num_seqs=1024, utilization=0.95),
    )
    assert memory.kv_tokens[0] == pytest.approx(476_016, rel=0.03)
    assert memory.kv_tokens[0] < 476_016


def test_activation_peak_is_the_sampler_run_over_max_num_seqs_and_tp_invariant() -> None:
    # vLLM v0.19's profile run peaked at 1.89 GiB for Llama-3.1-8B at TP=1, 2 and 4 (max_num_seqs 1024): the dummy
    # sampler's fp32 [1024 x 128,256] logits dominate and are gathered to full vocabulary on every rank.
    llama = arch("meta-llama/Llama-3.1-8B-Instruct")
    batch = ConfigBatch.from_configs([config(tp=t, max_num_seqs=1024) for t in (1, 2, 4)])
    activation = memory_breakdown(llama, H100_GB, batch).activation_gb
    assert gb_to_gib(activation[0]) == pytest.approx(1.89, rel=0.10)
    assert activation.tolist() == [activation[0]] * 3


def test_activation_of_a_long_prefill_chunk_is_the_forward_pass_and_shrinks_with_tp() -> None:
    # 8,192 tokens x 2 bytes x (2 x 4,096 residual/hidden + 3 x 14,336 gate/up/act) = 0.839 GB at TP=1.
    llama = arch("meta-llama/Llama-3.1-8B-Instruct")
    batch = ConfigBatch.from_configs([config(max_num_seqs=8), config(tp=2, max_num_seqs=8)])
    activation = memory_breakdown(llama, H100_GB, batch).activation_gb
    assert activation[0] == pytest.approx(0.839, abs=0.001)
    assert activation[1] < activation[0]


def test_tensor_parallel_adds_nccl_and_all_reduce_buffers_to_the_overhead() -> None:
    llama = arch("meta-llama/Llama-3.1-8B-Instruct")
    overhead = memory_breakdown(llama, H100_GB, ConfigBatch.from_configs([config(), config(tp=2)])).overhead_gb
    assert overhead[1] - overhead[0] == pytest.approx(TP_COMM_BUFFERS_GB)
    assert gb_to_gib(overhead[1] - overhead[0]) == pytest.approx(1.85)


def test_cuda_graph_sizes_follow_vllm_defaults_and_their_memory_grows_with_max_num_seqs() -> None:
    sizes = cuda_graph_capture_sizes(256, 8192)  # capture up to min(2 x 256, 512) tokens
    assert (len(sizes), sizes[:5], sizes[-3:]) == (51, [1, 2, 4, 8, 16], [480, 496, 512])
    assert cuda_graph_capture_sizes(8, 8192) == [1, 2, 4, 8, 16]
    assert cuda_graph_capture_sizes(256, 128)[-1] == 128  # never beyond max_num_batched_tokens
    llama = arch("meta-llama/Llama-3.1-8B-Instruct")
    batch = ConfigBatch.from_configs([config(max_num_seqs=s, max_num_batched_tokens=8192) for s in (8, 64, 256)])
    overhead = memory_breakdown(llama, H100_GB, batch).overhead_gb
    assert overhead[0] < overhead[1] < overhead[2]
    assert overhead[2] - overhead[0] == pytest.approx(1.02, abs=0.01)  # ~1 GB for the 51 default graphs


def test_budget_is_utilization_times_memory_and_the_kv_cache_gets_the_rest() -> None:
    memory = one(arch("meta-llama/Llama-3.1-8B-Instruct"), H100_GB, config())
    parts = memory.weights_gb + memory.activation_gb + memory.overhead_gb + memory.kv_cache_gb
    assert memory.total_gb[0] == pytest.approx(72.0)
    assert parts[0] == pytest.approx(72.0)
    assert memory.kv_tokens[0] == int(memory.kv_cache_gb[0] * 1e9 // 131_072)
    assert memory.max_num_seqs_allowed[0] == memory.kv_tokens[0] // 8192


# ---------------------------------------------------------------- fits


def test_llama31_70b_bf16_does_not_fit_one_80gb_h100() -> None:
    # 70.55B x 2 bytes = 141.1 GB of weights against a 72 GB budget.
    memory = one(arch("meta-llama/Llama-3.1-70B-Instruct"), H100_GB, config())
    assert not memory.fits[0]
    assert memory.kv_tokens[0] == 0
    one_sequence_gb = 8192 * 327_680 / 1e9
    needed = 141.11 + memory.activation_gb[0] + memory.overhead_gb[0] + one_sequence_gb
    assert memory.shortfall_gb[0] == pytest.approx(needed - 72.0, abs=0.01)


def test_llama31_70b_bf16_fits_two_h100s_only_with_a_short_context_and_four_with_the_full_one() -> None:
    # TP=2 leaves 70.56 GB of weights per GPU: of the 76.5 GB budget vLLM sees, ~1.7 GB remain for KV (~10k tokens
    # at 163,840 bytes each), so 8k fits and the model's 131,072 does not; TP=4 holds the full context.
    llama = arch("meta-llama/Llama-3.1-70B-Instruct")
    batch = ConfigBatch.from_configs(
        [config(tp=2), config(tp=2, max_model_len=131_072), config(tp=4, max_model_len=131_072)]
    )
    memory = memory_breakdown(llama, H100_AS_VLLM_SEES_IT_GB, batch)
    assert memory.fits.tolist() == [True, False, True]
    assert memory.weights_gb[0] == pytest.approx(70.56, abs=0.01)
    assert 8192 <= memory.kv_tokens[0] < 131_072
    missing = 131_072 * 163_840 / 1e9 - memory.kv_cache_gb[1]
    assert memory.shortfall_gb.tolist() == pytest.approx([0.0, missing, 0.0])


def test_llama31_405b_bf16_needs_two_h100_nodes_or_fp8_or_an_h200_node() -> None:
    # 405.9B x 2 bytes / 8 = 101.5 GB per GPU: over one H100 node's 72 GB budget; PP=2 over two nodes halves it.
    # FP8 (Meta's own 405B release targets one 8-GPU node) or a node of 141 GB H200s also fit.
    llama = arch("meta-llama/Llama-3.1-405B-Instruct")
    on_h100 = memory_breakdown(
        llama, H100_GB, ConfigBatch.from_configs([config(tp=8), config(tp=8, pp=2), config(tp=8, weights=Dtype.FP8)])
    )
    assert on_h100.fits.tolist() == [False, True, True]
    assert on_h100.weights_gb.tolist() == pytest.approx([101.47, 50.73, 51.26], abs=0.01)
    assert one(llama, H200_GB, config(tp=8)).fits[0]


def test_shortfall_is_zero_exactly_where_it_fits() -> None:
    llama = arch("meta-llama/Llama-3.1-70B-Instruct")
    batch = ConfigBatch.from_configs([config(tp=t, max_model_len=131_072) for t in (1, 2, 4, 8)])
    memory = memory_breakdown(llama, H100_GB, batch)
    assert memory.fits.tolist() == [False, False, True, True]
    assert (memory.shortfall_gb > 0).tolist() == [True, True, False, False]


def test_longest_sequence_is_the_kv_capacity_for_full_attention_models() -> None:
    llama = arch("meta-llama/Llama-3.1-70B-Instruct")
    batch = ConfigBatch.from_configs([config(tp=2), config(tp=4)])
    memory = memory_breakdown(llama, H100_AS_VLLM_SEES_IT_GB, batch)
    assert longest_sequence(llama, H100_AS_VLLM_SEES_IT_GB, batch).tolist() == memory.kv_tokens.tolist()


def test_a_batch_scores_each_candidate_as_if_alone() -> None:
    llama = arch("meta-llama/Llama-3.1-70B-Instruct")
    configs = [config(tp=t, pp=p, weights=w) for t in (2, 4, 8) for p in (1, 2, 3) for w in (Dtype.BF16, Dtype.FP8)]
    together = memory_breakdown(llama, H100_GB, ConfigBatch.from_configs(configs))
    for i, c in enumerate(configs):
        alone = one(llama, H100_GB, c)
        assert (together.weights_gb[i], together.kv_tokens[i], together.fits[i]) == (
            alone.weights_gb[0],
            alone.kv_tokens[0],
            alone.fits[0],
        )


# ---------------------------------------------------------------- parallelism rules


def test_valid_tp_sizes_are_powers_of_two_in_a_node_dividing_heads_and_kv_heads_or_replicating_them() -> None:
    assert valid_tensor_parallel_sizes(arch("meta-llama/Llama-3.1-8B-Instruct"), 8) == [1, 2, 4, 8]
    assert valid_tensor_parallel_sizes(arch("meta-llama/Llama-3.1-8B-Instruct"), 4) == [1, 2, 4]
    assert valid_tensor_parallel_sizes(arch("Qwen/Qwen2.5-7B-Instruct"), 8) == [1, 2, 4]  # 28 heads
    assert valid_tensor_parallel_sizes(arch("Qwen/Qwen3-30B-A3B"), 8) == [1, 2, 4, 8]  # 8 replicates 4 KV heads
    assert valid_tensor_parallel_sizes(arch("google/gemma-2-9b-it"), 32) == [1, 2, 4, 8, 16]  # 16 heads


def test_check_parallelism_accepts_a_deployable_layout() -> None:
    check_parallelism(arch("meta-llama/Llama-3.1-405B-Instruct"), h100_cluster(nodes=2), 8, 2, 1)


@pytest.mark.parametrize(
    ("tp", "pp", "replicas", "nodes", "field"),
    [
        (3, 1, 1, 1, "tensor_parallel"),  # 3 does not divide 64 heads
        (16, 1, 1, 2, "tensor_parallel"),  # beyond one 8-GPU node
        (0, 1, 1, 1, "tensor_parallel"),
        (8, 81, 1, 11, "pipeline_parallel"),  # 80 layers
        (8, 2, 1, 1, "pipeline_parallel"),  # 16 GPUs per replica on an 8-GPU cluster
        (4, 1, 3, 1, "replicas"),  # 3 x 4 GPUs on 8
    ],
)
def test_check_parallelism_names_the_field_that_makes_a_layout_impossible(
    tp: int, pp: int, replicas: int, nodes: int, field: str
) -> None:
    with pytest.raises(InfeasibleConfigError) as error:
        check_parallelism(arch("meta-llama/Llama-3.1-70B-Instruct"), h100_cluster(nodes), tp, pp, replicas)
    assert error.value.field == field


def test_kv_heads_neither_divided_nor_replicated_evenly_are_rejected() -> None:
    # 48 heads split 8 ways, but 12 KV heads neither split 8 ways nor replicate evenly over 8 ranks (vLLM's
    # QKVParallelLinear divides one count by the other).
    model = parse_hf_config({**MISTRAL_7B_V01, "num_attention_heads": 48, "num_key_value_heads": 12, "head_dim": 128})
    assert valid_tensor_parallel_sizes(model, 8) == [1, 2, 4]
    with pytest.raises(InfeasibleConfigError) as error:
        check_parallelism(model, h100_cluster(), 8, 1)
    assert error.value.field == "tensor_parallel"


def test_memory_breakdown_rejects_more_stages_than_layers() -> None:
    with pytest.raises(InfeasibleConfigError) as error:
        one(arch("meta-llama/Llama-3.2-1B-Instruct"), H100_GB, config(pp=17))
    assert error.value.field == "pipeline_parallel"
