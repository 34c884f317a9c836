"""Architectures of the benchmark dataset's models that the model catalog does not hold (yet).

Each entry is a subset of the model's Hugging Face config.json: the keys `budsim.core.architecture.parse_hf_config`
reads, with their published names and values. They belong in `budsim/core/catalog/models.py` once its owners add
published parameter counts; until then the accuracy bench and the regressor's training read them from here.
`DATASET_ALIASES` maps dataset model ids whose architecture is another id's (quantised re-uploads, fine-tunes, base
vs instruct) to that id.

Known gaps, where `parse_hf_config` has no field for an architectural feature and the estimate is therefore off:
- Qwen3.5-397B-A17B: 45 of its 60 layers are Gated DeltaNet linear attention with a fixed-size state (`layer_types`
  "linear_attention"); the parser treats every layer as full attention, overstating KV cache and attention work.
- GLM-5: MLA with DeepSeek Sparse Attention (an indexer picks 2048 context tokens per query); modelled as dense MLA.
- Kimi-K2.5 ships a vision tower (not modelled; text-only benchmarks do not run it).
"""

from typing import Any

from budsim.core.catalog.models import CATALOG_BY_ID

AICONFIGURATOR_CONFIGS = "https://github.com/ai-dynamo/aiconfigurator/tree/main/src/aiconfigurator/model_configs"


def _catalog_config(hf_id: str) -> dict[str, Any]:
    return dict(CATALOG_BY_ID[hf_id].config)


