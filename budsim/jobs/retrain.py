"""`retrainRegressor` as a job: train a new regressor version in a child process, compare it with the active one,
activate it when it is not worse (or when forced), and tell every process to switch.

The training (`budsim.regressor.retrain.retrain`: a minute or more of XGBoost) runs in a child process at the lowest
CPU priority, as searches do (`jobs.search_process`), so the server's requests keep their cores. Its progress goes
onto the version's row (which doubles as its heartbeat) and out as news, so `retrainProgress` works from any process.
One retrain at a time: the database refuses a second TRAINING version. A retrain whose process died is declared
FAILED by the next `retrainRegressor` once its heartbeat is ABANDONED_AFTER old.
"""

import asyncio
import contextlib
import logging
import multiprocessing
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from budsim.core.errors import describe
from budsim.db import regressor_versions
from budsim.db.base import utcnow
from budsim.db.models import RegressorVersionRow
from budsim.jobs.news import JobNews
from budsim.jobs.search_process import yield_to_the_server
from budsim.regressor.retrain import RetrainProgress, retrain
from budsim.regressor.stored_runs import StoredRuns, stored_runs
from budsim.regressor.training import DEFAULT_CSV
from budsim.regressor.versions import encode
from budsim.settings import Settings

log = logging.getLogger("budsim.jobs")

ABANDONED_AFTER = timedelta(minutes=10)  # a live retrain beats every HEARTBEAT_S; this much silence means it died
HEARTBEAT_S = 30.0


class RetrainInProgress(Exception):
    def __init__(self, version_id: int | None) -> None:
        super().__init__(f"regressor version {version_id} is training; one retrain runs at a time")
        self.version_id = version_id


@dataclass(frozen=True, slots=True)
class Trained:
    """What the child hands back: the model as stored, and the verdict's inputs."""

    model: bytes
    rows: int
    groups: int
    run_ids: tuple[str, ...]
    dataset_sha256: str
    metrics: dict[str, Any]
    not_worse: bool


def _train(connection: Connection, csv_path: Path, stored: StoredRuns, active_run_ids: frozenset[str] | None,
           folds: int | None) -> None:  # fmt: skip
    """The child: train and evaluate, sending ("progress", stage, done, total) as it goes, then ("done", Trained) or
    ("failed", reason)."""

    def report(progress: RetrainProgress) -> None:
        connection.send(("progress", progress.stage, progress.done, progress.total))

    try:
        result = retrain(csv_path, stored, active_run_ids, folds=folds, on_progress=report)
        connection.send(
            (
                "done",
                Trained(
                    model=encode(result.regressor),
                    rows=result.rows,
                    groups=result.groups,
                    run_ids=result.run_ids,
                    dataset_sha256=result.dataset_sha256,
                    metrics=result.evaluation.document(),
                    not_worse=result.evaluation.not_worse(),
                ),
            )
        )
    except Exception as error:
        connection.send(("failed", describe(error)))
    finally:
        connection.close()


