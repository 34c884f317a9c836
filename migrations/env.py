"""Alembic environment: runs on a connection handed in by budsim.db.migrate, or opens its own from DATABASE_URL."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from budsim.db import models  # noqa: F401 - registers every table on Base.metadata
from budsim.db.base import Base
from budsim.db.session import create_engine
from budsim.settings import Settings

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.attributes.get("url") or Settings().async_database_url
    asyncio.run(_run_async(url))


if context.is_offline_mode():
    context.configure(url=Settings().async_database_url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    _run_online()
