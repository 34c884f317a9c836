"""Websocket openings take turns, so that a burst of them does not queue every other request behind it.

The event loop runs ready work first come, first served. When 200 dashboards open their progress subscriptions
within half a second, each opening is a dozen steps on the loop (accepting the handshake, acknowledging
`connection_init`, starting the subscription: parsing, the job's row, the first event); interleaved, they put each
step of a `simulate` behind hundreds of theirs. Here a process works on at most `places` openings at once, and the
rest wait for a turn, which costs nothing while they wait: a `simulate` sent during the burst then waits behind a
couple of openings, not all of them. The price is the openings' own latency, which bench/load.py reports beside the
`simulate`s'.

A turn spans the server's work on one client message, from its arrival to the server's next message on that
socket: the handshake to the accept, `connection_init` to the acknowledgement, a `subscribe` (`start` in the older
graphql-ws protocol) to its first result. The client's own time (its round trips, its reading) is never inside a
turn, so slow or far clients do not hold places, and a turn ends before the answer is written, so a client that
stops reading does not hold one either. A subscription with nothing to send at first ends its turn itself
(`Context.started`), and TURN_LIMIT_S ends any turn still held, so no turn outlives a lost answer.
"""

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TURN_LIMIT_S = 0.5  # far above an opening's own work (milliseconds): this only bounds a turn whose answer never comes
SCOPE_KEY = "budsim.turn"  # where the GraphQL context finds the connection's turn
# The protocol messages that start work worth a turn, in graphql-transport-ws and graphql-ws. A substring test: the
# message is parsed once, by Strawberry; a false match (a query that mentions the word) only costs a short turn.
_OPENING_MESSAGES = ('"connection_init"', '"subscribe"', '"start"')


class Turn:
    """One connection's turn: at most one place held at a time, given back once and only once."""

    def __init__(self, places: asyncio.Semaphore) -> None:
        self._places = places
        self._limit: asyncio.TimerHandle | None = None

    async def begin(self) -> None:
        self.end()
        await self._places.acquire()
        self._limit = asyncio.get_running_loop().call_later(TURN_LIMIT_S, self.end)

    def end(self) -> None:
        if self._limit is not None:
            self._limit.cancel()
            self._limit = None
            self._places.release()


def _opens_work(message: Message) -> bool:
    if message["type"] == "websocket.connect":
        return True
    text = message.get("text")
    return message["type"] == "websocket.receive" and text is not None and any(m in text for m in _OPENING_MESSAGES)


class WebSocketTurns:
    """ASGI middleware for a websocket route: each client message that starts an opening's work waits for a turn."""

    def __init__(self, app: ASGIApp, places: asyncio.Semaphore) -> None:
        self.app = app
        self.places = places

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        turn = Turn(self.places)

        async def receive_in_turn() -> Message:
            message = await receive()
            if _opens_work(message):
                await turn.begin()
            return message

        async def send_ending_turn(message: Message) -> None:
            turn.end()
            await send(message)

        try:
            await self.app({**scope, SCOPE_KEY: turn}, receive_in_turn, send_ending_turn)
        finally:
            turn.end()
