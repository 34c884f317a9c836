"""Authentication: HTTP 401 without a valid key on every route but the probes and the browser pages
(tests/web/test_pages.py), websockets refused at `connection_init` in both protocols, and development mode answering
without keys."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from starlette.applications import Starlette

from budsim.core.auth import Scope
from budsim.db import api_keys
from budsim.settings import Settings
from tests.api.helpers import SUBSCRIPTION
from tests.api.ws import connection_init
from tests.conftest import LiveServer, bearer, serve

QUERY = {"query": "{ models { name } }"}
DELETE_MISSING = 'mutation { deleteHardwareProfile(id: "00000000-0000-4000-8000-000000000000") { __typename } }'


@pytest.fixture
async def anonymous(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://budsim.test") as http:
        yield http


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/graphql"), ("GET", "/graphql"), ("GET", "/api/hardware-profiles"), ("POST", "/simulate")],
)
async def test_every_route_but_the_probes_needs_a_key(anonymous: httpx.AsyncClient, method: str, path: str) -> None:
    """Routes added later (REST, under /api) are covered without doing anything: even an unknown path is 401."""
    assert_unauthenticated(await anonymous.request(method, path, json=QUERY))


@pytest.mark.parametrize(
    "authorization", ["Bearer budsim_not-a-key", "Bearer ", "Basic dXNlcjpwYXNz", "budsim_no-scheme"]
)
async def test_a_bad_key_or_header_is_401(anonymous: httpx.AsyncClient, authorization: str) -> None:
    assert_unauthenticated(await anonymous.post("/graphql", json=QUERY, headers={"Authorization": authorization}))


async def test_the_probes_answer_without_a_key(anonymous: httpx.AsyncClient) -> None:
    assert (await anonymous.get("/healthz")).status_code == 200
    ready = await anonymous.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["auth"] == "enabled"


async def test_a_key_answers_until_it_is_revoked(app: Starlette, anonymous: httpx.AsyncClient) -> None:
    key, token = await api_keys.create(app.state.sessionmaker, "revoke-me", Scope.READ)
    answered = await anonymous.post("/graphql", json=QUERY, headers=bearer(token))
    assert answered.status_code == 200
    assert answered.json()["data"]["models"]
    [listed] = [k for k in await api_keys.list_all(app.state.sessionmaker) if k.id == key.id]
    assert listed.last_used_at is not None
    assert listed.revoked_at is None
    await api_keys.revoke(app.state.sessionmaker, key.id)
    assert_unauthenticated(await anonymous.post("/graphql", json=QUERY, headers=bearer(token)))


async def _open(server: LiveServer, protocol: str, init: dict[str, Any]) -> tuple[list[dict[str, Any]], int | None]:
    """What the server says to a `connection_init`, and the close code if it closed the socket."""
    said: list[dict[str, Any]] = []
    async with websockets.connect(server.ws_url, subprotocols=[protocol]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps(init))
        try:
            while True:
                said.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=10)))
                if said[-1]["type"] == "connection_ack":
                    return said, None
        except websockets.ConnectionClosed as closed:
            return said, closed.rcvd.code if closed.rcvd else None


REFUSED_INITS = [
    {"type": "connection_init"},
    {"type": "connection_init", "payload": {"Authorization": "Bearer budsim_wrong"}},
    {"type": "connection_init", "payload": {"token": "budsim_wrong"}},
]


@pytest.mark.parametrize("init", REFUSED_INITS, ids=["none", "bad-header", "bad-token"])
async def test_graphql_transport_ws_closes_4403_without_a_valid_key(
    live_server: LiveServer, init: dict[str, Any]
) -> None:
    said, code = await _open(live_server, "graphql-transport-ws", init)
    assert (said, code) == ([], 4403)


@pytest.mark.parametrize("init", REFUSED_INITS, ids=["none", "bad-header", "bad-token"])
async def test_graphql_ws_answers_connection_error_without_a_valid_key(
    live_server: LiveServer, init: dict[str, Any]
) -> None:
    said, _code = await _open(live_server, "graphql-ws", init)
    [error] = said
    assert error["type"] == "connection_error"
    assert error["payload"]["extensions"] == {"code": "UNAUTHENTICATED"}


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_a_valid_key_in_connection_init_is_acknowledged(live_server: LiveServer, protocol: str) -> None:
    by_token = {"type": "connection_init", "payload": {"token": live_server.token}}
    for init in (json.loads(connection_init(live_server.token)), by_token):
        said, code = await _open(live_server, protocol, init)
        assert said[-1]["type"] == "connection_ack"
        assert code is None


async def test_a_revoked_key_is_refused_on_a_websocket(live_server: LiveServer) -> None:
    key, token = await api_keys.create(live_server.app.state.sessionmaker, "ws-revoked", Scope.READ)
    await api_keys.revoke(live_server.app.state.sessionmaker, key.id)
    init = {"type": "connection_init", "payload": {"token": token}}
    assert await _open(live_server, "graphql-transport-ws", init) == ([], 4403)


async def test_a_subscribe_before_connection_init_is_refused(live_server: LiveServer) -> None:
    async with websockets.connect(live_server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


@pytest.mark.parametrize(
    ("url", "disabled", "enabled"),
    [
        ("sqlite:///./budsim.db", None, False),
        ("postgresql://db/budsim", None, True),
        ("sqlite:///./budsim.db", False, True),
        ("postgresql://db/budsim", True, False),
    ],
)
def test_auth_is_on_with_postgresql_unless_said_otherwise(url: str, disabled: bool | None, enabled: bool) -> None:
    assert Settings(database_url=url, auth_disabled=disabled).auth_enabled is enabled


async def test_development_mode_answers_without_a_key_and_says_so(
    tmp_path: Path, model_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from budsim.db import migrate

    url = f"sqlite+aiosqlite:///{tmp_path}/dev.db"
    await migrate.upgrade_url(url)
    with caplog.at_level(logging.WARNING, logger="budsim"):
        async with serve(Settings(database_url=url, model_path=model_path, run_worker=False)) as server:
            assert server.token is None
            async with httpx.AsyncClient(base_url=server.http_url) as http:
                answered = await http.post("/graphql", json={"query": DELETE_MISSING})
                ready = await http.get("/readyz")
            said, code = await _open(server, "graphql-transport-ws", {"type": "connection_init"})
    assert answered.status_code == 200
    assert answered.json()["data"]["deleteHardwareProfile"]["__typename"] == "NotFoundError"  # admin, by default
    assert ready.json()["auth"] == "disabled"
    assert said == [{"type": "connection_ack"}]
    assert code is None
    assert any("AUTHENTICATION IS DISABLED" in record.message for record in caplog.records)
