"""Committing writes so that a lost race surfaces as the same typed conflict the pre-check reports."""

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from budsim.resolvers.errors import Conflict


async def commit_or_conflict(session: AsyncSession, field: str, message: str) -> None:
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(field, message) from None
