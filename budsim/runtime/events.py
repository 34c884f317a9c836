"""In-process publish/subscribe for GraphQL subscriptions.

Each subscriber gets its own bounded queue so one slow websocket cannot stall publishers; a subscriber that falls
`maxsize` events behind loses the oldest ones rather than growing memory without bound.

A topic may keep its latest event (`retain=True`, like an MQTT retained message): a subscriber that joins late starts
from it instead of waiting for the next one. `forget` drops it once the topic has nothing more to say.
"""

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


class EventBus:
    def __init__(self, maxsize: int = 1000) -> None:
        self._maxsize = maxsize
        self._subscribers: dict[str, set[asyncio.Queue[Any]]] = defaultdict(set)
        self._retained: dict[str, Any] = {}

    def publish(self, topic: str, event: Any, *, retain: bool = False) -> None:
        if retain:
            self._retained[topic] = event
        for queue in self._subscribers.get(topic, ()):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    def forget(self, topic: str) -> None:
        self._retained.pop(topic, None)

    def retained(self, topic: str) -> Any | None:
        return self._retained.get(topic)

    def subscriber_count(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[asyncio.Queue[Any]]:
        queue: asyncio.Queue[Any] = asyncio.Queue(self._maxsize)
        if topic in self._retained:
            queue.put_nowait(self._retained[topic])
        self._subscribers[topic].add(queue)
        try:
            yield queue
        finally:
            self._subscribers[topic].discard(queue)
            if not self._subscribers[topic]:
                del self._subscribers[topic]