# hf_id -> (config subset, where it was read)
DATASET_MODELS: dict[str, tuple[dict[str, Any], str]] = {
    "MiniMaxAI/MiniMax-M2.5": (
        {
            "architectures": ["MiniMaxM2ForCausalLM"],
            "model_type": "minimax_m2",
            "hidden_size": 3072,
            "intermediate_size": 1536,  # per expert: MiniMax-M2 has no dense MLP and no shared expert
            "num_hidden_layers": 62,
            "num_attention_heads": 48,
            "num_key_value_heads": 8,
            "head_dim": 128,
            "rotary_dim": 64,
            "num_local_experts": 256,
            "num_experts_per_tok": 8,
            "scoring_func": "sigmoid",
            "use_qk_norm": True,
            "max_position_embeddings": 196608,
            "vocab_size": 200064,
            "tie_word_embeddings": False,
        },
        "https://huggingface.co/MiniMaxAI/MiniMax-M2.5/blob/main/config.json (M2.5 keeps MiniMax-M2's "
        "MiniMaxM2ForCausalLM architecture; values checked against stored copies of the M2 config in public test "
        "fixtures and vLLM/SGLang model code)",
    ),
    "moonshotai/Kimi-K2.5": (
        {
            "architectures": ["KimiK25ForConditionalGeneration"],
            "model_type": "kimi_k25",
            "num_hidden_layers": 61,
            "hidden_size": 7168,
            "num_attention_heads": 64,
            "num_key_value_heads": 64,
            "intermediate_size": 18432,
            "vocab_size": 163840,
            "max_position_embeddings": 262144,
            "n_routed_experts": 384,
            "n_shared_experts": 1,
            "num_experts_per_tok": 8,
            "moe_intermediate_size": 2048,
            "moe_layer_freq": 1,
            "first_k_dense_replace": 1,
            "kv_lora_rank": 512,
            "q_lora_rank": 1536,
            "qk_nope_head_dim": 128,
            "qk_rope_head_dim": 64,
            "v_head_dim": 128,
            "tie_word_embeddings": False,
        },
        "https://huggingface.co/moonshotai/Kimi-K2.5/blob/main/config.json (text_config flattened as in "
        f"{AICONFIGURATOR_CONFIGS}/moonshotai--Kimi-K2.5_config.json)",
    ),
    "zhipuai/GLM-5": (
        {
            "architectures": ["GlmMoeDsaForCausalLM"],
            "model_type": "glm_moe_dsa",
            "num_hidden_layers": 78,
            "hidden_size": 6144,
            "num_attention_heads": 64,
            "num_key_value_heads": 64,
            "head_dim": 64,
            "intermediate_size": 12288,
            "vocab_size": 154880,
            "max_position_embeddings": 202752,
            "n_routed_experts": 256,
            "n_shared_experts": 1,
            "num_experts_per_tok": 8,
            "moe_intermediate_size": 2048,
            "moe_layer_freq": 1,
            "first_k_dense_replace": 3,
            "kv_lora_rank": 512,
            "q_lora_rank": 2048,
            "qk_nope_head_dim": 192,
            "qk_rope_head_dim": 64,
            "v_head_dim": 256,
            "tie_word_embeddings": False,
        },
        f"https://huggingface.co/zai-org/GLM-5-FP8/blob/main/config.json (via {AICONFIGURATOR_CONFIGS}/"
        "zai-org--GLM-5-FP8_config.json)",
    ),
    "Qwen/Qwen3.5-397B-A17B": (
        {
            "architectures": ["Qwen3_5MoeForConditionalGeneration"],
            "model_type": "qwen3_5_moe",
            "tie_word_embeddings": False,
            "text_config": {
                "model_type": "qwen3_5_moe_text",
                "hidden_size": 4096,
                "num_hidden_layers": 60,
                "num_attention_heads": 32,
                "num_key_value_heads": 2,
                "head_dim": 256,
                "attn_output_gate": True,
                "full_attention_interval": 4,
                "layer_types": ["linear_attention", "linear_attention", "linear_attention", "full_attention"] * 15,
                "linear_key_head_dim": 128,
                "linear_num_key_heads": 16,
                "linear_num_value_heads": 64,
                "linear_value_head_dim": 128,
                "max_position_embeddings": 262144,
                "mlp_only_layers": [],
                "moe_intermediate_size": 1024,
                "num_experts": 512,
                "num_experts_per_tok": 10,
                "shared_expert_intermediate_size": 1024,
                "vocab_size": 248320,
            },
        },
        f"https://huggingface.co/Qwen/Qwen3.5-397B-A17B/blob/main/config.json (via {AICONFIGURATOR_CONFIGS}/"
        "Qwen--Qwen3.5-397B-A17B_config.json)",
    ),
    "deepseek-ai/DeepSeek-R1": (
        _catalog_config("deepseek-ai/DeepSeek-V3"),
        "https://huggingface.co/deepseek-ai/DeepSeek-R1/blob/main/config.json (same architecture and values as "
        "DeepSeek-V3's, which the catalog holds)",
    ),
    "bigscience/bloom": (
        {
            "architectures": ["BloomForCausalLM"],
            "model_type": "bloom",
            "hidden_size": 14336,
            "n_layer": 70,
            "n_head": 112,
            "vocab_size": 250880,
        },
        "https://huggingface.co/bigscience/bloom/blob/main/config.json (no max_position_embeddings: ALiBi)",
    ),
}

DATASET_ALIASES: dict[str, str] = {
    "meta-llama/Llama-3.1-70B": "meta-llama/Llama-3.1-70B-Instruct",  # same architecture
    "Qwen/Qwen3-235B-A22B-FP8": "Qwen/Qwen3-235B-A22B",
    "nvidia/DeepSeek-R1-NVFP4": "deepseek-ai/DeepSeek-V3",
    "nvidia/DeepSeek-V3.1-NVFP4": "deepseek-ai/DeepSeek-V3",
    "nvidia/Qwen3-32B-NVFP4": "Qwen/Qwen3-32B",
    "llama2-70b": "meta-llama/Llama-2-70b-hf",
    "bloom-176b": "bigscience/bloom",
}


def dataset_config(hf_id: str) -> dict[str, Any] | None:
    """The config.json subset for a dataset model id: catalog first, then this module; None if unknown."""
    hf_id = DATASET_ALIASES.get(hf_id, hf_id)
    if hf_id in CATALOG_BY_ID:
        return dict(CATALOG_BY_ID[hf_id].config)
    found = DATASET_MODELS.get(hf_id)
    return dict(found[0]) if found else None
