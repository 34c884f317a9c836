"""Hostile input, generated: queries and mutations built from the committed schema.graphql, sent to the real app.

Whatever a client sends, the answer must be a typed one: no 5xx, no "Internal server error", no traceback text, an
`extensions.code` on every error, and a database whose rows still hang together afterwards. `make test` runs a few
hundred cases per backend; FUZZ_EXAMPLES=5000 runs thousands (docs/operations.md, "Hostile input", has the figures).
"""

import json
import os
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

SCHEMA = (Path(__file__).parents[2] / "schema.graphql").read_text()
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "250"))
TRACEBACK_MARKS = ("Traceback (most recent call last)", 'File "/', "sqlalchemy.exc", "asyncpg.exceptions")


def headers() -> dict[str, str]:
    """Every fuzz request's headers, in one place: where an Authorization header goes once the API asks for one."""
    return {"content-type": "application/json"}


def _json_value(value: Any) -> graphql.ValueNode:
    node = graphql.ast_from_value(value, graphql.GraphQLString) if isinstance(value, str) else None
    if node is not None:
        return node
    if value is None:
        return graphql.NullValueNode()
    if isinstance(value, bool):
        return graphql.BooleanValueNode(value=value)
    if isinstance(value, int):
        return graphql.IntValueNode(value=str(value))
    if isinstance(value, float):
        return graphql.FloatValueNode(value=repr(value))
    if isinstance(value, list):
        return graphql.ListValueNode(values=tuple(_json_value(item) for item in value))
    return graphql.ObjectValueNode(
        fields=tuple(
            graphql.ObjectFieldNode(name=graphql.NameNode(value=key), value=_json_value(item))
            for key, item in value.items()
        )
    )


_KEYS = st.sampled_from(
    ["model_type", "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
     "intermediate_size", "vocab_size", "max_position_embeddings", "torch_dtype", "architectures", "num_experts",
     "head_dim", "tie_word_embeddings", "rope_scaling"]
)  # fmt: skip
_LEAVES = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=12)
JSON_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS | st.text(max_size=8), inner, max_size=6),
    max_leaves=12,
)
CUSTOM_SCALARS = {
    "JSON": JSON_VALUES.map(_json_value),
    "DateTime": st.datetimes().map(lambda moment: graphql.StringValueNode(value=moment.isoformat())),
}


class _NoWaiting(graphql.Visitor):
    def enter_field(self, node: graphql.FieldNode, *_: Any) -> graphql.FieldNode | None:
        if node.name.value != "optimize":
            return None
        kept = tuple(argument for argument in node.arguments or () if argument.name.value != "wait")
        wait = graphql.ArgumentNode(name=graphql.NameNode(value="wait"), value=graphql.BooleanValueNode(value=False))
        return graphql.FieldNode(
            alias=node.alias, name=node.name, arguments=(*kept, wait), directives=node.directives,
            selection_set=node.selection_set,
        )  # fmt: skip


def no_waiting(document: graphql.DocumentNode) -> str:
    """`optimize` answers when its job ends unless told `wait: false`; the fuzzer wants the answer, not the search."""
    return graphql.print_ast(graphql.visit(document, _NoWaiting()))


OPERATIONS = st.one_of(
    queries(SCHEMA, custom_scalars=CUSTOM_SCALARS, print_ast=no_waiting),
    mutations(SCHEMA, custom_scalars=CUSTOM_SCALARS, print_ast=no_waiting),
)


def assert_typed_answer(response: httpx.Response) -> None:
    """The properties every answer keeps, however hostile the request."""
    assert response.status_code < 500, response.text
    for mark in ("Internal server error", *TRACEBACK_MARKS):
        assert mark not in response.text, response.text
    body = response.json()
    for error in body.get("errors") or []:
        assert (error.get("extensions") or {}).get("code"), error


