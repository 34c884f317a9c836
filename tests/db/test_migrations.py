"""The one migration chain runs up, down and up again on both backends, and matches the ORM models exactly."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from budsim.db import migrate
from budsim.db.base import Base
from budsim.db.session import create_engine
from tests.conftest import postgres_or_skip

TABLES = {"hardware_profiles", "models", "simulations"}


@pytest.fixture(params=["postgresql", "sqlite"])
async def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "postgresql":
        databases = await postgres_or_skip()
        url = await databases.create()
        engine = create_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()
            await databases.drop(url)
    else:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/migrations.db")
        yield engine
        await engine.dispose()


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    return set(names) - {"alembic_version"}


async def test_upgrade_downgrade_upgrade_round_trips(empty_engine: AsyncEngine) -> None:
    assert await tables(empty_engine) == set()

    await migrate.upgrade(empty_engine)
    assert await tables(empty_engine) >= TABLES
    assert await migrate.current_revision(empty_engine) == migrate.head_revision()

    await migrate.downgrade(empty_engine, "base")
    assert await tables(empty_engine) == set()
    assert await migrate.current_revision(empty_engine) is None

    await migrate.upgrade(empty_engine)
    assert await tables(empty_engine) >= TABLES


async def test_migrated_schema_matches_the_orm_models(empty_engine: AsyncEngine) -> None:
    """Autogenerate finds nothing to add: a model change without a migration fails here."""
    await migrate.upgrade(empty_engine)
    async with empty_engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata)
        )
    assert diff == []


async def test_postgresql_stores_documents_as_jsonb() -> None:
    databases = await postgres_or_skip()
    url = await databases.create()
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            columns = await connection.run_sync(lambda sync: inspect(sync).get_columns("simulations"))
        types = {c["name"]: type(c["type"]).__name__ for c in columns}
        assert types["input_config"] == types["result"] == "JSONB"
    finally:
        await engine.dispose()
        await databases.drop(url)
