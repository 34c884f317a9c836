"""Sessions and the pool: reads run without a transaction, and a connection PostgreSQL dropped while it sat idle in
the pool is replaced before a request gets it."""

from datetime import datetime

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import QueuePool

from budsim.db import session as db_session
from budsim.db.session import create_engine, create_reader, create_sessionmaker
from tests.conftest import postgres_or_skip


async def test_a_connection_dropped_while_idle_is_replaced_before_use(monkeypatch: pytest.MonkeyPatch) -> None:
    databases = await postgres_or_skip()
    engine = create_engine(databases.admin_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            first = await connection.scalar(text("SELECT pg_backend_pid()"))
        killer = create_engine(databases.admin_url, isolation_level="AUTOCOMMIT")
        async with killer.connect() as connection:
            assert await connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        await killer.dispose()
        monkeypatch.setattr(db_session, "PING_AFTER_IDLE_S", 0.0)  # as if it had sat idle past the threshold
        async with engine.connect() as connection:
            second = await connection.scalar(text("SELECT pg_backend_pid()"))
        assert second != first
    finally:
        await engine.dispose()


async def test_only_a_connection_idle_past_the_threshold_is_pinged(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ping on every checkout was one round trip more per session; in steady use there is none."""
    pings: list[object] = []
    real_ping = AsyncAdapt_asyncpg_connection.ping

    def counting_ping(self: AsyncAdapt_asyncpg_connection) -> None:
        pings.append(self)
        real_ping(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counting_ping)
    databases = await postgres_or_skip()
    engine = create_engine(databases.admin_url, pool_size=1, max_overflow=0)
    try:
        for _ in range(3):
            async with create_reader(engine)() as session:
                await session.execute(text("SELECT 1"))
        assert pings == []
        monkeypatch.setattr(db_session, "PING_AFTER_IDLE_S", 0.0)
        async with create_reader(engine)() as session:
            await session.execute(text("SELECT 1"))
        assert len(pings) == 1
    finally:
        await engine.dispose()


async def test_a_reader_runs_its_statements_outside_a_transaction() -> None:
    """No BEGIN and ROLLBACK around a read: each statement is its own transaction, so now() (the transaction's start)
    moves between two of them, where a transactional session's stays put."""
    databases = await postgres_or_skip()
    engine = create_engine(databases.admin_url)

    async def two_nows(sessions: async_sessionmaker[AsyncSession]) -> tuple[datetime, datetime]:
        async with sessions() as session:
            first = await session.scalar(text("SELECT now()"))
            await session.execute(text("SELECT pg_sleep(0.01)"))
            return first, await session.scalar(text("SELECT now()"))

    try:
        first, second = await two_nows(create_reader(engine))
        assert second > first
        first, second = await two_nows(create_sessionmaker(engine))
        assert second == first
    finally:
        await engine.dispose()


@pytest.mark.parametrize(("processes", "size", "overflow"), [(1, 20, 10), (2, 20, 10), (4, 12, 6), (8, 6, 3)])
async def test_server_processes_share_one_budget_of_connections(processes: int, size: int, overflow: int) -> None:
    # Four processes with a whole pool each would ask for 120 connections: PostgreSQL allows 100 by default. Two
    # keep whole pools: halved, the 200 subscribers' joins queued for connections (bench/load.py).
    engine = create_engine("postgresql+asyncpg://budsim@127.0.0.1/unused", processes=processes)
    try:
        pool = engine.sync_engine.pool
        assert isinstance(pool, QueuePool)
        assert (pool.size(), pool._max_overflow) == (size, overflow)
    finally:
        await engine.dispose()
