"""Each process follows the database's active regressor version: told by news when one is activated, and checking on
its own every REGRESSOR_POLL_SECONDS in case that news was lost (NOTIFY is not durable) or cannot reach it (a
separate worker on SQLite).

A switch loads the new model once (off the event loop) and hands it to whoever predicts in this process: the
prediction children (`runtime.predictions.Predictions.use`), the worker's searches (`jobs.worker.Worker.use`), and
the resolvers, which read `current` for every request. Nothing restarts; a search already running finishes with the
version it started with, and its answer says so.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from budsim.core.predictors import ActiveRegressor
from budsim.db import regressor_versions
from budsim.regressor.stored_runs import UNREADABLE
from budsim.regressor.versions import load_version

log = logging.getLogger("budsim")

Switch = Callable[[ActiveRegressor], Awaitable[None]]


class RegressorFollower:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], current: ActiveRegressor, poll_seconds: float
    ) -> None:
        self.current = current
        self.on_switch: list[Switch] = []
        self._sessionmaker = sessionmaker
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._checking = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Look now: a version was activated somewhere (news), or news may have been missed (a reconnect)."""
        self._wake.set()

    async def check(self) -> bool:
        """Switch to the active version if it is not the one held; True when it switched."""
        async with self._checking:
            async with self._sessionmaker() as session:
                active = await regressor_versions.active_id(session)
            if active is None or active == self.current.version:
                return False
            loaded = await load_version(self._sessionmaker, active)
            for switch in self.on_switch:
                await switch(loaded)
            previous, self.current = self.current.version, loaded
            log.info("switched from regressor version %s to %d", previous, active)
            return True

    async def start(self) -> None:
        self._task = asyncio.create_task(self._follow(), name="budsim-regressor-follower")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _follow(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
            self._wake.clear()
            try:
                await self.check()
            except UNREADABLE as error:  # the database is away: the version held serves on
                log.warning("regressor version check failed (%s); retrying", type(error).__name__)
            except Exception:
                log.exception("switching regressor versions failed; the version held serves on")
