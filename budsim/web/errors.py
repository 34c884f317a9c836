"""Errors the ASGI middlewares answer themselves, before any app runs: the same JSON shape as a GraphQL error."""

import json
from collections.abc import Iterable
from typing import Any

from starlette.types import Send


async def send_error(
    send: Send, status: int, error: dict[str, Any], headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """Answer `status` with `{"errors": [error]}`: a client parses a refusal at the edge as it parses the API's."""
    body = json.dumps({"errors": [error]}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})
