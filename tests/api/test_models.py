"""Model registration from Hugging Face config.json files, and model queries."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from budsim.core.architecture import MAX_CONTEXT, MAX_LAYERS
from tests.api.helpers import CHAT, SIMULATE, profile_id, row_counts, unique
from tests.api.test_optimize import OPTIMIZE
from tests.conftest import gql, gql_data

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hf_configs"
REGISTER = """
mutation Register($name: String!, $config: JSON!, $source: String) {
  registerModel(name: $name, config: $config, source: $source) {
    __typename
    ... on Model {
      id name parameterCount source
      architecture { modelType numLayers hiddenSize numAttentionHeads numKeyValueHeads headDim vocabSize isMoe
                     numExperts expertsPerToken usesMla tieWordEmbeddings maxContext activeParameterCount }
    }
    ... on ValidationError { field message }
    ... on ConflictError { field message }
  }
}
"""
LLAMA_31_8B = {  # https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct/blob/main/config.json
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "max_position_embeddings": 131072,
    "tie_word_embeddings": False,
}


async def register(client: httpx.AsyncClient, name: str, config: Any, source: str | None = None) -> dict[str, Any]:
    return (await gql_data(client, REGISTER, name=name, config=config, source=source))["registerModel"]


async def test_registering_a_llama_config_counts_its_published_parameters(client: httpx.AsyncClient) -> None:
    name = unique("acme/llama-3.1-8b")
    model = await register(client, name, LLAMA_31_8B, "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct")

    assert model["__typename"] == "Model"
    assert model["parameterCount"] == 8_030_261_248  # the safetensors total on the model page: 8.03B
    assert model["source"] == "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct"
    assert model["architecture"] == {
        "modelType": "llama",
        "numLayers": 32,
        "hiddenSize": 4096,
        "numAttentionHeads": 32,
        "numKeyValueHeads": 8,
        "headDim": 128,
        "vocabSize": 128256,
        "isMoe": False,
        "numExperts": None,
        "expertsPerToken": None,
        "usesMla": False,
        "tieWordEmbeddings": False,
        "maxContext": 131072,
        "activeParameterCount": 8_030_261_248 - 128256 * 4096,
    }


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*__*.json")))
async def test_older_config_layouts_register_with_published_parameter_counts(
    client: httpx.AsyncClient, fixture: str
) -> None:
    """BLOOM (`n_layer`, `n_head`), GPT-NeoX and Falcon (multi-query, new decoder) layouts all parse."""
    hf_id = fixture.removesuffix(".json").replace("__", "/")
    published = json.loads((FIXTURES / "published.json").read_text())[hf_id]["published_params_b"]
    model = await register(client, unique(hf_id), json.loads((FIXTURES / fixture).read_text()))
    assert model["__typename"] == "Model", model
    assert model["parameterCount"] / 1e9 == pytest.approx(published, rel=0.02)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ([1, 2, 3], "config"),
        ("a config", "config"),
        ({}, "config.num_hidden_layers"),
        ({**LLAMA_31_8B, "num_hidden_layers": -4}, "config.num_hidden_layers"),
        ({**LLAMA_31_8B, "hidden_size": "big"}, "config.hidden_size"),
        ({**LLAMA_31_8B, "num_key_value_heads": 5}, "config.num_key_value_heads"),
        ({k: v for k, v in LLAMA_31_8B.items() if k != "vocab_size"}, "config.vocab_size"),
        # hostile counts: each once overflowed the 64-bit parameter count or crashed the parser
        ({**LLAMA_31_8B, "num_hidden_layers": 10**9}, "config.num_hidden_layers"),
        ({**LLAMA_31_8B, "hidden_size": 10**9}, "config.hidden_size"),
        ({**LLAMA_31_8B, "vocab_size": 10**30}, "config.vocab_size"),
        ({**LLAMA_31_8B, "intermediate_size": 2**62}, "config.intermediate_size"),
        ({**LLAMA_31_8B, "num_attention_heads": 10**6, "num_key_value_heads": 10**6}, "config.num_attention_heads"),
        ({**LLAMA_31_8B, "max_position_embeddings": 10**30}, "config.max_position_embeddings"),
        ({**LLAMA_31_8B, "num_local_experts": 10**9, "num_experts_per_tok": 2}, "config.num_local_experts"),
        ({**LLAMA_31_8B, "num_hidden_layers": 1e30}, "config.num_hidden_layers"),
        ({**LLAMA_31_8B, "num_hidden_layers": 2.5}, "config.num_hidden_layers"),
        ({**LLAMA_31_8B, "num_hidden_layers": "32"}, "config.num_hidden_layers"),
        ({**LLAMA_31_8B, "num_hidden_layers": True}, "config.num_hidden_layers"),
        (
            {
                **LLAMA_31_8B,
                "model_type": "mixtral",
                "num_local_experts": 8,
                "num_experts_per_tok": 2,
                "mlp_only_layers": 3,
            },
            "config.mlp_only_layers",
        ),
        # every count within its bound, but together 10^17 parameters
        (
            {
                **LLAMA_31_8B,
                "num_hidden_layers": 10_000,
                "hidden_size": 1_000_000,
                "num_attention_heads": 8_000,
                "num_key_value_heads": 8_000,
                "head_dim": 125,
            },
            "config",
        ),
    ],
)
async def test_malformed_configs_name_the_field_and_write_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, config: Any, field: str
) -> None:
    before = await row_counts(engine)
    result = await register(client, unique("org/bad"), config)
    assert result["__typename"] == "ValidationError"
    assert result["field"] == field
    assert await row_counts(engine) == before


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("num_hidden_layers", "Infinity", "config.num_hidden_layers"),
        ("num_hidden_layers", "NaN", "config.num_hidden_layers"),
        ("sliding_window", "Infinity", "config.sliding_window"),
        ("rope_theta", "-Infinity", "config.rope_theta"),  # a key the parser ignores: PostgreSQL's jsonb refuses it
    ],
)
async def test_non_finite_counts_name_the_field_and_write_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, key: str, value: str, field: str
) -> None:
    """Python's json (and so the server) reads `Infinity` and `NaN`, which no client library writes: sent raw."""
    config = json.dumps({**LLAMA_31_8B, key: 0}).replace(f'"{key}": 0', f'"{key}": {value}')
    body = f'{{"query": {json.dumps(REGISTER)}, "variables": {{"name": "{unique("org/inf")}", "config": {config}}}}}'
    before = await row_counts(engine)
    response = await client.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    result = response.json()["data"]["registerModel"]
    assert (result["__typename"], result["field"]) == ("ValidationError", field)
    assert await row_counts(engine) == before


