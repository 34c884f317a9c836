"""The optimization job queue's SQL: claim under a lease, heartbeat, end, cancel, recover.

Every state change is one guarded UPDATE whose WHERE clause states what the writer believes (the job is still queued;
I still hold it), so two writers racing on one job cannot both win: the loser's UPDATE matches no row and it backs
off. On PostgreSQL the claim also takes `FOR UPDATE SKIP LOCKED`, so workers in many processes claim different jobs
without waiting on each other; SQLite runs everything in one process and serialises its writers anyway.

Lease times come from the worker's clock; workers on several machines need their clocks in sync (NTP) to within a
small part of the lease.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Row, Update, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from budsim.core.types import JobStatus
from budsim.db.base import utcnow
from budsim.db.models import ApiKeyRow, OptimizationJobRow, SimulationRow

Job = OptimizationJobRow
RUNNING = JobStatus.RUNNING.value
QUEUED = JobStatus.QUEUED.value


@dataclass(frozen=True, slots=True)
class Claim:
    """What a claim attempt did: `job` is now this worker's to run, or `ended` a job whose attempts ran out."""

    job: Job | None = None
    ended: Job | None = None


def _new_job(
    model_id: uuid.UUID,
    method: str,
    request: dict[str, Any],
    max_attempts: int,
    api_key_id: uuid.UUID | None,
    endpoint_id: uuid.UUID | None,
    rerun_of_id: uuid.UUID | None,
) -> Job:
    return Job(
        model_id=model_id,
        method=method,
        request=request,
        max_attempts=max_attempts,
        cancel_requested=False,
        api_key_id=api_key_id,
        endpoint_id=endpoint_id,
        rerun_of_id=rerun_of_id,
    )


async def insert(
    session: AsyncSession,
    *,
    model_id: uuid.UUID,
    method: str,
    request: dict[str, Any],
    max_attempts: int,
    api_key_id: uuid.UUID | None = None,
    endpoint_id: uuid.UUID | None = None,
    rerun_of_id: uuid.UUID | None = None,
) -> Job:
    job = _new_job(model_id, method, request, max_attempts, api_key_id, endpoint_id, rerun_of_id)
    session.add(job)
    await session.commit()
    return job


async def insert_within(
    session: AsyncSession,
    limit: int,
    api_key_id: uuid.UUID,
    *,
    model_id: uuid.UUID,
    method: str,
    request: dict[str, Any],
    max_attempts: int,
    endpoint_id: uuid.UUID | None = None,
    rerun_of_id: uuid.UUID | None = None,
) -> Job | None:
    """`insert` for a key that may have at most `limit` jobs queued or running: None, and nothing written, when it
    has that many already.

    One transaction that starts with a no-op UPDATE of the key's row, so concurrent submissions by one key count one
    after another rather than all passing the same count: PostgreSQL locks the row (for any process), SQLite takes
    its write lock before the count (a count first, then a write, would have two such transactions each wait on the
    other's read lock until the busy timeout)."""
    async with session.begin():
        await session.execute(update(ApiKeyRow).where(ApiKeyRow.id == api_key_id).values(name=ApiKeyRow.name))
        active = await session.scalar(
            select(func.count()).where(Job.api_key_id == api_key_id, Job.status.in_((QUEUED, RUNNING)))
        )
        if (active or 0) >= limit:
            return None
        job = _new_job(model_id, method, request, max_attempts, api_key_id, endpoint_id, rerun_of_id)
        session.add(job)
    return job


async def get(session: AsyncSession, job_id: uuid.UUID) -> Job | None:
    return await session.get(Job, job_id, populate_existing=True)


# What a follower needs of its job's row, no more: `resolvers.answers.job_progress` reads these attributes. Built once:
# built per call it cost the read 0.41 ms of CPU rather than 0.33-0.37 (PostgreSQL).
_STANDING = select(*(Job.__table__.c[name] for name in ("id", "status", "progress", "error", "simulation_id"))).where(
    Job.__table__.c.id == bindparam("job_id")
)


async def standing(session: AsyncSession, job_id: uuid.UUID) -> Row[Any] | None:
    """Where a job stands, as a plain row: its status, latest progress, error and result's simulation.

    Every subscription starts with this read, 200 of them within a second when a dashboard opens: a Core row skips
    the ORM's instance and identity map, and the request document's JSON, that `get` costs.
    """
    return (await session.execute(_STANDING, {"job_id": job_id})).first()


def _claimable(now: datetime) -> Any:
    return or_(Job.status == QUEUED, and_(Job.status == RUNNING, Job.lease_expires_at < now))


