"""The worker: claims optimization jobs, runs each search in a search process, streams its generations, ends each job
exactly once.

The search never runs on the event loop, nor in this process (`budsim.jobs.search_process`): each generation's
progress document comes back over a pipe, and the loop publishes every one and writes the latest to the job row at
most once a second. Cancels arrive as news (within a generation) or on the heartbeat (if news was missed).

A worker holds each job under a lease it renews every third of JOB_LEASE_SECONDS. If the process dies, the lease runs
out and any worker takes the job again, up to JOB_MAX_ATTEMPTS tries. A worker that finds its lease gone (it stalled
past the lease and another worker took over) stops and writes nothing: only the holder can end a job.
"""

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from budsim.core.errors import describe
from budsim.core.methods import STRATEGIES
from budsim.core.optimization import OptimizationOutcome, SearchSettings
from budsim.core.predictors import ActiveRegressor
from budsim.core.types import JobStatus
from budsim.db import jobs as store
from budsim.db import queries
from budsim.db.documents import JobRequest, read_request
from budsim.db.models import OptimizationJobRow
from budsim.db.unavailable import is_unavailable
from budsim.jobs.api_fields import input_field
from budsim.jobs.news import JobNews
from budsim.jobs.request import Problem, final_progress, problem, simulation_row
from budsim.jobs.search_process import SearchFailed, SearchProcess
from budsim.settings import Settings

log = logging.getLogger("budsim.jobs")

PROGRESS_WRITE_INTERVAL_S = 1.0


class Stop:
    """Why a running search was asked to stop; the first reason given wins."""

    CANCEL = "cancel"
    SHUTDOWN = "shutdown"
    LEASE_LOST = "lease lost"


