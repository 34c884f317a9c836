"""Abuse limits: request bodies (budsim.web.body) and what one GraphQL operation may ask for."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import parse, validate

from budsim.schema import build_schema
from budsim.schema.limits import QueryLimits, limit_rule
from budsim.settings import Settings
from tests.api.helpers import model_id, profile_id
from tests.conftest import LiveServer, gql, gql_data, migrated_database, serve

MIB = 1024 * 1024
QUERY = "query { gpuTypes { name } }"


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> AsyncIterator[LiveServer]:
    """A real uvicorn server with the default limits."""
    async with (
        migrated_database("sqlite", tmp_path_factory.mktemp("limits")) as url,
        serve(Settings(database_url=url, model_path=model_path, run_worker=False)) as live,
    ):
        yield live


async def _raw_post(server: LiveServer, headers: str, body: bytes) -> bytes:
    host, port = server.host.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(f"POST /graphql HTTP/1.1\r\nHost: {server.host}\r\n{headers}\r\n".encode() + body)
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), timeout=5)
    finally:
        writer.close()


async def test_a_declared_20_mb_body_is_refused_before_it_is_sent(server: LiveServer) -> None:
    started = time.perf_counter()
    answer = await _raw_post(server, f"Content-Type: application/json\r\nContent-Length: {20 * MIB}\r\n", b'{"query')
    elapsed = time.perf_counter() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"code": "PAYLOAD_TOO_LARGE"' in body
    assert b"MAX_REQUEST_BYTES" in body
    assert elapsed < 1.0


async def test_a_chunked_body_is_refused_at_the_chunk_that_crosses_the_bound(server: LiveServer) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"query": "' + b" " * (64 * 1024)
        sent += 1
        for _ in range(20 * 16):  # 20 MB in 64 KiB chunks, if the server read them all
            yield b" " * (64 * 1024)
            sent += 1

    async with server.client() as http:
        try:
            response = await http.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
        except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
            pass  # the server answered and closed while the client still wrote: refused, but unread here
        else:
            assert response.status_code == 413
            assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert sent < 20 * 16


async def test_a_20_mb_body_gets_413_in_the_app(client: httpx.AsyncClient) -> None:
    started = time.perf_counter()
    response = await client.post("/graphql", content=b" " * (20 * MIB), headers={"content-type": "application/json"})
    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "PAYLOAD_TOO_LARGE", "maxBytes": MIB}
    assert "MAX_REQUEST_BYTES" in error["message"]
    assert time.perf_counter() - started < 1.0


async def test_a_body_just_inside_the_bound_is_answered(client: httpx.AsyncClient) -> None:
    body = b'{"query": "' + QUERY.encode() + b'"}'
    padded = body + b" " * (MIB - len(body))  # JSON allows trailing white space
    response = await client.post("/graphql", content=padded, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["gpuTypes"]
    assert await gql_data(client, QUERY)


def _too_complex(body: dict[str, Any], setting: str) -> None:
    assert body.get("data") is None, body
    [error] = [e for e in body["errors"] if e["extensions"]["code"] == "QUERY_TOO_COMPLEX"]
    assert setting in error["message"]


def _depth_errors(query: str, limits: QueryLimits) -> list[str]:
    schema = build_schema(limits)
    return [e.message for e in validate(schema._schema, parse(query), [limit_rule(limits)])]


def test_depth_is_counted_through_fragments_and_refused_past_the_limit() -> None:
    query = "{ hardwareProfiles { ...P } } fragment P on HardwareProfileConnection { edges { node { name } } }"
    assert _depth_errors(query, QueryLimits(max_depth=3)) == []
    assert _depth_errors(query, QueryLimits(max_depth=2)) == [
        "The operation is 3 levels deep: at most 2 (MAX_QUERY_DEPTH)."
    ]


async def test_a_query_deeper_than_the_default_is_refused(client: httpx.AsyncClient) -> None:
    nested = "gpuTypes " + "{ a " * 11 + "}" * 11  # 11 levels with a selection
    _too_complex(await gql(client, "{ " + nested + " }"), "MAX_QUERY_DEPTH")


async def test_aliases_past_the_limit_are_refused_and_at_it_answered(client: httpx.AsyncClient) -> None:
    def aliased(count: int) -> str:
        return "{ " + " ".join(f"a{i}: gpuTypes {{ name }}" for i in range(count)) + " }"

    assert len(await gql_data(client, aliased(30))) == 30
    _too_complex(await gql(client, aliased(31)), "MAX_ALIASES")


async def test_documents_past_the_token_limit_are_refused_and_at_it_answered(client: httpx.AsyncClient) -> None:
    def tokens(count: int) -> str:
        # Three tokens and count - 3 comments, which count too. (A field repeated 5,000 times would instead trip
        # graphql-core's own budget for comparing overlapping fields.)
        return "{ __typename }\n" + "#\n" * (count - 3)

    assert await gql_data(client, tokens(5000)) == {"__typename": "Query"}
    _too_complex(await gql(client, tokens(5001)), "MAX_QUERY_TOKENS")


async def test_simulations_past_the_limit_are_refused_before_any_runs(client: httpx.AsyncClient) -> None:
    payload = {
        "modelId": await model_id(client, "meta-llama/Llama-3.1-8B-Instruct"),
        "hardwareProfileId": await profile_id(client, "H100-SXM x1"),
        "workload": {"inputTokens": 500, "outputTokens": 100, "concurrency": 4},
    }

    def simulations(count: int) -> str:
        fields = " ".join(f"s{i}: simulate(input: $input) {{ __typename }}" for i in range(count))
        return f"mutation($input: SimulateInput!) {{ {fields} }}"

    async def stored() -> int:
        count: int = (await gql_data(client, "{ simulations(first: 1) { totalCount } }"))["simulations"]["totalCount"]
        return count

    before = await stored()
    _too_complex(await gql(client, simulations(11), input=payload), "MAX_SIMULATIONS_PER_REQUEST")
    assert await stored() == before
    answered = await gql_data(client, simulations(10), input=payload)
    assert {value["__typename"] for value in answered.values()} == {"Simulation"}
    assert await stored() == before + 10


async def test_reruns_count_toward_the_same_limit(client: httpx.AsyncClient) -> None:
    """A rerun starts a prediction or a search as its original does: six of each kind are eleven too many."""
    fields = " ".join(
        f'{kind}{i}: {kind}(simulationId: "{uuid.uuid4()}") {{ __typename }}'
        for kind in ("resimulate", "reoptimize")
        for i in range(6)
    )
    _too_complex(await gql(client, f"mutation {{ {fields} }}"), "MAX_SIMULATIONS_PER_REQUEST")


INTROSPECTION = "{ __schema { queryType { name } } }"


async def test_introspection_is_answered_by_default(client: httpx.AsyncClient) -> None:
    assert (await gql_data(client, INTROSPECTION))["__schema"]["queryType"]["name"] == "Query"


async def test_introspection_is_refused_when_switched_off() -> None:
    schema = build_schema(QueryLimits(introspection=False))
    refused = await schema.execute(INTROSPECTION)
    assert refused.data is None
    messages = [error.message for error in refused.errors or []]  # graphql-core names each introspection field
    assert "introspection has been disabled" in messages[0]
    assert "'__schema'" in messages[0]
    assert all(message.endswith("(INTROSPECTION=false)") for message in messages)
    assert (await schema.execute("{ __typename }")).data == {"__typename": "Query"}
