"""API keys: made, listed, revoked, and looked up by the SHA-256 of the bearer token a request carries.

A key is 32 bytes from `secrets` (256 bits). A slow password hash (bcrypt, argon2) exists to make guessing a
low-entropy secret from its hash expensive; nobody can enumerate 2^256 keys at any hash speed, so one SHA-256 is as
safe here, and it lets a request find its key with one indexed equality lookup instead of a ~100 ms hash per request.
"""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from budsim.core.auth import Principal, Scope
from budsim.db.base import utcnow
from budsim.db.models import ApiKeyRow

PREFIX = "budsim_"  # lets secret scanners and people recognise a leaked key
# last_used_at is a hint for finding unused keys, not an audit log: writing it at most once a minute per key keeps a
# busy client's requests from each costing a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class ApiKey:
    id: uuid.UUID
    name: str
    scope: Scope
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(row.id, row.name, Scope.parse(row.scopes), row.created_at, row.revoked_at, row.last_used_at)


async def create(sessions: async_sessionmaker[AsyncSession], name: str, scope: Scope) -> tuple[ApiKey, str]:
    """A new key and the key itself, which is stored nowhere: the caller shows it once."""
    key = PREFIX + secrets.token_urlsafe(32)
    row = ApiKeyRow(name=name, key_hash=hash_key(key), scopes=scope.granted)
    async with sessions() as session, session.begin():
        session.add(row)
    return _key(row), key


async def list_all(sessions: async_sessionmaker[AsyncSession]) -> list[ApiKey]:
    async with sessions() as session:
        rows = await session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id))
        return [_key(row) for row in rows]


async def revoke(sessions: async_sessionmaker[AsyncSession], id: uuid.UUID) -> ApiKey | None:
    """Revoke the key (kept, so that listings show it was revoked and when); None if there is no such key."""
    async with sessions() as session, session.begin():
        row = await session.get(ApiKeyRow, id)
        if row is None:
            return None
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        return _key(row)


async def authenticate(sessions: async_sessionmaker[AsyncSession], key: str) -> Principal | None:
    """The principal a bearer token stands for, or None for an unknown or revoked key."""
    async with sessions() as session:
        row = await session.scalar(
            select(ApiKeyRow).where(ApiKeyRow.key_hash == hash_key(key), ApiKeyRow.revoked_at.is_(None))
        )
        if row is None:
            return None
        principal = Principal(name=row.name, scope=Scope.parse(row.scopes), key_id=str(row.id))
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            await session.execute(update(ApiKeyRow).where(ApiKeyRow.id == row.id).values(last_used_at=now))
            await session.commit()
        return principal
