"""Small helpers the API specifications share."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from budsim.db.base import Base
from tests.conftest import gql_data


def unique(prefix: str) -> str:
    """Names are unique per test so tests sharing one database never collide."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows of every table the ORM knows, so a new table is counted without touching this helper."""
    async with engine.connect() as connection:
        return {
            name: int(await connection.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in Base.metadata.tables.items()
        }


@asynccontextmanager
async def places_taken(places: asyncio.Semaphore, count: int) -> AsyncIterator[None]:
    """`count` places of a server's turns held, as a burst of submissions or websocket openings would hold them."""
    for _ in range(count):
        await places.acquire()
    try:
        yield
    finally:
        for _ in range(count):
            places.release()


async def model_id(client: httpx.AsyncClient, name: str) -> str:
    """The id of a registered (e.g. catalog-seeded) model, found by its exact name."""
    models = (await gql_data(client, "query($s: String) { models(search: $s) { id name } }", s=name))["models"]
    return next(m["id"] for m in models if m["name"] == name)
