"""Catalog of popular open LLM architectures, with their published parameter counts.

Each entry's ``config`` is a verbatim subset of the model's Hugging Face ``config.json``: the keys that matter for
sizing and performance are copied with their exact names, values and nesting (Gemma 3 keeps its ``text_config``), and
nothing is normalised or filled in. A key that the real file omits is omitted here too, so the defaults of the
corresponding ``transformers`` config class apply (noted on the entries where that matters, e.g. Gemma's tied
embeddings). Nested dicts are copied whole, except ``quantization_config`` which keeps only what sizing needs.

``published_params_b`` is the total parameter count in billions as published by the model's authors (model card,
Hugging Face safetensors metadata or technical report); ``published_active_params_b`` is the per-token active count
for mixture-of-experts models. The comment above each entry says where its config values were checked: against a
stored public copy of the config.json, or from memory where no copy could be found.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True, slots=True)
class CatalogModel:
    hf_id: str  # e.g. "meta-llama/Llama-3.1-8B-Instruct"
    config: dict[str, Any]  # verbatim key/values copied from config.json
    published_params_b: float  # total parameters in billions as published
    published_active_params_b: float | None  # MoE only: active parameters per token as published; None for dense
    config_source: str  # URL of the config.json
    params_source: str  # URL (or paper citation) where the published parameter count is stated


def _hf_config_url(hf_id: str) -> str:
    return f"https://huggingface.co/{hf_id}/blob/main/config.json"


_LLAMA31_ROPE_SCALING = {
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 8192,
    "rope_type": "llama3",
}

_LLAMA32_ROPE_SCALING = {
    "factor": 32.0,
    "high_freq_factor": 4.0,
    "low_freq_factor": 1.0,
    "original_max_position_embeddings": 8192,
    "rope_type": "llama3",
}


CATALOG_MODELS: tuple[CatalogModel, ...] = (
    # ------------------------------------------------------------------ Llama 3.1 / 3.2
    # Verified against a stored verbatim copy of this exact config.json (transformers 4.42.3; no head_dim key).
    CatalogModel(
        hf_id="meta-llama/Llama-3.1-8B-Instruct",
        config={
            "architectures": ["LlamaForCausalLM"],
            "attention_bias": False,
            "hidden_act": "silu",
            "hidden_size": 4096,
            "intermediate_size": 14336,
            "max_position_embeddings": 131072,
            "mlp_bias": False,
            "model_type": "llama",
            "num_attention_heads": 32,
            "num_hidden_layers": 32,
            "num_key_value_heads": 8,
            "rms_norm_eps": 1e-05,
            "rope_scaling": dict(_LLAMA31_ROPE_SCALING),
            "rope_theta": 500000.0,
            "tie_word_embeddings": False,
            "torch_dtype": "bfloat16",
            "vocab_size": 128256,
        },
        published_params_b=8.03,
        published_active_params_b=None,
        config_source=_hf_config_url("meta-llama/Llama-3.1-8B-Instruct"),
        params_source="https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct (safetensors: 8.03B params)",
    ),
    # Sizing values verified against stored copies of the Llama 3.x 70B config (one is Llama-3.3-70B's, which adds
    # "head_dim": 128 and a newer transformers_version); the key set mirrors Llama-3.1-8B-Instruct, from memory.
    CatalogModel(
        hf_id="meta-llama/Llama-3.1-70B-Instruct",
        config={
            "architectures": ["LlamaForCausalLM"],
            "attention_bias": False,
            "hidden_act": "silu",
            "hidden_size": 8192,
            "intermediate_size": 28672,
            "max_position_embeddings": 131072,
            "mlp_bias": False,
            "model_type": "llama",
            "num_attention_heads": 64,
            "num_hidden_layers": 80,
            "num_key_value_heads": 8,
            "rms_norm_eps": 1e-05,
            "rope_scaling": dict(_LLAMA31_ROPE_SCALING),
            "rope_theta": 500000.0,
            "tie_word_embeddings": False,
            "torch_dtype": "bfloat16",
            "vocab_size": 128256,
        },
        published_params_b=70.6,
        published_active_params_b=None,
        config_source=_hf_config_url("meta-llama/Llama-3.1-70B-Instruct"),
        params_source="https://huggingface.co/meta-llama/Llama-3.1-70B-Instruct (safetensors: 70.6B params)",
    ),
    # Dimensions verified against several stored (partial) copies of the 405B config; the remaining keys
    # (rope_scaling, rms_norm_eps, dtype, tying) are from memory and follow the rest of the Llama 3.1 family.
    CatalogModel(
        hf_id="meta-llama/Llama-3.1-405B-Instruct",
        config={
            "architectures": ["LlamaForCausalLM"],
            "attention_bias": False,
            "hidden_act": "silu",
            "hidden_size": 16384,
            "intermediate_size": 53248,
            "max_position_embeddings": 131072,
            "mlp_bias": False,
            "model_type": "llama",
            "num_attention_heads": 128,
            "num_hidden_layers": 126,
            "num_key_value_heads": 8,
            "rms_norm_eps": 1e-05,
            "rope_scaling": dict(_LLAMA31_ROPE_SCALING),
            "rope_theta": 500000.0,
            "tie_word_embeddings": False,
            "torch_dtype": "bfloat16",
            "vocab_size": 128256,
        },
        published_params_b=405.0,
        published_active_params_b=None,
        config_source=_hf_config_url("meta-llama/Llama-3.1-405B-Instruct"),
        params_source="Llama Team, 'The Llama 3 Herd of Models', arXiv:2407.21783 (405B parameters)",
    ),
    # Verified against a stored verbatim copy of llama-3.2-1b-instruct/config.json.
    CatalogModel(
        hf_id="meta-llama/Llama-3.2-1B-Instruct",
        config={
            "architectures": ["LlamaForCausalLM"],
            "attention_bias": False,
            "head_dim": 64,
            "hidden_act": "silu",
            "hidden_size": 2048,
            "intermediate_size": 8192,
            "max_position_embeddings": 131072,
            "mlp_bias": False,
            "model_type": "llama",
            "num_attention_heads": 32,
            "num_hidden_layers": 16,
            "num_key_value_heads": 8,
            "rms_norm_eps": 1e-05,
            "rope_scaling": dict(_LLAMA32_ROPE_SCALING),
            "rope_theta": 500000.0,
            "tie_word_embeddings": True,
            "torch_dtype": "bfloat16",
            "vocab_size": 128256,
        },
        published_params_b=1.24,
        published_active_params_b=None,
        config_source=_hf_config_url("meta-llama/Llama-3.2-1B-Instruct"),
        params_source="https://huggingface.co/meta-llama/Llama-3.2-1B-Instruct (safetensors: 1.24B params)",
    ),
    # Verified against a stored verbatim copy of the Llama-3.2-3B (base) config.json; the Instruct config differs only
    # in eos_token_id / transformers_version, neither of which is copied here.
    CatalogModel(
        hf_id="meta-llama/Llama-3.2-3B-Instruct",
        config={
            "architectures": ["LlamaForCausalLM"],
            "attention_bias": False,
            "head_dim": 128,
            "hidden_act": "silu",
            "hidden_size": 3072,
            "intermediate_size": 8192,
            "max_position_embeddings": 131072,
            "mlp_bias": False,
            "model_type": "llama",
            "num_attention_heads": 24,
            "num_hidden_layers": 28,
            "num_key_value_heads": 8,
            "rms_norm_eps": 1e-05,
            "rope_scaling": dict(_LLAMA32_ROPE_SCALING),
            "rope_theta": 500000.0,
            "tie_word_embeddings": True,
            "torch_dtype": "bfloat16",
            "vocab_size": 128256,
        },
        published_params_b=3.21,
        published_active_params_b=None,
        config_source=_hf_config_url("meta-llama/Llama-3.2-3B-Instruct"),
        params_source="https://huggingface.co/meta-llama/Llama-3.2-3B-Instruct (safetensors: 3.21B params)",
    ),
    # ------------------------------------------------------------------ Llama 2
    # Verified against several stored verbatim copies (transformers 4.31.0.dev0). The file has no rope_theta key
    # (LlamaConfig's default 10000.0 applies) and ships float16 weights.
    CatalogModel(
        hf_id="meta-llama/Llama-2-7b-hf",
        config={
            "architectures": ["LlamaForCausalLM"],
            "hidden_act": "silu",
            "hidden_size": 4096,
            "intermediate_size": 11008,
            "max_position_embeddings": 4096,
            "model_type": "llama",
            "num_attention_heads": 32,
            "num_hidden_layers": 32,
            "num_key_value_heads": 32,
            "rms_norm_eps": 1e-05,
            "rope_scaling": None,
            "tie_word_embeddings": False,
            "torch_dtype": "float16",
            "vocab_size": 32000,
        },
        published_params_b=6.74,
        published_active_params_b=None,
        config_source=_hf_config_url("meta-llama/Llama-2-7b-hf"),
        params_source="https://huggingface.co/meta-llama/Llama-2-7b-hf (safetensors: 6.74B params)",
    ),
    # Verified against stored verbatim copies (transformers 4.32.0.dev0); no rope_theta key, as for the 7B.
    CatalogModel(
        hf_id="meta-llama/Llama-2-70b-hf",
        config={
            "architectures": ["LlamaForCausalLM"],
            "hidden_act": "silu",
            "hidden_size": 8192,
            "intermediate_size": 28672,
            "max_position_embeddings": 4096,
            "model_type": "llama",
            "num_attention_heads": 64,
            "num_hidden_layers": 80,
            "num_key_value_heads": 8,
            "rms_norm_eps": 1e-05,
            "rope_scaling": None,
            "tie_word_embeddings": False,
            "torch_dtype": "float16",
            "vocab_size": 32000,
        },
        published_params_b=69.0,
        published_active_params_b=None,
        config_source=_hf_config_url("meta-llama/Llama-2-70b-hf"),
        params_source="https://huggingface.co/meta-llama/Llama-2-70b-hf (safetensors: 69B params)",
    ),
    # ------------------------------------------------------------------ Mistral / Mixtral
    # Verified against several stored verbatim copies (transformers 4.42.0.dev0). v0.3 has no sliding window.
    CatalogModel(
        hf_id="mistralai/Mistral-7B-Instruct-v0.3",
        config={
            "architectures": ["MistralForCausalLM"],
            "hidden_act": "silu",
            "hidden_size": 4096,
            "intermediate_size": 14336,
            "max_position_embeddings": 32768,
            "model_type": "mistral",
            "num_attention_heads": 32,
            "num_hidden_layers": 32,
            "num_key_value_heads": 8,
            "rms_norm_eps": 1e-05,
            "rope_theta": 1000000.0,
            "sliding_window": None,
            "tie_word_embeddings": False,
            "torch_dtype": "bfloat16",
            "vocab_size": 32768,
        },
        published_params_b=7.25,
        published_active_params_b=None,
        config_source=_hf_config_url("mistralai/Mistral-7B-Instruct-v0.3"),
        params_source="https://huggingface.co/mistralai/Mistral-7B-Instruct-v0.3 (safetensors: 7.25B params)",
    ),
    # Verified against several stored verbatim copies of the Mixtral-8x7B(-Instruct)-v0.1 config (4.36.0.dev0).
    CatalogModel(
        hf_id="mistralai/Mixtral-8x7B-Instruct-v0.1",
        config={
            "architectures": ["MixtralForCausalLM"],
            "hidden_act": "silu",
            "hidden_size": 4096,
            "intermediate_size": 14336,
            "max_position_embeddings": 32768,
            "model_type": "mixtral",
            "num_attention_heads": 32,
            "num_experts_per_tok": 2,
            "num_hidden_layers": 32,
            "num_key_value_heads": 8,
            "num_local_experts": 8,
            "rms_norm_eps": 1e-05,
            "rope_theta": 1000000.0,
            "router_aux_loss_coef": 0.02,
            "sliding_window": None,
            "tie_word_embeddings": False,
            "torch_dtype": "bfloat16",
            "vocab_size": 32000,
        },
        published_params_b=46.7,
        published_active_params_b=12.9,
        config_source=_hf_config_url("mistralai/Mixtral-8x7B-Instruct-v0.1"),
        params_source="https://mistral.ai/news/mixtral-of-experts (46.7B total, 12.9B used per token)",
    ),
    # ------------------------------------------------------------------ Qwen 2.5
    # Verified against a stored verbatim copy of Qwen2.5-7B-Instruct/config.json (transformers 4.43.1).
    # Qwen2 attention has q/k/v biases (implicit in the architecture, not a config key).
    CatalogModel(
        hf_id="Qwen/Qwen2.5-7B-Instruct",
        config={
            "architectures": ["Qwen2ForCausalLM"],
            "hidden_act": "silu",
            "hidden_size": 3584,
            "intermediate_size": 18944,
            "max_position_embeddings": 32768,
            "max_window_layers": 28,
            "model_type": "qwen2",
            "num_attention_heads": 28,
            "num_hidden_layers": 28,
            "num_key_value_heads": 4,
            "rms_norm_eps": 1e-06,
            "rope_theta": 1000000.0,
            "sliding_window": 131072,
            "tie_word_embeddings": False,
            "torch_dtype": "bfloat16",
            "use_sliding_window": False,
            "vocab_size": 152064,
        },
        published_params_b=7.61,
        published_active_params_b=None,
        config_source=_hf_config_url("Qwen/Qwen2.5-7B-Instruct"),
        params_source="https://huggingface.co/Qwen/Qwen2.5-7B-Instruct (model card: 7.61B parameters)",
    ),
    # Verified against two stored verbatim copies of Qwen2.5-72B-Instruct/config.json (transformers 4.43.1).
    CatalogModel(
        hf_id="Qwen/Qwen2.5-72B-Instruct",
        config={
            "architectures": ["Qwen2ForCausalLM"],
            "hidden_act": "silu",
            "hidden_size": 8192,
            "intermediate_size": 29568,
            "max_position_embeddings": 32768,
            "max_window_layers": 70,
            "model_type": "qwen2",
            "num_attention_heads": 64,
            "num_hidden_layers": 80,
            "num_key_value_heads": 8,
            "rms_norm_eps": 1e-06,
            "rope_theta": 1000000.0,
            "sliding_window": 131072,
            "tie_word_embeddings": False,
            "torch_dtype": "bfloat16",
            "use_sliding_window": False,
            "vocab_size": 152064,
        },
        published_params_b=72.7,
        published_active_params_b=None,
        config_source=_hf_config_url("Qwen/Qwen2.5-72B-Instruct"),
        params_source="https://huggingface.co/Qwen/Qwen2.5-72B-Instruct (model card: 72.7B parameters)",
    ),
    # ------------------------------------------------------------------ Qwen 3
    # Verified against a stored verbatim copy of Qwen3-32B/config.json (transformers 4.51.0).
    CatalogModel(
        hf_id="Qwen/Qwen3-32B",
        config={
            "architectures": ["Qwen3ForCausalLM"],
            "attention_bias": False,
            "head_dim": 128,
            "hidden_act": "silu",
            "hidden_size": 5120,
            "intermediate_size": 25600,
            "max_position_embeddings": 40960,
            "max_window_layers": 64,
            "model_type": "qwen3",
            "num_attention_heads": 64,
            "num_hidden_layers": 64,
            "num_key_value_heads": 8,
            "rms_norm_eps": 1e-06,
            "rope_scaling": None,
            "rope_theta": 1000000,
            "sliding_window": None,
            "tie_word_embeddings": False,
            "torch_dtype": "bfloat16",
            "use_sliding_window": False,
            "vocab_size": 151936,
        },
        published_params_b=32.8,
        published_active_params_b=None,
        config_source=_hf_config_url("Qwen/Qwen3-32B"),
        params_source="https://huggingface.co/Qwen/Qwen3-32B (model card: 32.8B parameters)",
    ),
    # Verified against a stored verbatim copy of Qwen3-30B-A3B/config.json (transformers 4.51.0).
    CatalogModel(
        hf_id="Qwen/Qwen3-30B-A3B",
        config={
            "architectures": ["Qwen3MoeForCausalLM"],
            "attention_bias": False,
            "decoder_sparse_step": 1,
            "head_dim": 128,
            "hidden_act": "silu",
            "hidden_size": 2048,
            "intermediate_size": 6144,
            "max_position_embeddings": 40960,
            "max_window_layers": 48,
            "mlp_only_layers": [],
            "model_type": "qwen3_moe",
            "moe_intermediate_size": 768,
            "norm_topk_prob": True,
            "num_attention_heads": 32,
            "num_experts": 128,
            "num_experts_per_tok": 8,
            "num_hidden_layers": 48,
            "num_key_value_heads": 4,
            "rms_norm_eps": 1e-06,
            "rope_scaling": None,
            "rope_theta": 1000000.0,
            "sliding_window": None,
            "tie_word_embeddings": False,
            "torch_dtype": "bfloat16",
            "use_sliding_window": False,
            "vocab_size": 151936,
        },
        published_params_b=30.5,
        published_active_params_b=3.3,
        config_source=_hf_config_url("Qwen/Qwen3-30B-A3B"),
        params_source="https://huggingface.co/Qwen/Qwen3-30B-A3B (model card: 30.5B total, 3.3B activated)",
    ),
    # Verified against a stored verbatim copy of Qwen3-235B-A22B/config.json (transformers 4.51.0).
    CatalogModel(
        hf_id="Qwen/Qwen3-235B-A22B",
        config={
            "architectures": ["Qwen3MoeForCausalLM"],
            "attention_bias": False,
            "decoder_sparse_step": 1,
            "head_dim": 128,
            "hidden_act": "silu",
            "hidden_size": 4096,
            "intermediate_size": 12288,
            "max_position_embeddings": 40960,
            "max_window_layers": 94,
            "mlp_only_layers": [],
            "model_type": "qwen3_moe",
            "moe_intermediate_size": 1536,
            "norm_topk_prob": True,
            "num_attention_heads": 64,
            "num_experts": 128,
            "num_experts_per_tok": 8,
            "num_hidden_layers": 94,
            "num_key_value_heads": 4,
            "rms_norm_eps": 1e-06,
            "rope_scaling": None,
            "rope_theta": 1000000.0,
            "sliding_window": None,
            "tie_word_embeddings": False,
            "torch_dtype": "bfloat16",
            "use_sliding_window": False,
            "vocab_size": 151936,
        },
        published_params_b=235.0,
        published_active_params_b=22.0,
        config_source=_hf_config_url("Qwen/Qwen3-235B-A22B"),
        params_source="https://huggingface.co/Qwen/Qwen3-235B-A22B (model card: 235B total, 22B activated)",
    ),
    # ------------------------------------------------------------------ Gemma 2
    # Verified against a stored verbatim copy of gemma-2-9b-it/config.json (transformers 4.42.0.dev0, bfloat16; the
    # base gemma-2-9b ships float32). No tie_word_embeddings key: Gemma2Config defaults to tied embeddings. Layers
    # alternate sliding-window (4096) and global attention; Gemma2Config has no layer_types key at this version.
    CatalogModel(
        hf_id="google/gemma-2-9b-it",
        config={
            "architectures": ["Gemma2ForCausalLM"],
            "attention_bias": False,
            "attn_logit_softcapping": 50.0,
            "cache_implementation": "hybrid",
            "final_logit_softcapping": 30.0,
            "head_dim": 256,
            "hidden_act": "gelu_pytorch_tanh",
            "hidden_activation": "gelu_pytorch_tanh",
            "hidden_size": 3584,
            "intermediate_size": 14336,
            "max_position_embeddings": 8192,
            "model_type": "gemma2",
            "num_attention_heads": 16,
            "num_hidden_layers": 42,
            "num_key_value_heads": 8,
            "query_pre_attn_scalar": 256,
            "rms_norm_eps": 1e-06,
            "rope_theta": 10000.0,
            "sliding_window": 4096,
            "sliding_window_size": 4096,
            "torch_dtype": "bfloat16",
            "vocab_size": 256000,
        },
        published_params_b=9.24,
        published_active_params_b=None,
        config_source=_hf_config_url("google/gemma-2-9b-it"),
        params_source=(
            "Gemma Team, 'Gemma 2: Improving Open Language Models at a Practical Size', arXiv:2408.00118, Table 2 "
            "(917,504,000 embedding + 8,324,201,984 non-embedding parameters)"
        ),
    ),
    # Dimensions verified against stored copies of the gemma-2-27b config (Megatron-Bridge test fixture and a vLLM
    # issue quoting the file); max_position_embeddings / rope_theta / sliding_window / dtype from memory (the vLLM
    # issue's copy had been edited for context extension). Tied embeddings by default, as for the 9B.
    CatalogModel(
        hf_id="google/gemma-2-27b-it",
        config={
            "architectures": ["Gemma2ForCausalLM"],
            "attention_bias": False,
            "attn_logit_softcapping": 50.0,
            "cache_implementation": "hybrid",
            "final_logit_softcapping": 30.0,
            "head_dim": 128,
            "hidden_act": "gelu_pytorch_tanh",
            "hidden_activation": "gelu_pytorch_tanh",
            "hidden_size": 4608,
            "intermediate_size": 36864,
            "max_position_embeddings": 8192,
            "model_type": "gemma2",
            "num_attention_heads": 32,
            "num_hidden_layers": 46,
            "num_key_value_heads": 16,
            "query_pre_attn_scalar": 144,
            "rms_norm_eps": 1e-06,
            "rope_theta": 10000.0,
            "sliding_window": 4096,
            "sliding_window_size": 4096,
            "torch_dtype": "bfloat16",
            "vocab_size": 256000,
        },
        published_params_b=27.23,
        published_active_params_b=None,
        config_source=_hf_config_url("google/gemma-2-27b-it"),
        params_source=(
            "Gemma Team, 'Gemma 2: Improving Open Language Models at a Practical Size', arXiv:2408.00118, Table 2 "
            "(1,179,648,000 embedding + 26,047,480,320 non-embedding parameters)"
        ),
    ),
    # ------------------------------------------------------------------ Gemma 3
    # text_config / vision_config verified against TensorRT-LLM's copy of gemma-3-27b-it's config.json (which had
    # edited num_hidden_layers/sliding_window for a test and added sliding_window_pattern) and other stored copies
    # for the real 62 layers / 1024 window. The real file is sparse because transformers wrote only non-default
    # values: Gemma3TextConfig defaults apply for vocab_size (262208), max_position_embeddings (131072),
    # rope_theta (1_000_000.0), rope_local_base_freq (10_000.0), sliding_window_pattern (6: five sliding layers then
    # one global), rms_norm_eps (1e-06), tie_word_embeddings (True). The vision tower (SigLIP, ~0.4B) is included in
    # the published count.
    CatalogModel(
        hf_id="google/gemma-3-27b-it",
        config={
            "architectures": ["Gemma3ForConditionalGeneration"],
            "mm_tokens_per_image": 256,
            "model_type": "gemma3",
            "text_config": {
                "head_dim": 128,
                "hidden_size": 5376,
                "intermediate_size": 21504,
                "model_type": "gemma3_text",
                "num_attention_heads": 32,
                "num_hidden_layers": 62,
                "num_key_value_heads": 16,
                "query_pre_attn_scalar": 168,
                "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
                "sliding_window": 1024,
            },
            "torch_dtype": "bfloat16",
            "vision_config": {
                "hidden_size": 1152,
                "image_size": 896,
                "intermediate_size": 4304,
                "model_type": "siglip_vision_model",
                "num_attention_heads": 16,
                "num_hidden_layers": 27,
                "patch_size": 14,
                "vision_use_head": False,
            },
        },
        published_params_b=27.4,
        published_active_params_b=None,
        config_source=_hf_config_url("google/gemma-3-27b-it"),
        params_source=(
            "Gemma Team, 'Gemma 3 Technical Report', arXiv:2503.19786, Table 1 "
            "(417M vision encoder + 1,416M embedding + 25,600M non-embedding parameters)"
        ),
    ),
    # ------------------------------------------------------------------ Phi-3
    # Verified against several stored verbatim copies (transformers 4.40.2). Phi-3 fuses qkv_proj and gate_up_proj.
    CatalogModel(
        hf_id="microsoft/Phi-3-mini-4k-instruct",
        config={
            "architectures": ["Phi3ForCausalLM"],
            "attention_bias": False,
            "hidden_act": "silu",
            "hidden_size": 3072,
            "intermediate_size": 8192,
            "max_position_embeddings": 4096,
            "model_type": "phi3",
            "num_attention_heads": 32,
            "num_hidden_layers": 32,
            "num_key_value_heads": 32,
            "original_max_position_embeddings": 4096,
            "rms_norm_eps": 1e-05,
            "rope_scaling": None,
            "rope_theta": 10000.0,
            "sliding_window": 2047,
            "tie_word_embeddings": False,
            "torch_dtype": "bfloat16",
            "vocab_size": 32064,
        },
        published_params_b=3.8,
        published_active_params_b=None,
        config_source=_hf_config_url("microsoft/Phi-3-mini-4k-instruct"),
        params_source="Abdin et al., 'Phi-3 Technical Report', arXiv:2404.14219 (phi-3-mini: 3.8B parameters)",
    ),
    # ------------------------------------------------------------------ DeepSeek-V3
    # Verified against several stored verbatim copies of the DeepSeek-V3 / R1 config.json (transformers 4.33.1).
    # The checkpoint is FP8 (128x128 block scales). num_hidden_layers excludes the multi-token-prediction (MTP)
    # layer: the published 671B excludes it, the 685B on Hugging Face includes its ~14B.
    CatalogModel(
        hf_id="deepseek-ai/DeepSeek-V3",
        config={
            "architectures": ["DeepseekV3ForCausalLM"],
            "attention_bias": False,
            "first_k_dense_replace": 3,
            "hidden_act": "silu",
            "hidden_size": 7168,
            "intermediate_size": 18432,
            "kv_lora_rank": 512,
            "max_position_embeddings": 163840,
            "model_type": "deepseek_v3",
            "moe_intermediate_size": 2048,
            "moe_layer_freq": 1,
            "n_group": 8,
            "n_routed_experts": 256,
            "n_shared_experts": 1,
            "norm_topk_prob": True,
            "num_attention_heads": 128,
            "num_experts_per_tok": 8,
            "num_hidden_layers": 61,
            "num_key_value_heads": 128,
            "num_nextn_predict_layers": 1,
            "q_lora_rank": 1536,
            "qk_nope_head_dim": 128,
            "qk_rope_head_dim": 64,
            "quantization_config": {
                "activation_scheme": "dynamic",
                "fmt": "e4m3",
                "quant_method": "fp8",
                "weight_block_size": [128, 128],
            },
            "rms_norm_eps": 1e-06,
            "rope_scaling": {
                "beta_fast": 32,
                "beta_slow": 1,
                "factor": 40,
                "mscale": 1.0,
                "mscale_all_dim": 1.0,
                "original_max_position_embeddings": 4096,
                "type": "yarn",
            },
            "rope_theta": 10000,
            "routed_scaling_factor": 2.5,
            "scoring_func": "sigmoid",
            "tie_word_embeddings": False,
            "topk_group": 4,
            "topk_method": "noaux_tc",
            "torch_dtype": "bfloat16",
            "v_head_dim": 128,
            "vocab_size": 129280,
        },
        published_params_b=671.0,
        published_active_params_b=37.0,
        config_source=_hf_config_url("deepseek-ai/DeepSeek-V3"),
        params_source=(
            "DeepSeek-AI, 'DeepSeek-V3 Technical Report', arXiv:2412.19437 (671B total, 37B activated per token; "
            "the Hugging Face checkpoint holds 685B including the 14B MTP module)"
        ),
    ),
    # ------------------------------------------------------------------ gpt-oss
    # Key set and shared values verified against a stored verbatim copy of gpt-oss-20b/config.json; the 120b's
    # num_hidden_layers (36), num_local_experts (128) and 36-entry layer_types are from memory, matching
    # transformers' GptOssConfig defaults and several stored descriptions of the 120b. quantization_config is cut
    # to quant_method (its modules_to_not_convert keeps attention, router, embeddings and lm_head in bf16). The file
    # has no torch_dtype key. Attention sinks and biases are implicit in the architecture.
    CatalogModel(
        hf_id="openai/gpt-oss-120b",
        config={
            "architectures": ["GptOssForCausalLM"],
            "attention_bias": True,
            "experts_per_token": 4,
            "head_dim": 64,
            "hidden_act": "silu",
            "hidden_size": 2880,
            "initial_context_length": 4096,
            "intermediate_size": 2880,
            # Verbatim value: 36 entries alternating, starting with "sliding_attention".
            "layer_types": ["sliding_attention", "full_attention"] * 18,
            "max_position_embeddings": 131072,
            "model_type": "gpt_oss",
            "num_attention_heads": 64,
            "num_experts_per_tok": 4,
            "num_hidden_layers": 36,
            "num_key_value_heads": 8,
            "num_local_experts": 128,
            "quantization_config": {"quant_method": "mxfp4"},
            "rms_norm_eps": 1e-05,
            "rope_scaling": {
                "beta_fast": 32.0,
                "beta_slow": 1.0,
                "factor": 32.0,
                "original_max_position_embeddings": 4096,
                "rope_type": "yarn",
                "truncate": False,
            },
            "rope_theta": 150000,
            "sliding_window": 128,
            "swiglu_limit": 7.0,
            "tie_word_embeddings": False,
            "vocab_size": 201088,
        },
        published_params_b=116.8,
        published_active_params_b=5.1,
        config_source=_hf_config_url("openai/gpt-oss-120b"),
        params_source=(
            "OpenAI, 'gpt-oss-120b & gpt-oss-20b Model Card', arXiv:2508.10925 (116.8B total, 5.1B active per token)"
        ),
    ),
)

# The catalog by Hugging Face id, exactly as spelled there.
CATALOG_BY_ID: Mapping[str, CatalogModel] = MappingProxyType({model.hf_id: model for model in CATALOG_MODELS})
