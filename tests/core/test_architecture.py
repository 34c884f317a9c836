"""`parse_hf_config`'s bounds: every count a pasted config.json sets is capped by what a model could physically be.

Each bound is meant to sit 30-100x beyond the largest published model, so every real config parses and only
hostile ones (10^9 layers, which overflowed the stored 64-bit parameter count) are refused, naming their key.
"""

from typing import Any

import pytest

from budsim.core.architecture import (
    MAX_CONTEXT,
    MAX_EXPERTS,
    MAX_HEAD_DIM,
    MAX_HEADS,
    MAX_HIDDEN_SIZE,
    MAX_INTERMEDIATE_SIZE,
    MAX_LAYERS,
    MAX_PARAMETERS,
    MAX_VOCAB_SIZE,
    ModelArchitecture,
    parse_hf_config,
)
from budsim.core.catalog.dataset_models import DATASET_MODELS
from budsim.core.catalog.models import CATALOG_MODELS
from budsim.core.errors import ConfigError

LLAMA: dict[str, Any] = {
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
}
REAL_CONFIGS = [model.config for model in CATALOG_MODELS] + [config for config, *_ in DATASET_MODELS.values()]


def _largest(pick: Any) -> int:
    return max(int(pick(parse_hf_config(config))) for config in REAL_CONFIGS)


@pytest.mark.parametrize(
    ("name", "bound", "pick"),
    [
        ("layers", MAX_LAYERS, lambda a: a.num_layers),
        ("hidden size", MAX_HIDDEN_SIZE, lambda a: a.hidden_size),
        ("heads", MAX_HEADS, lambda a: a.num_heads),
        ("head dim", MAX_HEAD_DIM, lambda a: a.head_dim),
        ("MLP width", MAX_INTERMEDIATE_SIZE, lambda a: a.intermediate_size),
        ("vocabulary", MAX_VOCAB_SIZE, lambda a: a.vocab_size),
        ("context", MAX_CONTEXT, lambda a: a.max_context),
        ("experts", MAX_EXPERTS, lambda a: a.moe.num_experts if a.moe else 0),
        ("parameters", MAX_PARAMETERS, lambda a: a.param_count),
    ],
)
def test_every_catalog_model_parses_at_least_30x_inside_each_bound(name: str, bound: int, pick: Any) -> None:
    assert _largest(pick) * 30 <= bound, name


@pytest.mark.parametrize(
    ("key", "bound"),
    [
        ("num_hidden_layers", MAX_LAYERS),
        ("hidden_size", MAX_HIDDEN_SIZE),
        ("intermediate_size", MAX_INTERMEDIATE_SIZE),
        ("vocab_size", MAX_VOCAB_SIZE),
        ("max_position_embeddings", MAX_CONTEXT),
    ],
)
def test_a_count_is_accepted_at_its_bound_and_refused_one_past_it(key: str, bound: int) -> None:
    config = {**LLAMA, "num_hidden_layers": 2, "hidden_size": 128, "num_attention_heads": 1, "num_key_value_heads": 1}
    assert isinstance(parse_hf_config({**config, key: bound}), ModelArchitecture)
    with pytest.raises(ConfigError) as raised:
        parse_hf_config({**config, key: bound + 1})
    assert raised.value.field == key
    assert f"{bound:,}" in raised.value.message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"num_hidden_layers": 10**9}, "num_hidden_layers"),
        ({"n_layer": 10**9, "num_hidden_layers": None}, "num_hidden_layers"),  # named by the canonical key
        ({"num_attention_heads": 2**40, "num_key_value_heads": 2**40}, "num_attention_heads"),
        ({"num_key_value_heads": 2**40}, "num_key_value_heads"),
        ({"head_dim": 10**6}, "head_dim"),
        ({"vocab_size": 10**30}, "vocab_size"),
        ({"vocab_size": 1e30}, "vocab_size"),
        ({"vocab_size": -5}, "vocab_size"),
        ({"vocab_size": 0.5}, "vocab_size"),
        ({"vocab_size": "128256"}, "vocab_size"),
        ({"vocab_size": True}, "vocab_size"),
        ({"vocab_size": [1]}, "vocab_size"),
        ({"vocab_size": float("inf")}, "vocab_size"),
        ({"vocab_size": float("nan")}, "vocab_size"),
        ({"sliding_window": float("inf")}, "sliding_window"),
        ({"sliding_window": 10**12}, "sliding_window"),
        ({"num_local_experts": 10**9, "num_experts_per_tok": 2}, "num_local_experts"),
        ({"num_local_experts": 8, "num_experts_per_tok": 2, "moe_intermediate_size": 2**40}, "moe_intermediate_size"),
        ({"num_local_experts": 8, "num_experts_per_tok": 2, "n_shared_experts": 10**9}, "n_shared_experts"),
        ({"num_local_experts": 8, "num_experts_per_tok": 2, "moe_layer_freq": 10**9}, "moe_layer_freq"),
        ({"num_local_experts": 8, "num_experts_per_tok": 2, "mlp_only_layers": "0,1"}, "mlp_only_layers"),
        ({"kv_lora_rank": 10**9}, "kv_lora_rank"),
        (
            {"kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 10**9, "v_head_dim": 128},
            "qk_rope_head_dim",
        ),
    ],
)
def test_hostile_counts_raise_a_config_error_naming_the_key(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_hf_config({**LLAMA, **change})
    assert raised.value.field == field


def test_counts_each_within_bounds_that_multiply_past_max_parameters_are_refused_as_a_whole() -> None:
    huge = {"num_hidden_layers": MAX_LAYERS, "hidden_size": 2**19, "num_attention_heads": 4096, "head_dim": 128}
    with pytest.raises(ConfigError) as raised:
        parse_hf_config({**LLAMA, **huge, "num_key_value_heads": 4096})
    assert raised.value.field == ""
    assert "parameters" in raised.value.message
