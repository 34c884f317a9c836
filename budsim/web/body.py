"""A bound on request bodies, so that one client cannot make the server buffer an unbounded upload.

Strawberry reads a whole POST body into memory before parsing it, and so would answer a 20 MB body only after
holding all of it. The largest body a real client sends is a `registerModel` with its config.json (the largest
catalog config is 1.5 KB of JSON) and a query with its variables (a few KB); `MAX_REQUEST_BYTES` (1 MiB) is
hundreds of times that. A body declared larger in `Content-Length` is refused before any of it is read; a chunked
body is counted as it arrives and refused at the chunk that crosses the bound, so at most the bound is ever held.
Websocket messages are bounded by uvicorn's `ws_max_size`, set from the same setting (budsim.cli.commands).
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from budsim.web.errors import send_error

CODE = "PAYLOAD_TOO_LARGE"


class _TooLarge(Exception):
    """Raised out of `receive` to stop the app reading a body past the bound."""


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server rejects a malformed length itself; count what arrives meanwhile
    return None


class BodyLimit:
    """ASGI middleware: HTTP 413 with a GraphQL-shaped error for a request body over `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send: Send) -> None:
        message = f"The request body is larger than the server accepts ({self.max_bytes} bytes, MAX_REQUEST_BYTES)."
        error = {"message": message, "extensions": {"code": CODE, "maxBytes": self.max_bytes}}
        # The unread rest of the body cannot be skipped on a kept-alive connection: ask for it to be closed.
        await send_error(send, 413, error, [(b"connection", b"close")])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        started = False

        async def receive_bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_bounded, send_noting_start)
        except _TooLarge:
            if started:  # nothing the app sends reads a body after answering; if one did, drop the connection
                raise
            await self._refuse(send)
