"""Per-key request rate: a token bucket per API key, in this server process's memory.

Each key gets `per_minute` requests a minute, refilled continuously, with a full minute's worth as its burst: a
client that stayed quiet may send its minute at once, and a runaway loop is held to the rate. The buckets live in one
process, so N processes (API_PROCESSES, or N replicas) allow a key N times the rate; that is enough to stop a runaway
client and needs no shared store on the path of every request. One bucket per key that has been seen: as many as
there are keys, a few dozen bytes each.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`take(key)`: None when the request may go, else the whole seconds until the key's next token."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.capacity = float(per_minute)
        self.per_second = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str | None, _Bucket] = {}

    def take(self, key: str | None) -> int | None:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.capacity, now)
        else:
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.per_second)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / self.per_second))
