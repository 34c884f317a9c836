"""Optimization jobs: read, list, cancel, wait for the end, and follow progress generation by generation."""

import asyncio
import uuid
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from graphql import GraphQLError
from sqlalchemy import Row

from budsim.core.types import JobStatus
from budsim.db import jobs as store
from budsim.db import queries
from budsim.db.documents import Progress
from budsim.db.models import OptimizationJobRow
from budsim.jobs.news import topic
from budsim.resolvers import answers
from budsim.resolvers.auth import Scope, require
from budsim.resolvers.context import Context
from budsim.resolvers.errors import NotFound
from budsim.resolvers.pagination import check_first, decode_time_id_cursor, query_id
from budsim.schema.types.optimization import OptimizationJob, OptimizationJobConnection, OptimizationProgress

# A follower that hears nothing for this long re-reads the job row: news can be missed (a dropped LISTEN
# connection, a worker killed between its last write and its announcement), the row cannot.
RECHECK_S = 15.0


async def load(ctx: Context, job_id: uuid.UUID) -> OptimizationJobRow | None:
    async with ctx.reader() as session:
        return await store.get(session, job_id)


async def standing(ctx: Context, job_id: uuid.UUID) -> Row[Any] | None:
    async with ctx.reader() as session:
        return await store.standing(session, job_id)


async def get_job(ctx: Context, id: str) -> OptimizationJob | None:
    row = await load(ctx, query_id(id))
    return answers.job(row) if row else None


async def list_jobs(ctx: Context, first: int, after: str | None, status: JobStatus | None) -> OptimizationJobConnection:
    async with ctx.reader() as session:
        page = await queries.list_optimization_jobs(
            session,
            first=check_first(first),
            after=decode_time_id_cursor(after) if after else None,
            status=status.value if status else None,
        )
    return answers.job_connection(page, after)


async def wait_for_end(ctx: Context, job_id: uuid.UUID, timeout_s: float) -> OptimizationJobRow:
    """The job once it has ended, or as it stands after `timeout_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    async with ctx.events.subscribe(topic(job_id)) as queue:
        while True:
            row = await load(ctx, job_id)
            if row is None:
                raise NotFound("OptimizationJob", str(job_id))
            remaining = deadline - loop.time()
            if JobStatus(row.status).terminal or remaining <= 0:
                return row
            await _next_end(queue, min(remaining, RECHECK_S))


async def _next_end(queue: asyncio.Queue[dict[str, Any]], timeout_s: float) -> None:
    """Return when an end is announced or `timeout_s` passes, whichever comes first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (remaining := deadline - loop.time()) > 0:
        try:
            message = await asyncio.wait_for(queue.get(), remaining)
        except TimeoutError:
            return
        if message["kind"] == "ended":
            return


async def cancel(ctx: Context, id: strawberry.ID) -> OptimizationJob:
    """Ask the job to stop, then answer once it has (a running search stops within a generation)."""
    require(ctx, Scope.WRITE)
    job_id = query_id(id)
    async with ctx.sessionmaker() as session:
        row = await store.request_cancel(session, job_id)
    if row is None:
        raise NotFound("OptimizationJob", str(id))
    if row.status == JobStatus.RUNNING.value:
        await ctx.news.cancel(job_id)
        row = await wait_for_end(ctx, job_id, ctx.settings.job_lease_seconds)
    elif row.status == JobStatus.CANCELLED.value and row.started_at is None:
        await ctx.news.ended(job_id, row.status)  # cancelled while queued: tell its followers
    return answers.job(row)


async def _running(ctx: Context, job_id: uuid.UUID) -> bool:
    row = await standing(ctx, job_id)
    return row is not None and not JobStatus(row.status).terminal


def _key(progress: Progress) -> tuple[int, int]:
    return int(progress.attempt or 0), int(progress.generation or -1)


async def follow(ctx: Context, id: strawberry.ID) -> AsyncGenerator[OptimizationProgress, None]:
    """Where the job stands now, then every generation, then its end; for a job already ended, just the end."""
    job_id = query_id(id, "jobId")
    async with ctx.events.subscribe(topic(job_id)) as queue:  # before reading the row, so nothing falls between
        row = await standing(ctx, job_id)  # on a websocket, in its opening's turn (budsim.web.admission)
        if row is None:
            raise GraphQLError(
                f"OptimizationJob {id} does not exist", extensions={"code": "NOT_FOUND", "field": "jobId"}
            )
        if JobStatus(row.status).terminal:
            yield answers.job_progress(row)
            return
        seen = (0, -1)
        if queue.empty():  # nothing retained here (yet): the row is the latest state this process knows
            yield answers.job_progress(row)
            seen = _key(answers.stored_progress(row.progress))
        # A subscription lives as long as its job: the row (its JSON documents; once an ORM instance) held meanwhile
        # would be more for every full garbage collection to scan, once per subscription.
        del row
        while True:
            try:
                async with asyncio.timeout(RECHECK_S):  # not wait_for: no extra task per event and subscriber
                    message = await queue.get()
            except TimeoutError:
                if not await _running(ctx, job_id):
                    break
                continue
            if message["kind"] == "ended":
                break
            progress = answers.stored_progress(message.get("progress"))
            if _key(progress) <= seen:  # the row already said this much
                continue
            seen = _key(progress)
            yield answers.progress(job_id, message["status"], progress)
        row = await standing(ctx, job_id)
        if row is not None:
            yield answers.job_progress(row)
