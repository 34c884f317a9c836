"""`budsim worker`: a process that only runs optimization jobs, beside API processes that only answer requests."""

import asyncio
import contextlib
import logging
import signal

from budsim.db.session import create_engine, create_sessionmaker
from budsim.jobs.news import job_news
from budsim.jobs.worker import Worker
from budsim.regressor.following import RegressorFollower
from budsim.regressor.versions import prepare_regressor
from budsim.runtime.events import EventBus
from budsim.settings import Settings

log = logging.getLogger("budsim.jobs")


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM; jobs still running then go back to the queue for another worker."""
    engine = create_engine(settings.async_database_url)
    if engine.dialect.name == "sqlite":
        log.warning(
            "a separate worker on SQLite hears of new jobs only by polling (every %.1f s)", settings.job_poll_seconds
        )
    news = job_news(EventBus(), engine, settings.async_database_url)
    try:
        active = await prepare_regressor(settings)
        sessionmaker = create_sessionmaker(engine)
        worker = Worker(settings, sessionmaker, news, active)
        regressors = RegressorFollower(sessionmaker, active, settings.regressor_poll_seconds)
        regressors.on_switch.append(worker.use)
        news.on_regressor.append(regressors.wake)
        await news.start()
        await regressors.start()
        task = asyncio.create_task(worker.run())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await regressors.close()
    finally:
        await news.close()
        await engine.dispose()