@pytest.mark.parametrize("name", ["", "   ", "has spaces/in it", "a/b/c", "/leading-slash"])
async def test_model_names_must_look_like_hugging_face_ids(client: httpx.AsyncClient, name: str) -> None:
    result = await register(client, name, LLAMA_31_8B)
    assert result["__typename"] == "ValidationError"
    assert result["field"] == "name"


async def test_duplicate_model_name_is_a_conflict(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    name = unique("org/dup")
    await register(client, name, LLAMA_31_8B)
    before = await row_counts(engine)
    again = await register(client, name, LLAMA_31_8B)
    assert again == {"__typename": "ConflictError", "field": "name", "message": again["message"]}
    assert await row_counts(engine) == before


async def test_models_search_is_case_insensitive_substring_and_literal(client: httpx.AsyncClient) -> None:
    tag = unique("Search")
    names = [f"org/{tag}-alpha", f"org/{tag}-beta", f"other/{tag}_gamma"]
    for name in names:
        await register(client, name, LLAMA_31_8B)
    query = "query($s: String) { models(search: $s) { name } }"
    found = [m["name"] for m in (await gql_data(client, query, s=tag.upper()))["models"]]
    assert found == sorted(names)
    # `_` and `%` match themselves, not any character
    assert [m["name"] for m in (await gql_data(client, query, s=f"{tag}_"))["models"]] == [f"other/{tag}_gamma"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ('query { models(search: "llama\\u0000") { name } }', "search"),
        ('query { hardwareProfiles(gpuType: "H100\\u0000") { totalCount } }', "gpuType"),
        ('query { hardwareProfiles(after: "WyJcdTAwMDAiXQ==") { totalCount } }', "after"),  # the cursor ["\u0000"]
    ],
    ids=["search", "gpuType", "cursor"],
)
async def test_a_nul_character_in_a_query_filter_is_the_callers_error_naming_it(
    client: httpx.AsyncClient, query: str, field: str
) -> None:
    # PostgreSQL cannot compare text with U+0000: the query failed as an internal error until it was refused here.
    body = await gql(client, query)
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_model_by_id_and_unknown_id(client: httpx.AsyncClient) -> None:
    model = await register(client, unique("org/by-id"), LLAMA_31_8B)
    query = "query($id: ID!) { model(id: $id) { name architecture { numLayers } } }"
    assert (await gql_data(client, query, id=model["id"]))["model"] == {
        "name": model["name"],
        "architecture": {"numLayers": 32},
    }
    assert (await gql_data(client, query, id="00000000-0000-4000-8000-000000000000"))["model"] is None
    assert (await gql(client, query, id="x"))["errors"][0]["extensions"]["field"] == "id"


# The largest model each bound lets through in depth and context: 10,000 Llama-8B layers (2.2T parameters) that
# claim a 2^30-token context.
DEEPEST_ACCEPTED = {**LLAMA_31_8B, "num_hidden_layers": MAX_LAYERS, "max_position_embeddings": MAX_CONTEXT}


async def test_a_model_at_the_bounds_registers_simulates_and_optimizes_with_typed_answers(
    client: httpx.AsyncClient,
) -> None:
    """What registers must also simulate and optimize without overflowing: every answer is a typed one."""
    name = unique("org/deepest")
    model = await register(client, name, DEEPEST_ACCEPTED)
    assert model["__typename"] == "Model", model
    assert model["parameterCount"] > 2e12
    profile = await profile_id(client, "H100-SXM x8")
    simulated = (
        await gql_data(client, SIMULATE, input={"modelId": model["id"], "hardwareProfileId": profile, "workload": CHAT})
    )["simulate"]
    assert simulated["__typename"] in {"Simulation", "ValidationError"}, simulated
    optimized = (await gql_data(client, OPTIMIZE, input={"modelId": model["id"], "hardwareProfileIds": [profile]}))[
        "optimize"
    ]
    assert optimized["__typename"] in {"OptimizationJob", "ValidationError"}, optimized
