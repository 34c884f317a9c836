"""Subscriptions over real websockets, in both protocols clients speak."""

import asyncio
import json
from typing import Any

import pytest
import websockets

from budsim.resolvers.hardware import TOPIC
from tests.api.helpers import SUBSCRIPTION, unique, until_subscribed
from tests.api.ws import connection_init
from tests.conftest import LiveServer, gql_data

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
