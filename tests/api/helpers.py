"""Small helpers the API specifications share."""

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from budsim.db.base import Base


def unique(prefix: str) -> str:
    """Names are unique per test so tests sharing one database never collide."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        return {
            name: int(await connection.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in Base.metadata.tables.items()
        }