class Retrainer:
    """Starts retrains in this process and sees them through; `close` stops one still running (it is then FAILED)."""

    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        news: JobNews,
        switch: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """`switch` moves this process onto the newly active version; it is awaited before the retrain's end is
        announced, so that whoever sees a version activated and asks this server next is answered by it."""
        self._settings = settings
        self._sessionmaker = sessionmaker
        self._news = news
        self._switch = switch
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, *, force: bool, api_key_id: uuid.UUID | None) -> RegressorVersionRow:
        """A TRAINING version, its training under way. Raises RetrainInProgress while another one trains."""
        async with self._sessionmaker() as session:
            await regressor_versions.fail_abandoned(session, utcnow() - ABANDONED_AFTER)
        try:
            async with self._sessionmaker() as session:
                version = await regressor_versions.start_training(session, forced=force, api_key_id=api_key_id)
        except IntegrityError:
            async with self._sessionmaker() as session:
                training = await regressor_versions.training_id(session)
            raise RetrainInProgress(training) from None
        task = asyncio.create_task(self._run(version.id, force), name=f"budsim-retrain-{version.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return version

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, version_id: int, force: bool) -> None:
        try:
            trained = await self._train(version_id)
            activate = force or trained.not_worse
            progress = {"stage": "done", "done": 1, "total": 1}
            async with self._sessionmaker() as session:
                ended = await regressor_versions.finish(
                    session,
                    version_id,
                    activate=activate,
                    model=trained.model,
                    rows=trained.rows,
                    groups=trained.groups,
                    run_ids=list(trained.run_ids),
                    dataset_sha256=trained.dataset_sha256,
                    metrics=trained.metrics,
                    progress=progress,
                )
            if not ended:
                log.warning("regressor version %d was declared dead while training; its result is dropped", version_id)
                return
            verdict = "activated" if activate else "kept aside: worse than the active version"
            log.info("regressor version %d trained on %d rows, %s", version_id, trained.rows, verdict)
            await self._announce(version_id, activated=activate)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._fail(version_id, "the server stopped before it finished"))
            raise
        except Exception as error:
            log.exception("retraining regressor version %d failed", version_id)
            await self._fail(version_id, describe(error))

    async def _fail(self, version_id: int, reason: str) -> None:
        async with self._sessionmaker() as session:
            await regressor_versions.fail(session, version_id, reason)
        await self._announce(version_id, activated=False)

    async def _announce(self, version_id: int, *, activated: bool) -> None:
        """Other processes first (they switch meanwhile), then this one, then the end to subscribers."""
        try:
            if activated:
                await self._news.regressor_activated(version_id)
                if self._switch is not None:
                    await self._switch()
            await self._news.retrain_progress(version_id, "ended")
        except Exception:  # followers poll, and subscribers re-read the row
            log.exception("announcing regressor version %d failed", version_id)

    async def _train(self, version_id: int) -> Trained:
        settings = self._settings
        stored = await stored_runs(self._sessionmaker)
        async with self._sessionmaker() as session:
            active = await regressor_versions.active_id(session)
            row = await regressor_versions.get(session, active) if active is not None else None
            active_runs = frozenset(row.run_ids) if row is not None else None
        csv_path = settings.training_data or DEFAULT_CSV
        context = multiprocessing.get_context("spawn")  # as searches: no event loop or connections to inherit
        parent, child = context.Pipe(duplex=False)
        args = (child, csv_path, stored, active_runs, settings.retrain_folds or None)
        process = context.Process(target=_train, args=args, name="budsim-retrain", daemon=True)
        process.start()
        if process.pid is not None:
            yield_to_the_server(process.pid)
        child.close()
        latest: dict[str, Any] = {}
        beats = asyncio.create_task(self._beat(version_id, latest))
        try:
            while True:
                try:
                    message = await asyncio.to_thread(parent.recv)
                except EOFError:
                    raise RuntimeError(f"the training process died (exit code {process.exitcode})") from None
                if message[0] == "done":
                    trained: Trained = message[1]
                    return trained
                if message[0] == "failed":
                    raise RuntimeError(message[1])
                latest.update(stage=message[1], done=message[2], total=message[3])
                await self._progress(version_id, latest)
        finally:
            beats.cancel()
            if process.is_alive():
                process.kill()  # cancelled: the thread waiting on the pipe reads EOF and ends
            await asyncio.to_thread(process.join)
            parent.close()

    async def _progress(self, version_id: int, progress: dict[str, Any]) -> None:
        """Write the row (the heartbeat too) and announce it; best effort: the end is what must be written."""
        try:
            async with self._sessionmaker() as session:
                await regressor_versions.record_progress(session, version_id, dict(progress))
            await self._news.retrain_progress(version_id, "progress")
        except Exception:
            log.exception("regressor version %d: writing progress failed", version_id)

    async def _beat(self, version_id: int, latest: dict[str, Any]) -> None:
        """A fold can take longer than HEARTBEAT_S on a busy machine: beat between progress reports too."""
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            if latest:
                await self._progress(version_id, latest)
