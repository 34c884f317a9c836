"""The job queue's SQL: claims never collide, leases run out into retries, only the holder ends a job."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from budsim.core.types import JobStatus
from budsim.db import jobs, migrate
from budsim.db.base import utcnow
from budsim.db.models import ModelRow, OptimizationJobRow
from budsim.db.session import create_engine, create_sessionmaker
from tests.conftest import postgres_or_skip

LEASE_S = 30.0


@pytest.fixture(params=["postgresql", "sqlite"])
async def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A queue of its own: the app fixtures' workers must not claim these jobs."""
    if request.param == "postgresql":
        databases = await postgres_or_skip()
        url = await databases.create()
    else:
        url = f"sqlite+aiosqlite:///{tmp_path}/queue.db"
    engine: AsyncEngine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()
        if request.param == "postgresql":
            await databases.drop(url)


async def enqueue(sessions: async_sessionmaker[AsyncSession], count: int = 1, max_attempts: int = 3) -> list[uuid.UUID]:
    async with sessions() as session:
        model_id = await session.scalar(select(ModelRow.id).limit(1))
        assert model_id is not None
        ids = []
        for n in range(count):
            job = await jobs.insert(
                session, model_id=model_id, method="REGRESSOR", request={"n": n}, max_attempts=max_attempts
            )
            ids.append(job.id)
    return ids


async def claim(sessions: async_sessionmaker[AsyncSession], worker: str) -> jobs.Claim | None:
    async with sessions() as session:
        return await jobs.claim(session, worker, LEASE_S)


async def expire(sessions: async_sessionmaker[AsyncSession], job_id: uuid.UUID) -> None:
    """What a worker's death looks like once its lease has run out."""
    async with sessions() as session:
        past = utcnow() - timedelta(seconds=1)
        await session.execute(
            update(OptimizationJobRow).where(OptimizationJobRow.id == job_id).values(lease_expires_at=past)
        )
        await session.commit()


async def test_workers_claim_the_oldest_queued_job_first(sessions: async_sessionmaker[AsyncSession]) -> None:
    first, second = await enqueue(sessions, 2)
    claimed = await claim(sessions, "w1")
    assert claimed is not None
    assert claimed.job is not None
    assert claimed.job.id == first
    assert claimed.job.status == "RUNNING"
    assert claimed.job.worker == "w1"
    assert claimed.job.attempts == 1
    assert claimed.job.started_at is not None
    again = await claim(sessions, "w2")
    assert again is not None
    assert again.job is not None
    assert again.job.id == second
    assert await claim(sessions, "w3") is None


async def test_concurrent_claims_never_take_the_same_job(sessions: async_sessionmaker[AsyncSession]) -> None:
    queued = await enqueue(sessions, 6)
    claims = await asyncio.gather(*(claim(sessions, f"w{n}") for n in range(8)))
    taken = [c.job.id for c in claims if c is not None and c.job is not None]
    assert sorted(taken) == sorted(queued)  # each job once, and every job taken (two claimers found none)


async def test_a_job_whose_lease_ran_out_is_retried_by_another_worker(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    (job_id,) = await enqueue(sessions)
    await claim(sessions, "dead")
    assert await claim(sessions, "alive") is None  # the lease still stands
    await expire(sessions, job_id)
    retried = await claim(sessions, "alive")
    assert retried is not None
    assert retried.job is not None
    assert (retried.job.id, retried.job.worker, retried.job.attempts) == (job_id, "alive", 2)


async def test_a_job_out_of_attempts_fails_with_the_reason(sessions: async_sessionmaker[AsyncSession]) -> None:
    (job_id,) = await enqueue(sessions, max_attempts=2)
    for worker in ("first", "second"):
        await claim(sessions, worker)
        await expire(sessions, job_id)
    ended = await claim(sessions, "third")
    assert ended is not None
    assert ended.job is None
    assert ended.ended is not None
    assert ended.ended.status == "FAILED"
    assert ended.ended.error == "its worker stopped renewing the lease on each of 2 attempts"
    assert ended.ended.finished_at is not None
    assert await claim(sessions, "third") is None


async def test_only_the_lease_holder_can_end_a_job(sessions: async_sessionmaker[AsyncSession]) -> None:
    (job_id,) = await enqueue(sessions)
    await claim(sessions, "stalled")
    await expire(sessions, job_id)
    await claim(sessions, "successor")
    async with sessions() as session:
        assert await jobs.finish(session, job_id, "stalled", JobStatus.SUCCEEDED) is False
        assert await jobs.heartbeat(session, "stalled", [job_id], LEASE_S) == {}
        assert await jobs.heartbeat(session, "successor", [job_id], LEASE_S) == {job_id: False}
        assert await jobs.finish(session, job_id, "successor", JobStatus.SUCCEEDED) is True
        job = await jobs.get(session, job_id)
    assert job is not None
    assert (job.status, job.worker, job.attempts) == ("SUCCEEDED", "successor", 2)
    assert job.finished_at is not None
    assert job.lease_expires_at is None


async def test_cancel_ends_a_queued_job_and_flags_a_running_one(sessions: async_sessionmaker[AsyncSession]) -> None:
    running, queued = await enqueue(sessions, 2)
    await claim(sessions, "w")
    async with sessions() as session:
        cancelled = await jobs.request_cancel(session, queued)
        flagged = await jobs.request_cancel(session, running)
        assert cancelled is not None
        assert flagged is not None
        assert (cancelled.status, cancelled.finished_at is not None) == ("CANCELLED", True)
        assert (flagged.status, flagged.cancel_requested) == ("RUNNING", True)
        assert await jobs.heartbeat(session, "w", [running], LEASE_S) == {running: True}
        assert await jobs.request_cancel(session, uuid.uuid4()) is None


async def test_a_worker_shutting_down_hands_its_job_back_untried(sessions: async_sessionmaker[AsyncSession]) -> None:
    (job_id,) = await enqueue(sessions)
    await claim(sessions, "leaving")
    async with sessions() as session:
        assert await jobs.release(session, job_id, "leaving") is True
    again = await claim(sessions, "staying")
    assert again is not None
    assert again.job is not None
    assert (again.job.id, again.job.attempts) == (job_id, 1)


async def test_expiring_a_dead_workers_leases_makes_its_jobs_claimable_now(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    mine, _theirs = await enqueue(sessions, 2)
    await claim(sessions, "restarted-host:1:a")
    await claim(sessions, "other-host:2:b")
    async with sessions() as session:
        assert sorted(await jobs.running_workers(session)) == ["other-host:2:b", "restarted-host:1:a"]
        assert await jobs.expire_leases(session, ["restarted-host:1:a"]) == 1
    retried = await claim(sessions, "new")
    assert retried is not None
    assert retried.job is not None
    assert retried.job.id == mine
    assert await claim(sessions, "new") is None
