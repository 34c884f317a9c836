"""Engine and session factories. Nothing is created at import time: the app's lifespan owns the engine."""

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry


def _enable_sqlite_integrity(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    """SQLite ignores foreign keys unless asked per connection; WAL lets readers run beside the one writer."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _enable_sqlite_integrity)
        return engine
    # Enough pooled connections for a server's bursts (a page of subscribers joining at once): beyond the pool,
    # every overflow connection is opened and closed per use, TLS negotiation included.
    options = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20, **kwargs}
    return create_async_engine(url, **options)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