async def claim(session: AsyncSession, worker: str, lease_s: float) -> Claim | None:
    """The oldest queued job, or a running one whose worker stopped renewing its lease; None when there is none.

    A job that has already been tried `max_attempts` times, or whose cancel was asked for while its worker died,
    ends here instead of running again. Losing a race for a job (another claimer's UPDATE won) moves on to the next.
    """
    while True:
        now = utcnow()
        stmt = (
            select(Job.id, Job.status, Job.worker, Job.attempts, Job.max_attempts, Job.cancel_requested)
            .where(_claimable(now))
            .order_by(Job.created_at, Job.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        found = (await session.execute(stmt)).one_or_none()
        if found is None:
            await session.rollback()
            return None
        guard = and_(Job.id == found.id, Job.status == found.status, _same_worker(found.worker), _claimable(now))
        if found.cancel_requested or found.attempts >= found.max_attempts:
            if found.cancel_requested:
                values = {"status": JobStatus.CANCELLED.value, "error": "cancelled while its worker was lost"}
            else:
                values = {
                    "status": JobStatus.FAILED.value,
                    "error": f"its worker stopped renewing the lease on each of {found.attempts} attempts",
                }
            if await _update(session, guard, finished_at=now, worker=None, lease_expires_at=None, **values):
                return Claim(ended=await get(session, found.id))
            continue
        claimed = await _update(
            session,
            guard,
            status=RUNNING,
            worker=worker,
            attempts=found.attempts + 1,
            lease_expires_at=now + timedelta(seconds=lease_s),
            started_at=now,
        )
        if claimed:
            return Claim(job=await get(session, found.id))


def _same_worker(worker: str | None) -> Any:
    return Job.worker.is_(None) if worker is None else Job.worker == worker


async def _rows_updated(session: AsyncSession, statement: Update) -> int:
    """Run an UPDATE, not yet committed, and count the rows it changed (what a compare-and-set answers with). An
    UPDATE's result is a CursorResult, which carries `rowcount`; `execute` is annotated with the wider Result."""
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return int(cast("CursorResult[Any]", result).rowcount)


async def _update(session: AsyncSession, guard: Any, **values: Any) -> bool:
    """Apply `values` where `guard` holds; commit and say whether a row changed."""
    changed = await _rows_updated(session, update(Job).where(guard).values(**values))
    await session.commit()
    return bool(changed)


def _held(job_id: uuid.UUID, worker: str) -> Any:
    return and_(Job.id == job_id, Job.worker == worker, Job.status == RUNNING)


async def heartbeat(
    session: AsyncSession, worker: str, job_ids: Sequence[uuid.UUID], lease_s: float
) -> dict[uuid.UUID, bool]:
    """Extend the leases this worker still holds; job id -> whether a cancel was asked for. A job missing from the
    answer is no longer this worker's (its lease ran out and another worker took it): stop running it."""
    if not job_ids:
        return {}
    stmt = (
        update(Job)
        .where(Job.id.in_(list(job_ids)), Job.worker == worker, Job.status == RUNNING)
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
        .returning(Job.id, Job.cancel_requested)
        .execution_options(synchronize_session=False)
    )
    held = {row.id: row.cancel_requested for row in (await session.execute(stmt)).all()}
    await session.commit()
    return held


async def save_progress(session: AsyncSession, job_id: uuid.UUID, worker: str, progress: dict[str, Any]) -> bool:
    return await _update(session, _held(job_id, worker), progress=progress)


async def finish(
    session: AsyncSession,
    job_id: uuid.UUID,
    worker: str,
    status: JobStatus,
    *,
    simulation: SimulationRow | None = None,
    progress: dict[str, Any] | None = None,
    error: str | None = None,
) -> bool:
    """End a job this worker holds, storing its Simulation in the same transaction; False (and nothing written)
    when the worker no longer holds it. A rerun's Simulation (`reoptimize`) is linked to what the job reruns."""
    if simulation is not None:
        simulation.rerun_of_id = await session.scalar(select(Job.rerun_of_id).where(Job.id == job_id))
        session.add(simulation)
        await session.flush()
    values: dict[str, Any] = {
        "status": status.value,
        "finished_at": utcnow(),
        "lease_expires_at": None,
        "error": error,
        "simulation_id": simulation.id if simulation is not None else None,
    }
    if progress is not None:
        values["progress"] = progress
    if not await _rows_updated(session, update(Job).where(_held(job_id, worker)).values(**values)):
        await session.rollback()
        return False
    await session.commit()
    return True


async def release(session: AsyncSession, job_id: uuid.UUID, worker: str) -> bool:
    """Hand a job back to the queue as if untried: its worker is shutting down, which is not the job's fault."""
    return await _update(
        session,
        _held(job_id, worker),
        status=QUEUED,
        worker=None,
        lease_expires_at=None,
        attempts=Job.attempts - 1,
        progress=None,
    )


async def request_cancel(session: AsyncSession, job_id: uuid.UUID) -> Job | None:
    """A queued job ends CANCELLED at once; a running one is flagged for its worker, which stops within a
    generation and keeps its best so far. An ended job is left as it is."""
    now = utcnow()
    await _update(
        session,
        and_(Job.id == job_id, Job.status == QUEUED),
        status=JobStatus.CANCELLED.value,
        finished_at=now,
        cancel_requested=True,
    )
    await _update(session, and_(Job.id == job_id, Job.status == RUNNING), cancel_requested=True)
    return await get(session, job_id)


async def expire_leases(session: AsyncSession, workers: Sequence[str] | None = None) -> int:
    """Make the running jobs of `workers` (every worker when None) claimable now: those workers are known dead,
    so waiting out their leases would only delay the retry."""
    guard = Job.status == RUNNING
    if workers is not None:
        if not workers:
            return 0
        guard = and_(guard, Job.worker.in_(list(workers)))
    changed = await _rows_updated(session, update(Job).where(guard).values(lease_expires_at=utcnow()))
    await session.commit()
    return changed


async def running_workers(session: AsyncSession) -> list[str]:
    rows = await session.scalars(select(Job.worker).where(Job.status == RUNNING, Job.worker.is_not(None)).distinct())
    return [w for w in rows if w]
