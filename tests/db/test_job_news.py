"""Job news over PostgreSQL: NOTIFY goes out on the process's own listening connection, reaches every listener, and
still goes out (through the pool) while that connection is dead and being reopened."""

import asyncio
import json
import uuid
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from budsim.db.session import create_engine
from budsim.jobs.news import CHANNEL, LISTENER_NAME, PostgresJobNews, asyncpg_dsn, topic
from budsim.runtime.events import EventBus
from tests.conftest import postgres_or_skip

WAIT_S = 10.0
POLL_S = 0.1


async def _listening_backends(connection: Any) -> list[int]:
    rows = await connection.fetch(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()", LISTENER_NAME
    )
    return [row["pid"] for row in rows]


async def test_news_reach_other_processes_while_the_listening_connection_is_dead_and_after_it_is_back() -> None:
    databases = await postgres_or_skip()
    url = await databases.create()
    engine = create_engine(url)
    bus = EventBus()
    news = PostgresJobNews(bus, engine, url)
    other = await asyncpg.connect(asyncpg_dsn(url))
    heard: asyncio.Queue[dict[str, Any]] = asyncio.Queue()  # what another process listening on the channel hears
    await other.add_listener(CHANNEL, lambda _c, _pid, _channel, payload: heard.put_nowait(json.loads(payload)))
    job = uuid.uuid4()
    try:
        await news.start()
        async with bus.subscribe(topic(job)) as own:
            await news.progress(job, "RUNNING", {"generation": 0})
            assert (await asyncio.wait_for(heard.get(), WAIT_S))["progress"]["generation"] == 0
            assert (await asyncio.wait_for(own.get(), WAIT_S))["progress"]["generation"] == 0  # it hears itself

            [listener] = await _listening_backends(other)
            assert await other.fetchval("SELECT pg_terminate_backend($1)", listener)
            await news.progress(job, "RUNNING", {"generation": 1})  # the listening connection is dead
            assert (await asyncio.wait_for(heard.get(), WAIT_S))["progress"]["generation"] == 1

            for _ in range(int(WAIT_S / POLL_S)):  # the listening connection comes back, as another backend
                if (backends := await _listening_backends(other)) not in ([], [listener]):
                    break
                await asyncio.sleep(POLL_S)
            assert len(backends) == 1
            assert listener not in backends
            await news.progress(job, "RUNNING", {"generation": 2})
            assert (await asyncio.wait_for(heard.get(), WAIT_S))["progress"]["generation"] == 2
            async with asyncio.timeout(WAIT_S):  # and the process hears its own news again
                while (await own.get())["progress"]["generation"] != 2:
                    pass
    finally:
        await news.close()
        await other.close()
        await engine.dispose()
        await databases.drop(url)
