"""Model architectures parsed from a Hugging Face config.json.

Users paste whatever config.json their model ships, so the parser accepts the layouts of the families that matter
for serving (Llama, Mistral, Mixtral, Qwen2/2.5/3 and their MoE variants, Gemma 2/3, Phi-3, DeepSeek-V3 with MLA,
gpt-oss) and the older ones still deployed (BLOOM's `n_layer`/`n_head`, GPT-NeoX, Falcon). Everything downstream
(parameter counts, memory, FLOPs) reads the normalised `ModelArchitecture`, never the raw dict.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from budsim.core.errors import ConfigError

# Families whose MLP is a plain up/down projection with GELU instead of a gated (SwiGLU/GeGLU) triple.
_UNGATED_MLP = frozenset({"bloom", "gpt_neox", "falcon", "gpt2", "gptj", "opt", "starcoder", "gpt_bigcode", "mpt"})
# Families whose linear layers carry biases throughout (affects parameter counts by well under 1%).
_BIASED_LINEARS = frozenset({"bloom", "gpt_neox", "gpt2", "opt", "starcoder", "gpt_bigcode"})
_DEFAULT_CONTEXT = 2048

# The largest value each config.json count may take. A config is pasted by a user, so a count is bounded by what a
# model could physically be rather than trusted: 10^9 layers would otherwise overflow the stored parameter count (a
# 64-bit column) and every simulation after it. Each bound is 30-100x the largest published model's value, so no
# real config is refused, only ones that no GPU cluster could ever hold.
MAX_LAYERS = 10_000  # Llama 3.1 405B has 126 layers, PaLM 540B 118
MAX_HIDDEN_SIZE = 1_048_576  # 2^20; MT-NLG 530B is 20,480 wide, PaLM 18,432; also bounds MLA's low-rank widths
MAX_HEADS = 8_192  # DeepSeek-V3 and Llama 3.1 405B have 128 attention heads
MAX_HEAD_DIM = 16_384  # Gemma 2/3 use 256, the widest published head
MAX_INTERMEDIATE_SIZE = 4_194_304  # 2^22; PaLM 540B's MLP is 73,728 wide, Llama 3.1 405B's 53,248
MAX_VOCAB_SIZE = 16_777_216  # 2^24; Gemma 3 has 262,208 tokens, BLOOM 250,880
MAX_CONTEXT = 1_073_741_824  # 2^30 tokens; Llama 4 Scout's 10,485,760 is the longest published context
MAX_EXPERTS = 65_536  # Switch-C has 2,048 experts; DeepSeek-V3 256 routed, Kimi K2 384
# The whole model: Switch-C's 1.6T parameters are the most published, so 10^14 is ~60x that and ~90,000x below the
# 64-bit parameter-count column, leaving every byte and FLOP product downstream far from overflowing too.
MAX_PARAMETERS = 10**14
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


def _int(
    config: Mapping[str, Any], keys: tuple[str, ...], *, maximum: int, default: int | None = None, minimum: int = 1
) -> int:
    """The first of `keys` present, as a whole number in [minimum, maximum]; `maximum` is required so that no count a
    user pastes goes unbounded (the `MAX_` constants say why each is what it is)."""
    value = _get(config, *keys)
    if value is None:
        if default is not None:
            return default
        raise ConfigError(keys[0], f"is required (also accepted as: {', '.join(keys[1:]) or 'nothing'})")
    key = keys[0]  # errors name the canonical key, whichever alias the config used
    # Python's json reads `Infinity` and `NaN`, which int() cannot convert
    is_number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not is_number or value != int(value):
        raise ConfigError(key, f"must be an integer, got {value!r}")
    if int(value) < minimum:
        raise ConfigError(key, f"must be at least {minimum}, got {value}")
    if int(value) > maximum:
        raise ConfigError(key, f"must be at most {maximum:,} (far beyond any published model), got {int(value):,}")
    return int(value)


def _text_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """Multimodal configs (Gemma 3, Llama 4, Qwen-VL) nest the language model under `text_config`."""
    nested = config.get("text_config")
    if isinstance(nested, Mapping) and ("hidden_size" in nested or "num_hidden_layers" in nested):
        return {**{k: v for k, v in config.items() if k != "text_config"}, **nested}
    return config


def _sliding_window(config: Mapping[str, Any]) -> int | None:
    """The attention window in tokens, None without one. A value that is no positive number has always meant no
    window (configs write `null`, `false` or 0); one past `MAX_CONTEXT`, or infinite, is an error rather than a
    window no context could fill."""
    for key in ("sliding_window", "attention_window_size"):
        window = config.get(key)
        if window is None:
            continue
        if not isinstance(window, int | float) or isinstance(window, bool) or not window > 0:
            return None
        if window > MAX_CONTEXT:
            raise ConfigError(key, f"must be at most {MAX_CONTEXT:,} tokens, got {window:,}")
        return int(window)
    return None


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
        return max(
            0, num_layers - _int(config, ("max_window_layers",), maximum=MAX_LAYERS, default=num_layers, minimum=0)
        )
    return num_layers


def _moe(config: Mapping[str, Any], num_layers: int, hidden: int) -> MoeDims | None:
    num_experts = _get(config, "num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts")
    if not num_experts:
        return None
    experts = _int(
        config, ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts"), maximum=MAX_EXPERTS
    )
    top_k = _int(
        config, ("num_experts_per_tok", "experts_per_token", "moe_top_k", "num_experts_per_token"), maximum=MAX_EXPERTS
    )
    if top_k > experts:
        raise ConfigError("num_experts_per_tok", f"routes to {top_k} experts but the model has {experts}")
    width = _int(
        config, ("moe_intermediate_size", "intermediate_size", "ffn_hidden_size"), maximum=MAX_INTERMEDIATE_SIZE
    )
    shared_width = _int(
        config, ("shared_expert_intermediate_size",), maximum=MAX_INTERMEDIATE_SIZE, default=0, minimum=0
    )
    n_shared = _int(config, ("n_shared_experts", "num_shared_experts"), maximum=MAX_EXPERTS, default=0, minimum=0)
    shared_width = shared_width or n_shared * width
    first_dense = _int(config, ("first_k_dense_replace",), maximum=MAX_LAYERS, default=0, minimum=0)
    frequency = _int(config, ("moe_layer_freq", "decoder_sparse_step"), maximum=MAX_LAYERS, default=1)
    dense_only = config.get("mlp_only_layers") or []
    if not isinstance(dense_only, list):
        raise ConfigError("mlp_only_layers", f"must be a list of layer indices, got {dense_only!r}")
    # a set: a pasted list may be long, and is looked up once per layer
    dense_only = {i for i in dense_only if isinstance(i, int | float) and not isinstance(i, bool)}
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
        q_lora_rank=_int(config, ("q_lora_rank",), maximum=MAX_HIDDEN_SIZE) if q_rank else None,
        kv_lora_rank=_int(config, ("kv_lora_rank",), maximum=MAX_HIDDEN_SIZE),
        qk_nope_head_dim=_int(config, ("qk_nope_head_dim",), maximum=MAX_HEAD_DIM),
        qk_rope_head_dim=_int(config, ("qk_rope_head_dim",), maximum=MAX_HEAD_DIM),
        v_head_dim=_int(config, ("v_head_dim",), maximum=MAX_HEAD_DIM),
    )


def _kv_heads(config: Mapping[str, Any], model_type: str, heads: int) -> int:
    if model_type == "falcon":
        if config.get("new_decoder_architecture"):
            return _int(config, ("num_kv_heads", "n_head_kv", "num_key_value_heads"), maximum=MAX_HEADS, default=heads)
        if config.get("multi_query", True):  # Falcon's config default is multi-query
            return 1
        return heads
    if config.get("multi_query") is True:
        return 1
    return _int(
        config,
        ("num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num"),
        maximum=MAX_HEADS,
        default=heads,
    )


def parse_hf_config(raw: Mapping[str, Any]) -> ModelArchitecture:
    """Normalise a Hugging Face config.json; raises `ConfigError` naming the first field that is missing or wrong."""
    if not isinstance(raw, Mapping):
        raise ConfigError("", f"must be a JSON object (a Hugging Face config.json), got {type(raw).__name__}")
    config = _text_config(raw)
    model_type = str(config.get("model_type") or "").lower()
    config = _FAMILY_DEFAULTS.get(model_type, {}) | dict(config)
    layers = _int(config, ("num_hidden_layers", "n_layer", "n_layers", "num_layers"), maximum=MAX_LAYERS)
    hidden = _int(config, ("hidden_size", "n_embd", "d_model"), maximum=MAX_HIDDEN_SIZE)
    heads = _int(config, ("num_attention_heads", "n_head", "n_heads", "num_heads"), maximum=MAX_HEADS)
    kv_heads = _kv_heads(config, model_type, heads)
    if heads % kv_heads:
        raise ConfigError("num_key_value_heads", f"{kv_heads} does not divide num_attention_heads={heads}")
    head_dim = _int(config, ("head_dim",), maximum=MAX_HEAD_DIM, default=hidden // heads)
    if config.get("head_dim") is None and hidden % heads:
        raise ConfigError("num_attention_heads", f"{heads} does not divide hidden_size={hidden}")
    intermediate = _int(
        config,
        ("intermediate_size", "ffn_hidden_size", "n_inner", "ffn_dim"),
        maximum=MAX_INTERMEDIATE_SIZE,
        default=4 * hidden,
    )
    vocab = _int(config, ("vocab_size", "padded_vocab_size", "n_vocab"), maximum=MAX_VOCAB_SIZE)
    window = _sliding_window(config)
    num_sliding = _sliding_layers(config, layers, window)
    # Falcon and BLOOM tie their output projection to the embeddings without always saying so.
    tied_default = model_type in {"falcon", "bloom", "gemma", "gemma2", "gemma3", "gemma3_text"}
    tie = config.get("tie_word_embeddings")
    arch = ModelArchitecture(
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
            maximum=MAX_CONTEXT,
            default=_DEFAULT_CONTEXT,
        ),
        gated_mlp=model_type not in _UNGATED_MLP,
        biased_linears=model_type in _BIASED_LINEARS,
        sliding_window=window if num_sliding else None,
        num_sliding_layers=num_sliding,
        mla=_mla(config),
        moe=_moe(config, layers, hidden),
    )
    # Counts within their own bounds can still multiply past any real model (the widest MLP in every layer of the
    # deepest stack); the total is what memory and the stored parameter count must hold.
    if arch.param_count > MAX_PARAMETERS:
        raise ConfigError(
            "",
            f"describes {arch.param_count:,} parameters, more than the {MAX_PARAMETERS:,} this service accepts "
            "(the largest published model has 1.6 trillion)",
        )
    return arch