async def assert_rows_hang_together(engine: AsyncEngine) -> None:
    """Every reference resolves and no row is half-written, whatever the fuzzer managed to store."""
    dangling = {
        "simulation without its model": "SELECT count(*) FROM simulations s LEFT JOIN models m ON m.id = s.model_id "
        "WHERE m.id IS NULL",
        "simulation without its profile": "SELECT count(*) FROM simulations s LEFT JOIN hardware_profiles h "
        "ON h.id = s.hardware_profile_id WHERE h.id IS NULL",
        "benchmark without its model": "SELECT count(*) FROM benchmark_runs b LEFT JOIN models m ON m.id = b.model_id "
        "WHERE m.id IS NULL",
        "job without its model": "SELECT count(*) FROM optimization_jobs j LEFT JOIN models m ON m.id = j.model_id "
        "WHERE m.id IS NULL",
        "job without its simulation": "SELECT count(*) FROM optimization_jobs j LEFT JOIN simulations s "
        "ON s.id = j.simulation_id WHERE j.simulation_id IS NOT NULL AND s.id IS NULL",
        "model without a name": "SELECT count(*) FROM models WHERE name = ''",
        "profile without a name": "SELECT count(*) FROM hardware_profiles WHERE name = ''",
        "succeeded job without its simulation": "SELECT count(*) FROM optimization_jobs "
        "WHERE status = 'SUCCEEDED' AND simulation_id IS NULL",
        "endpoint without its model": "SELECT count(*) FROM endpoints e LEFT JOIN models m ON m.id = e.model_id "
        "WHERE m.id IS NULL",
        "endpoint without a profile": "SELECT count(*) FROM endpoints e WHERE NOT EXISTS "
        "(SELECT 1 FROM endpoint_profiles p WHERE p.endpoint_id = e.id)",
        "endpoint profile without its profile": "SELECT count(*) FROM endpoint_profiles p "
        "LEFT JOIN hardware_profiles h ON h.id = p.hardware_profile_id WHERE h.id IS NULL",
        "deployment without its job": "SELECT count(*) FROM endpoint_deployments d LEFT JOIN optimization_jobs j "
        "ON j.id = d.job_id WHERE j.id IS NULL",
        "job of an endpoint that is gone": "SELECT count(*) FROM optimization_jobs j LEFT JOIN endpoints e "
        "ON e.id = j.endpoint_id WHERE j.endpoint_id IS NOT NULL AND e.id IS NULL",
    }
    async with engine.connect() as connection:
        for problem, query in dangling.items():
            assert (await connection.execute(text(query))).scalar_one() == 0, problem
        for table in ("hardware_profiles", "models", "simulations", "benchmark_runs", "optimization_jobs", "endpoints"):
            count = (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            assert 0 <= count < 100_000, (table, count)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    database=None,
)
@given(operation=OPERATIONS)
async def test_generated_operations_get_typed_answers(
    client: httpx.AsyncClient, engine: AsyncEngine, operation: str
) -> None:
    response = await client.post("/graphql", content=json.dumps({"query": operation}), headers=headers())
    assert_typed_answer(response)
    if operation.startswith("mutation"):
        await assert_rows_hang_together(engine)


# What the thousands-of-cases run sent when PostgreSQL refused a connection ("too many clients"): the answer and the
# rows must stay typed and whole whatever that mutation's four fields meet.
FOUND = [
    """mutation {
      deleteHardwareProfile(id: -2394660) { ... on ValidationError { message } }
      registerModel(name: "", config: [], source: "h100pcie") { ... on Model { id source } }
      simulate(input: {hardwareProfileId: "\u2b32\u009c", modelId: 201807, method: REGRESSOR, engine: SGLANG,
                       workload: {inputTokens: -483, outputTokens: 139650278, concurrency: null}, config: null}) {
        ... on Simulation { memory { totalGbPerGpu } }
      }
      cancelOptimization(id: -8834215) { ... on ValidationError { field } }
    }""",
]


@pytest.mark.parametrize("operation", FOUND)
async def test_cases_the_fuzzer_found(client: httpx.AsyncClient, engine: AsyncEngine, operation: str) -> None:
    response = await client.post("/graphql", content=json.dumps({"query": operation}), headers=headers())
    assert_typed_answer(response)
    await assert_rows_hang_together(engine)
