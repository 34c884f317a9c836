"""Model architectures parsed from a Hugging Face config.json.

Users paste whatever config.json their model ships, so the parser accepts the layouts of the families that matter
for serving (Llama, Mistral, Mixtral, Qwen2/2.5/3 and their MoE variants, Gemma 2/3, Phi-3, DeepSeek-V3 with MLA,
gpt-oss) and the older ones still deployed (BLOOM's `n_layer`/`n_head`, GPT-NeoX, Falcon). Everything downstream
(parameter counts, memory, FLOPs) reads the normalised `ModelArchitecture`, never the raw dict.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from budsim.core.errors import ConfigError

# Families whose MLP is a plain up/down projection with GELU instead of a gated (SwiGLU/GeGLU) triple.
_UNGATED_MLP = frozenset({"bloom", "gpt_neox", "falcon", "gpt2", "gptj", "opt", "starcoder", "gpt_bigcode", "mpt"})
# Families whose linear layers carry biases throughout (affects parameter counts by well under 1%).
_BIASED_LINEARS = frozenset({"bloom", "gpt_neox", "gpt2", "opt", "starcoder", "gpt_bigcode"})
_DEFAULT_CONTEXT = 2048
# transformers writes only non-default values into config.json; these families rely on their config class defaults.
# Source: transformers' Gemma3TextConfig (models/gemma3/configuration_gemma3.py).
_FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "gemma3_text": {
        "vocab_size": 262_208,
        "max_position_embeddings": 131_072,
        "sliding_window_pattern": 6,
        "tie_word_embeddings": True,
    },
}


@dataclass(frozen=True, slots=True)
class MlaDims:
    """DeepSeek's multi-head latent attention: the KV cache holds one compressed latent per token and layer."""

    q_lora_rank: int | None
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int


@dataclass(frozen=True, slots=True)
class MoeDims:
    num_experts: int
    experts_per_token: int
    expert_intermediate_size: int
    shared_intermediate_size: int  # summed over shared experts; 0 when the model has none
    num_moe_layers: int


@dataclass(frozen=True, slots=True)
class ModelArchitecture:
    model_type: str
    num_layers: int
    hidden_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int  # dense MLP width (used by the dense layers of MoE models too)
    vocab_size: int
    tie_embeddings: bool
    max_context: int
    gated_mlp: bool
    biased_linears: bool
    sliding_window: int | None
    num_sliding_layers: int  # layers whose attention (and KV cache) is limited to `sliding_window` tokens
    mla: MlaDims | None
    moe: MoeDims | None

    @property
    def num_dense_layers(self) -> int:
        return self.num_layers - (self.moe.num_moe_layers if self.moe else 0)

    @property
    def q_dim(self) -> int:
        if self.mla:
            return self.num_heads * (self.mla.qk_nope_head_dim + self.mla.qk_rope_head_dim)
        return self.num_heads * self.head_dim

    def attention_params_per_layer(self) -> int:
        h = self.hidden_size
        if self.mla:
            m = self.mla
            q = h * self.q_dim if m.q_lora_rank is None else h * m.q_lora_rank + m.q_lora_rank * (1 + self.q_dim)
            kv_down = h * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank
            kv_up = m.kv_lora_rank * self.num_heads * (m.qk_nope_head_dim + m.v_head_dim)
            return q + kv_down + kv_up + self.num_heads * m.v_head_dim * h
        kv_dim = self.num_kv_heads * self.head_dim
        weights = h * self.q_dim + 2 * h * kv_dim + self.q_dim * h
        biases = (self.q_dim + 2 * kv_dim + h) if self.biased_linears else 0
        return weights + biases

    def mlp_params(self, width: int) -> int:
        matrices = 3 if self.gated_mlp else 2
        biases = (width + self.hidden_size) if self.biased_linears else 0
        return matrices * self.hidden_size * width + biases

    def moe_params_per_layer(self, active_only: bool) -> int:
        assert self.moe is not None
        experts = self.moe.experts_per_token if active_only else self.moe.num_experts
        router = self.hidden_size * self.moe.num_experts
        shared = self.mlp_params(self.moe.shared_intermediate_size) if self.moe.shared_intermediate_size else 0
        return router + experts * self.mlp_params(self.moe.expert_intermediate_size) + shared

    @property
    def embedding_params(self) -> int:
        return self.vocab_size * self.hidden_size

    @property
    def lm_head_params(self) -> int:
        return 0 if self.tie_embeddings else self.vocab_size * self.hidden_size

    def _layer_params(self, active_only: bool) -> int:
        norms = 2 * self.hidden_size
        dense = self.num_dense_layers * self.mlp_params(self.intermediate_size)
        moe = self.moe.num_moe_layers * self.moe_params_per_layer(active_only) if self.moe else 0
        return self.num_layers * (self.attention_params_per_layer() + norms) + dense + moe

    @property
    def param_count(self) -> int:
        """Total parameters: what must sit in GPU memory."""
        return self.embedding_params + self.lm_head_params + self._layer_params(False) + self.hidden_size

    @property
    def active_param_count(self) -> int:
        """Parameters one token's forward pass multiplies by: the routed experts only, and no input embedding table
        (a token reads one row of it). Publishers differ here: gpt-oss's 5.1B follows this convention, Qwen3's 3.3B
        counts the embeddings too."""
        return self.lm_head_params + self._layer_params(True) + self.hidden_size


