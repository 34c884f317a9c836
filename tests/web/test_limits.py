"""Abuse limits: request bodies (budsim.web.body) and what one GraphQL operation may ask for."""

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from budsim.settings import Settings
from tests.conftest import LiveServer, gql_data, migrated_database, serve

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

    async with httpx.AsyncClient(base_url=server.http_url) as http:
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