@dataclass
class Running:
    job_id: uuid.UUID
    attempt: int
    stop: threading.Event = field(default_factory=threading.Event)
    reason: str | None = None

    def request_stop(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self.stop.set()


def worker_id() -> str:
    """host:pid:nonce, so an operator (and a test) can tell which process holds a job."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        news: JobNews,
        active: ActiveRegressor,
    ) -> None:
        self.id = worker_id()
        self._settings = settings
        self._sessionmaker = sessionmaker
        self._news = news
        self._wake = asyncio.Event()
        self._running: dict[uuid.UUID, Running] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._active = active
        self._idle = [SearchProcess(active) for _ in range(settings.worker_concurrency)]
        news.on_queued.append(self.wake)
        news.on_cancel.append(self.cancel)

    @property
    def running(self) -> list[uuid.UUID]:
        return list(self._running)

    def wake(self) -> None:
        self._wake.set()

    async def use(self, active: ActiveRegressor) -> None:
        """Search with another regressor version from the next job on; jobs running keep the one they started with."""
        self._active = active

    def cancel(self, job_id: uuid.UUID) -> None:
        running = self._running.get(job_id)
        if running is not None:
            running.request_stop(Stop.CANCEL)

    async def run(self) -> None:
        """Claim and run jobs until cancelled; then stop the searches and hand their jobs back to the queue."""
        log.info("worker %s started (concurrency %d)", self.id, self._settings.worker_concurrency)
        await self._recover()
        heartbeats = asyncio.create_task(self._heartbeats(), name="budsim-heartbeats")
        slots = asyncio.Semaphore(self._settings.worker_concurrency)
        try:
            while True:
                await slots.acquire()
                job = await self._claim()
                if job is None:
                    slots.release()
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._settings.job_poll_seconds)
                    continue
                task = asyncio.create_task(self._execute(job), name=f"budsim-job-{job.id}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                task.add_done_callback(lambda _t: slots.release())
        finally:
            heartbeats.cancel()
            for running in self._running.values():
                running.request_stop(Stop.SHUTDOWN)
            await asyncio.gather(*self._tasks, heartbeats, return_exceptions=True)
            await asyncio.gather(*(asyncio.to_thread(process.close) for process in self._idle))
            log.info("worker %s stopped", self.id)

    async def _recover(self) -> None:
        """Jobs left RUNNING by a dead process on this host (a restart of this server) are retried now, not after
        their leases run out; other hosts' jobs wait out their leases."""
        try:
            async with self._sessionmaker() as session:
                dead = [w for w in await store.running_workers(session) if _died_here(w)]
                recovered = await store.expire_leases(session, dead) if dead else 0
        except Exception:
            log.exception("recovering orphaned jobs failed; their leases will run out instead")
            return
        if recovered:
            log.warning("%d job(s) of dead workers on this host queued for retry", recovered)

    async def _claim(self) -> OptimizationJobRow | None:
        """The next job to run; jobs whose attempts ran out are ended (and announced) on the way."""
        while True:
            try:
                async with self._sessionmaker() as session:
                    claim = await store.claim(session, self.id, self._settings.job_lease_seconds)
            except Exception:
                log.exception("claiming a job failed; retrying after the poll interval")
                return None
            if claim is None:
                return None
            if claim.job is not None:
                return claim.job
            if claim.ended is not None:
                log.warning("job %s ended %s: %s", claim.ended.id, claim.ended.status, claim.ended.error)
                await self._announce_end(claim.ended.id, claim.ended.status)

    async def _heartbeats(self) -> None:
        interval = self._settings.job_lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            if not self._running:
                continue
            asked = self.running
            try:
                async with self._sessionmaker() as session:
                    held = await store.heartbeat(session, self.id, asked, self._settings.job_lease_seconds)
            except Exception:
                log.exception("heartbeat failed; the leases stand until they run out")
                continue
            # Judge only the jobs this heartbeat asked about: one claimed while it was in flight is held, not lost.
            for job_id in asked:
                running = self._running.get(job_id)
                if running is None:
                    continue
                if job_id not in held:
                    log.warning("job %s: lease lost to another worker; stopping without writing", job_id)
                    running.request_stop(Stop.LEASE_LOST)
                elif held[job_id]:
                    running.request_stop(Stop.CANCEL)

    async def _execute(self, job: OptimizationJobRow) -> None:
        running = Running(job.id, job.attempts)
        self._running[job.id] = running
        try:
            if job.cancel_requested:
                running.request_stop(Stop.CANCEL)
            await self._run(job, running)
        except Exception as error:  # a bug in a search must end its job, not the worker
            if is_unavailable(error):  # not the job's fault: its lease runs out and a worker runs it again
                log.warning("job %s: the database went away; the job is retried once its lease runs out", job.id)
                return
            log.exception("job %s failed", job.id)
            await self._end(job.id, running, JobStatus.FAILED, error=describe(error))
        finally:
            self._running.pop(job.id, None)

    async def _run(self, job: OptimizationJobRow, running: Running) -> None:
        request = read_request(job.request)
        task = await self._problem(request)
        if isinstance(task, str):
            await self._end(job.id, running, JobStatus.FAILED, error=task)
            return
        loop = asyncio.get_running_loop()
        outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

        def emit(progress: dict[str, Any]) -> None:  # called from the thread that waits on the search process
            loop.call_soon_threadsafe(outbox.put_nowait, progress)

        settings = self._settings
        search = SearchSettings(settings.population_size, settings.generations, settings.optimization_timeout)
        pump = asyncio.create_task(self._pump(job.id, outbox))
        process = self._idle.pop()
        process.use(self._active)
        active = process.active
        try:
            outcome = await asyncio.to_thread(process.solve, task, search, running.attempt, emit, running.stop)
        except SearchFailed as error:
            reason = f"input.{input_field(error.field)}: {error}" if error.field else str(error)
            await self._end(job.id, running, JobStatus.FAILED, error=reason)
            return
        finally:
            self._idle.append(process)
            outbox.put_nowait(None)
            last = await pump
        await self._settle(job.id, running, task, outcome, last, active)

    async def _problem(self, request: JobRequest) -> Problem | str:
        """The request's rows turned into core inputs, or why they cannot be (a profile deleted since)."""
        async with self._sessionmaker() as session:
            model, found = await queries.model_with_profiles(session, request.model_id, request.hardware_profile_ids)
        if model is None:
            return f"model {request.model_id} no longer exists"
        missing = [str(i) for i in request.hardware_profile_ids if i not in found]
        if missing:
            return f"hardware profile {', '.join(missing)} no longer exists"
        return problem(request, model, [found[i] for i in request.hardware_profile_ids])

    async def _pump(self, job_id: uuid.UUID, outbox: asyncio.Queue[dict[str, Any] | None]) -> dict[str, Any] | None:
        """Publish every generation; keep the latest on the row, at most once a second. Returns the last one."""
        last: dict[str, Any] | None = None
        written_at = 0.0
        while (progress := await outbox.get()) is not None:
            last = progress
            try:
                await self._news.progress(job_id, JobStatus.RUNNING.value, progress)
                if time.monotonic() - written_at >= PROGRESS_WRITE_INTERVAL_S:
                    written_at = time.monotonic()
                    async with self._sessionmaker() as session:
                        await store.save_progress(session, job_id, self.id, progress)
            except Exception:  # progress is best effort; the end is what must be written
                log.exception("job %s: publishing progress failed", job_id)
        return last

    async def _settle(
        self,
        job_id: uuid.UUID,
        running: Running,
        task: Problem,
        outcome: OptimizationOutcome,
        last: dict[str, Any] | None,
        active: ActiveRegressor,
    ) -> None:
        if running.reason == Stop.LEASE_LOST:
            return
        if running.reason == Stop.SHUTDOWN:
            async with self._sessionmaker() as session:
                await store.release(session, job_id, self.id)
            await self._news.queued()
            return
        if outcome.cancelled or running.reason == Stop.CANCEL:
            status = JobStatus.CANCELLED
        elif outcome.timed_out:
            status = JobStatus.TIMED_OUT
        else:
            status = JobStatus.SUCCEEDED
        row = simulation_row(task, outcome, status)
        if STRATEGIES[task.request.method].uses_regressor and active.regressor is not None:
            row.regressor_version_id = active.version
        await self._end(
            job_id, running, status, simulation=row, progress=final_progress(outcome, running.attempt, last)
        )

    async def _end(self, job_id: uuid.UUID, running: Running, status: JobStatus, **details: Any) -> None:
        async with self._sessionmaker() as session:
            ended = await store.finish(session, job_id, self.id, status, **details)
        if ended:
            log.info("job %s %s (attempt %d)", job_id, status.value, running.attempt)
            await self._announce_end(job_id, status.value)
        else:
            log.warning("job %s: no longer held by %s; its end was not written", job_id, self.id)

    async def _announce_end(self, job_id: uuid.UUID, status: str) -> None:
        try:
            await self._news.ended(job_id, status)
        except Exception:  # subscribers fall back to re-reading the row
            log.exception("job %s: announcing its end failed", job_id)


def _died_here(worker: str) -> bool:
    """True when `worker` (a `worker_id`) ran on this host in a process that no longer exists."""
    host, _, rest = worker.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False
