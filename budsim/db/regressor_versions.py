"""Regressor versions' SQL: which one is active, storing a new one, a retrain's life from training to its verdict.

Each change is one guarded statement or one transaction, so a process that dies half-way leaves no half-written
version: a version is TRAINING (with a heartbeat), or ended with its model and metrics, or FAILED with a reason.
Activation clears the old active flag and sets the new one in the same transaction; the partial unique index on
`active` makes two activations racing each other fail rather than leave two active versions.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from budsim.core.types import VersionOrigin, VersionStatus
from budsim.db.base import utcnow
from budsim.db.models import RegressorVersionRow

Version = RegressorVersionRow
TRAINING = VersionStatus.TRAINING.value


async def active_id(session: AsyncSession) -> int | None:
    """The active version's number: what every process compares its own against, often, so one indexed lookup."""
    found: int | None = await session.scalar(select(Version.id).where(Version.active))
    return found


async def training_id(session: AsyncSession) -> int | None:
    """The version training now, if any (at most one is)."""
    found: int | None = await session.scalar(select(Version.id).where(Version.status == TRAINING))
    return found


async def with_model(session: AsyncSession, version_id: int) -> Version | None:
    """A version with its model bytes loaded (deferred everywhere else: megabytes)."""
    found: Version | None = await session.scalar(
        select(Version).where(Version.id == version_id).options(undefer(Version.model))
    )
    return found


async def get(session: AsyncSession, version_id: int) -> Version | None:
    return await session.get(Version, version_id)


async def listed(session: AsyncSession, first: int, before: int | None) -> Sequence[Version]:
    """Newest first: version numbers only grow, so the number is the cursor."""
    query = select(Version).order_by(Version.id.desc()).limit(first)
    if before is not None:
        query = query.where(Version.id < before)
    return (await session.scalars(query)).all()


async def insert_active(
    session: AsyncSession,
    *,
    model: bytes,
    rows: int,
    groups: int,
    run_ids: list[str],
    dataset_sha256: str,
) -> Version:
    """The first version of a database, trained at start-up, active at once. Raises IntegrityError when another
    process stored one first (the caller then loads that one)."""
    now = utcnow()
    version = Version(
        status=VersionStatus.TRAINED.value,
        active=True,
        forced=False,
        origin=VersionOrigin.START_UP.value,
        rows=rows,
        groups=groups,
        run_ids=run_ids,
        dataset_sha256=dataset_sha256,
        model=model,
        heartbeat_at=now,
        finished_at=now,
        activated_at=now,
    )
    session.add(version)
    await session.commit()
    return version


async def start_training(session: AsyncSession, *, forced: bool, api_key_id: uuid.UUID | None) -> Version:
    """A new TRAINING version. Raises IntegrityError while another one trains (the partial unique index)."""
    version = Version(
        status=TRAINING,
        active=False,
        forced=forced,
        origin=VersionOrigin.RETRAIN.value,
        run_ids=[],
        progress={"stage": "queued", "done": 0, "total": 1},
        api_key_id=api_key_id,
        heartbeat_at=utcnow(),
    )
    session.add(version)
    await session.commit()
    return version


async def record_progress(session: AsyncSession, version_id: int, progress: dict[str, Any]) -> None:
    """The latest stage, which doubles as the heartbeat that tells a live retrain from one whose process died."""
    await session.execute(
        update(Version)
        .where(Version.id == version_id, Version.status == TRAINING)
        .values(progress=progress, heartbeat_at=utcnow())
    )
    await session.commit()


async def finish(
    session: AsyncSession,
    version_id: int,
    *,
    activate: bool,
    model: bytes,
    rows: int,
    groups: int,
    run_ids: list[str],
    dataset_sha256: str,
    metrics: dict[str, Any],
    progress: dict[str, Any],
) -> bool:
    """End a retrain with its model and verdict: TRAINED (and active, when `activate`) or REJECTED. False when the
    version was no longer training (declared dead meanwhile): nothing is written then."""
    now = utcnow()
    status = VersionStatus.TRAINED if activate else VersionStatus.REJECTED
    ended = await session.execute(
        update(Version)
        .where(Version.id == version_id, Version.status == TRAINING)
        .values(
            status=status.value,
            model=model,
            rows=rows,
            groups=groups,
            run_ids=run_ids,
            dataset_sha256=dataset_sha256,
            metrics=metrics,
            progress=progress,
            finished_at=now,
            heartbeat_at=now,
        )
    )
    if ended.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        return False
    if activate:
        await session.execute(update(Version).where(Version.active).values(active=False))
        await session.execute(update(Version).where(Version.id == version_id).values(active=True, activated_at=now))
    await session.commit()
    return True


async def fail(session: AsyncSession, version_id: int, error: str) -> None:
    await session.execute(
        update(Version)
        .where(Version.id == version_id, Version.status == TRAINING)
        .values(status=VersionStatus.FAILED.value, error=error, finished_at=utcnow())
    )
    await session.commit()


async def fail_abandoned(session: AsyncSession, silent_since: datetime) -> int:
    """Retrains whose process stopped beating before `silent_since` (it died or was restarted): FAILED, so the
    next retrain may start."""
    ended = await session.execute(
        update(Version)
        .where(Version.status == TRAINING, Version.heartbeat_at < silent_since)
        .values(
            status=VersionStatus.FAILED.value,
            error="the process training it stopped (restarted or died) before it finished",
            finished_at=utcnow(),
        )
    )
    await session.commit()
    count: int = ended.rowcount  # type: ignore[attr-defined]
    return count