def _get(config: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in config and config[key] is not None:
            return config[key]
    return None


def _int(config: Mapping[str, Any], keys: tuple[str, ...], default: int | None = None, minimum: int = 1) -> int:
    value = _get(config, *keys)
    if value is None:
        if default is not None:
            return default
        raise ConfigError(keys[0], f"is required (also accepted as: {', '.join(keys[1:]) or 'nothing'})")
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ConfigError(keys[0], f"must be an integer, got {value!r}")
    if int(value) < minimum:
        raise ConfigError(keys[0], f"must be at least {minimum}, got {value}")
    return int(value)


def _text_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """Multimodal configs (Gemma 3, Llama 4, Qwen-VL) nest the language model under `text_config`."""
    nested = config.get("text_config")
    if isinstance(nested, Mapping) and ("hidden_size" in nested or "num_hidden_layers" in nested):
        return {**{k: v for k, v in config.items() if k != "text_config"}, **nested}
    return config


def _sliding_layers(config: Mapping[str, Any], num_layers: int, window: int | None) -> int:
    if not window:
        return 0
    layer_types = config.get("layer_types")
    if isinstance(layer_types, list) and layer_types:
        return sum(1 for kind in layer_types if "sliding" in str(kind))
    if config.get("use_sliding_window") is False:
        return 0
    pattern = config.get("sliding_window_pattern")
    if isinstance(pattern, int) and pattern > 0:  # Gemma 3: every `pattern`-th layer is global
        return num_layers - num_layers // pattern
    model_type = str(config.get("model_type", ""))
    if model_type.startswith("gemma2"):  # Gemma 2 alternates local and global layers
        return num_layers // 2
    if model_type.startswith("qwen"):  # Qwen: layers from max_window_layers on use the window
        return max(0, num_layers - _int(config, ("max_window_layers",), default=num_layers, minimum=0))
    return num_layers


def _moe(config: Mapping[str, Any], num_layers: int, hidden: int) -> MoeDims | None:
    num_experts = _get(config, "num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts")
    if not num_experts:
        return None
    experts = _int(config, ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts"))
    top_k = _int(config, ("num_experts_per_tok", "experts_per_token", "moe_top_k", "num_experts_per_token"))
    if top_k > experts:
        raise ConfigError("num_experts_per_tok", f"routes to {top_k} experts but the model has {experts}")
    width = _int(config, ("moe_intermediate_size", "intermediate_size", "ffn_hidden_size"))
    shared_width = _int(config, ("shared_expert_intermediate_size",), default=0, minimum=0)
    n_shared = _int(config, ("n_shared_experts", "num_shared_experts"), default=0, minimum=0)
    shared_width = shared_width or n_shared * width
    first_dense = _int(config, ("first_k_dense_replace",), default=0, minimum=0)
    frequency = _int(config, ("moe_layer_freq", "decoder_sparse_step"), default=1)
    dense_only = config.get("mlp_only_layers") or []
    moe_layers = sum(
        1
        for layer in range(num_layers)
        if layer >= first_dense and (layer - first_dense) % frequency == 0 and layer not in dense_only
    )
    return MoeDims(experts, top_k, width, shared_width, moe_layers)


def _mla(config: Mapping[str, Any]) -> MlaDims | None:
    if not config.get("kv_lora_rank"):
        return None
    q_rank = config.get("q_lora_rank")
    return MlaDims(
        q_lora_rank=_int(config, ("q_lora_rank",)) if q_rank else None,
        kv_lora_rank=_int(config, ("kv_lora_rank",)),
        qk_nope_head_dim=_int(config, ("qk_nope_head_dim",)),
        qk_rope_head_dim=_int(config, ("qk_rope_head_dim",)),
        v_head_dim=_int(config, ("v_head_dim",)),
    )


def _kv_heads(config: Mapping[str, Any], model_type: str, heads: int) -> int:
    if model_type == "falcon":
        if config.get("new_decoder_architecture"):
            return _int(config, ("num_kv_heads", "n_head_kv", "num_key_value_heads"), default=heads)
        if config.get("multi_query", True):  # Falcon's config default is multi-query
            return 1
        return heads
    if config.get("multi_query") is True:
        return 1
    return _int(config, ("num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num"), default=heads)


def parse_hf_config(raw: Mapping[str, Any]) -> ModelArchitecture:
    """Normalise a Hugging Face config.json; raises `ConfigError` naming the first field that is missing or wrong."""
    if not isinstance(raw, Mapping):
        raise ConfigError("", f"must be a JSON object (a Hugging Face config.json), got {type(raw).__name__}")
    config = _text_config(raw)
    model_type = str(config.get("model_type") or "").lower()
    config = _FAMILY_DEFAULTS.get(model_type, {}) | dict(config)
    layers = _int(config, ("num_hidden_layers", "n_layer", "n_layers", "num_layers"))
    hidden = _int(config, ("hidden_size", "n_embd", "d_model"))
    heads = _int(config, ("num_attention_heads", "n_head", "n_heads", "num_heads"))
    kv_heads = _kv_heads(config, model_type, heads)
    if heads % kv_heads:
        raise ConfigError("num_key_value_heads", f"{kv_heads} does not divide num_attention_heads={heads}")
    head_dim = _int(config, ("head_dim",), default=hidden // heads)
    if config.get("head_dim") is None and hidden % heads:
        raise ConfigError("num_attention_heads", f"{heads} does not divide hidden_size={hidden}")
    intermediate = _int(config, ("intermediate_size", "ffn_hidden_size", "n_inner", "ffn_dim"), default=4 * hidden)
    vocab = _int(config, ("vocab_size", "padded_vocab_size", "n_vocab"))
    window = _get(config, "sliding_window", "attention_window_size")
    window = int(window) if isinstance(window, int | float) and not isinstance(window, bool) and window > 0 else None
    num_sliding = _sliding_layers(config, layers, window)
    # Falcon and BLOOM tie their output projection to the embeddings without always saying so.
    tied_default = model_type in {"falcon", "bloom", "gemma", "gemma2", "gemma3", "gemma3_text"}
    tie = config.get("tie_word_embeddings")
    return ModelArchitecture(
        model_type=model_type or "unknown",
        num_layers=layers,
        hidden_size=hidden,
        num_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        intermediate_size=intermediate,
        vocab_size=vocab,
        tie_embeddings=bool(tied_default if tie is None else tie),
        max_context=_int(
            config,
            ("max_position_embeddings", "n_positions", "seq_length", "max_sequence_length", "model_max_length"),
            default=_DEFAULT_CONTEXT,
        ),
        gated_mlp=model_type not in _UNGATED_MLP,
        biased_linears=model_type in _BIASED_LINEARS,
        sliding_window=window if num_sliding else None,
        num_sliding_layers=num_sliding,
        mla=_mla(config),
        moe=_moe(config, layers, hidden),
    )
