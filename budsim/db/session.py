"""Engine and session factories. Nothing is created at import time: the app's lifespan owns the engine.

Two kinds of session share one pool:
- `create_sessionmaker`: a transaction per session, for anything that writes (and reads it depends on).
- `create_reader`: each statement commits on its own (DBAPI autocommit), for reads and for a write that is one
  INSERT (atomic by itself, as `simulate`'s row is). A transaction costs a read two extra round trips, BEGIN and
  ROLLBACK, during which it holds a pooled connection; under bench/load.py's bursts (hundreds of subscribers
  joining) those waits queued every other request behind the pool. The price: a reader's statements may see
  different snapshots (a list's totalCount and its page may disagree by a row just written).
"""

import asyncio
import contextlib
import math
import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

# A pooled connection idle for longer than this is pinged before use (PostgreSQL restarted, a proxy cut it); one in
# steady use is not, as a ping on every checkout was one round trip more per session.
PING_AFTER_IDLE_S = 10.0
POOL_SIZE = 20  # connections a server process keeps open
POOL_OVERFLOW = 10  # opened beyond those under a burst, closed after use
# What the processes of one `budsim serve --processes N` may hold together: under PostgreSQL's default
# max_connections of 100, with room left for workers, LISTEN connections, migrations and a psql or two.
CONNECTION_BUDGET = 75
MIN_POOL_SIZE = 5
_LAST_USED = "budsim_last_used"


def _enable_sqlite_integrity(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    """SQLite ignores foreign keys unless asked per connection; WAL lets readers run beside the one writer."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _note_checkin(_dbapi_connection: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
    record.info[_LAST_USED] = time.monotonic()


def _ping_if_idle(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _: PoolProxiedConnection) -> None:
    """SQLAlchemy's pessimistic disconnect handling, for idle connections only: a dead one is discarded and the pool
    hands out another (DisconnectionError on checkout), so no request fails on a connection the server dropped."""
    last = record.info.get(_LAST_USED)
    if last is None or time.monotonic() - last < PING_AFTER_IDLE_S:
        return
    try:
        dbapi_connection.ping()  # the asyncpg adapter's, run in SQLAlchemy's greenlet
    except Exception as error:
        raise exc.DisconnectionError(f"idle connection failed its ping: {error}") from error


def create_engine(url: str, processes: int = 1, **kwargs: Any) -> AsyncEngine:
    """`processes`: the server processes on one port (`budsim serve --processes`); beyond two, their pools shrink
    to share CONNECTION_BUDGET."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _enable_sqlite_integrity)
        return engine
    # Enough pooled connections for a server's bursts (a page of subscribers joining at once): beyond the pool,
    # every overflow connection is opened and closed per use, TLS negotiation included.
    share = min(1.0, CONNECTION_BUDGET / (processes * (POOL_SIZE + POOL_OVERFLOW)))
    options = {
        "pool_size": max(MIN_POOL_SIZE, math.floor(POOL_SIZE * share)),
        "max_overflow": math.floor(POOL_OVERFLOW * share),
        **kwargs,
    }
    engine = create_async_engine(url, **options)
    event.listen(engine.sync_engine.pool, "checkin", _note_checkin)
    event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    return engine


async def warm_pool(engine: AsyncEngine) -> None:
    """Open the pool's connections now, at start-up, rather than in the first burst of requests (each new
    PostgreSQL connection is a backend to fork, TLS to try and codecs to set up)."""
    size = engine.sync_engine.pool.size() if hasattr(engine.sync_engine.pool, "size") else 0
    async with contextlib.AsyncExitStack() as stack:
        await asyncio.gather(*(stack.enter_async_context(engine.connect()) for _ in range(size)))


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def create_reader(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)
