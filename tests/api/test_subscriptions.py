"""Subscriptions over real websockets, in both protocols clients speak."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import websockets

from budsim.resolvers.hardware import TOPIC
from budsim.settings import Settings
from tests.api.helpers import SUBSCRIPTION, unique, until_subscribed
from tests.api.ws import connection_init, subscribe
from tests.conftest import LiveServer, gql_data, migrated_database, serve

CREATE = """
mutation($name: String!) {
  createHardwareProfile(input: {name: $name, gpuType: "H200-SXM", gpuCount: 8}) { ... on HardwareProfile { id } }
}
"""
DELETE = "mutation($id: ID!) { deleteHardwareProfile(id: $id) { __typename } }"
PROTOCOLS = {
    # protocol: (subscribe message type, data message type)
    "graphql-transport-ws": ("subscribe", "next"),
    "graphql-ws": ("start", "data"),
}


async def receive(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        if message["type"] == kind:
            return message
        assert message["type"] in {"ka", "ping", "pong"}, message


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
async def test_profile_changes_are_pushed_to_subscribers(live_server: LiveServer, protocol: str) -> None:
    subscribe_type, data_type = PROTOCOLS[protocol]
    async with (
        websockets.connect(live_server.ws_url, subprotocols=[protocol]) as ws,  # type: ignore[list-item]
        live_server.client() as http,
    ):
        await ws.send(connection_init(live_server.token))
        await receive(ws, "connection_ack")
        await ws.send(json.dumps({"id": "1", "type": subscribe_type, "payload": {"query": SUBSCRIPTION}}))
        await until_subscribed(live_server)

        name = unique("sub")
        created = (await gql_data(http, CREATE, name=name))["createHardwareProfile"]
        await gql_data(http, DELETE, id=created["id"])

        first = await receive(ws, data_type)
        second = await receive(ws, data_type)
        assert first["id"] == second["id"] == "1"
        assert first["payload"]["data"]["hardwareProfileEvents"] == {
            "kind": "CREATED",
            "id": created["id"],
            "profile": {"name": name, "gpuCount": 8},
        }
        assert second["payload"]["data"]["hardwareProfileEvents"] == {
            "kind": "DELETED",
            "id": created["id"],
            "profile": None,
        }


async def test_closing_the_socket_unsubscribes(live_server: LiveServer) -> None:
    async with websockets.connect(live_server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(connection_init(live_server.token))
        await receive(ws, "connection_ack")
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
        await until_subscribed(live_server)
    for _ in range(500):
        if live_server.app.state.events.subscriber_count(TOPIC) == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the subscriber queue outlived its socket")


UPDATE = """
mutation($id: ID!, $specs: JSON!) {
  updateHardwareProfile(id: $id, input: {specs: $specs}) { __typename }
}
"""
FULL_SUBSCRIPTION = "subscription { hardwareProfileEvents { kind id profile { id name gpuCount specs createdAt } } }"


async def test_a_subscriber_on_one_process_sees_changes_made_through_another(tmp_path: Path, model_path: Path) -> None:
    """Two servers on one PostgreSQL database, as `budsim serve --processes 2` runs them: news crosses by NOTIFY."""
    async with migrated_database("postgresql", tmp_path) as url:
        settings = Settings(database_url=url, model_path=model_path, run_worker=False, simulate_processes=0)
        async with (
            serve(settings) as a,
            serve(settings) as b,
            b.client() as http,
            subscribe(a, FULL_SUBSCRIPTION) as events,
        ):
            await until_subscribed(a)
            name = unique("across")
            created = (await gql_data(http, CREATE, name=name))["createHardwareProfile"]
            seen = [await events.next(timeout_s=10)]
            # Specs past NOTIFY's 8000 bytes: the news carries the id alone and A reads the row (before the delete).
            large = {"notes": "x" * 9000}
            assert (await gql_data(http, UPDATE, id=created["id"], specs=large))["updateHardwareProfile"] == {
                "__typename": "HardwareProfile"
            }
            seen.append(await events.next(timeout_s=10))
            await gql_data(http, DELETE, id=created["id"])
            seen.append(await events.next(timeout_s=10))
    kinds = [payload["data"]["hardwareProfileEvents"] for payload in seen if payload is not None]
    assert [event["kind"] for event in kinds] == ["CREATED", "UPDATED", "DELETED"]
    assert all(event["id"] == created["id"] for event in kinds)
    assert kinds[0]["profile"]["name"] == name
    assert kinds[0]["profile"]["gpuCount"] == 8
    assert kinds[0]["profile"]["createdAt"]
    assert kinds[1]["profile"]["specs"]["notes"] == "x" * 9000
    assert kinds[2]["profile"] is None
