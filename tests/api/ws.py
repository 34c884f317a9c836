"""A GraphQL subscription over a real websocket, in either protocol clients speak."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets

from tests.conftest import LiveServer

PROTOCOLS = {
    # protocol: (subscribe message type, data message type)
    "graphql-transport-ws": ("subscribe", "next"),
    "graphql-ws": ("start", "data"),
}
IDLE = {"ka", "ping", "pong"}


class Subscription:
    def __init__(self, ws: Any, protocol: str) -> None:
        self._ws = ws
        self._data_type = PROTOCOLS[protocol][1]

    async def next(self, timeout_s: float = 30) -> dict[str, Any] | None:
        """The next result (data and errors), or None once the server completes the subscription."""
        while True:
            message = json.loads(await asyncio.wait_for(self._ws.recv(), timeout=timeout_s))
            if message["type"] == self._data_type:
                return message["payload"]
            if message["type"] == "complete":
                return None
            if message["type"] == "error":
                return {"errors": message["payload"]}
            assert message["type"] in IDLE, message

    async def events(self, field: str, timeout_s: float = 60) -> list[dict[str, Any]]:
        """Every event of `field` until the server completes the subscription."""
        found = []
        while (payload := await self.next(timeout_s)) is not None:
            assert "errors" not in payload or not payload["errors"], payload
            found.append(payload["data"][field])
        return found


def connection_init(token: str | None) -> str:
    """`connection_init`, carrying the API key the way browsers must (no headers on a websocket)."""
    message: dict[str, Any] = {"type": "connection_init"}
    if token:
        message["payload"] = {"Authorization": f"Bearer {token}"}
    return json.dumps(message)


@asynccontextmanager
async def subscribe(
    server: LiveServer | str,
    query: str,
    protocol: str = "graphql-transport-ws",
    token: str | None = None,
    **variables: Any,
) -> AsyncIterator[Subscription]:
    """`server`: a live server (its key sent), or a websocket URL (`token` sent, if given)."""
    ws_url, token = (server.ws_url, server.token) if isinstance(server, LiveServer) else (server, token)
    async with websockets.connect(ws_url, subprotocols=[protocol]) as ws:  # type: ignore[list-item]
        await ws.send(connection_init(token))
        while json.loads(await asyncio.wait_for(ws.recv(), timeout=10))["type"] != "connection_ack":
            pass
        payload = {"query": query, "variables": variables}
        await ws.send(json.dumps({"id": "1", "type": PROTOCOLS[protocol][0], "payload": payload}))
        yield Subscription(ws, protocol)
