"""How news about jobs travels: progress and endings to subscribers, "a job is queued" to workers, "cancel" to the
worker running it; hardware profile changes to `hardwareProfileEvents` subscribers in every process; a retrain's
progress to its subscribers, and "another regressor version is active" to every process, which then switches to it.

With SQLite (one process) news goes straight onto the in-process bus and to the local worker. With PostgreSQL it
goes out by NOTIFY on one channel and comes back to every process that LISTENs, this one included, so a subscriber on
API process A sees a job that a worker in process B runs, by the same path as a job run next door. NOTIFY is not a
durable queue: a process that reconnects after losing its listening connection may miss news, so subscribers re-read
the job row when they hear nothing for a while and workers also poll for queued jobs and read cancels on heartbeat.
"""

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from budsim.runtime.events import EventBus

log = logging.getLogger("budsim.jobs")

CHANNEL = "budsim_jobs"
LISTENER_NAME = "budsim-job-news"  # the listening connection's application_name, as pg_stat_activity shows it
NOTIFY_LIMIT = 7900  # PostgreSQL refuses NOTIFY payloads of 8000 bytes or more


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL as asyncpg takes it, for the connection that LISTENs."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


PROFILES_TOPIC = "hardware_profiles"  # the bus topic profile changes arrive on, from whichever process made them


def topic(job_id: uuid.UUID | str) -> str:
    return f"optimization_jobs:{job_id}"


def retrain_topic(version_id: int | str) -> str:
    return f"regressor_versions:{version_id}"


class JobNews:
    """In-process delivery; `PostgresJobNews` sends the same messages through PostgreSQL instead."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.on_queued: list[Callable[[], None]] = []
        self.on_cancel: list[Callable[[uuid.UUID], None]] = []
        self.on_regressor: list[Callable[[], None]] = []  # another version is active: look it up

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def progress(self, job_id: uuid.UUID, status: str, progress: dict[str, Any]) -> None:
        await self._send({"kind": "progress", "job_id": str(job_id), "status": status, "progress": progress})

    async def ended(self, job_id: uuid.UUID, status: str) -> None:
        await self._send({"kind": "ended", "job_id": str(job_id), "status": status})

    async def queued(self) -> None:
        await self._send({"kind": "queued"})

    async def cancel(self, job_id: uuid.UUID) -> None:
        await self._send({"kind": "cancel", "job_id": str(job_id)})

    async def profile_changed(self, change: str, profile_id: str, profile: dict[str, Any] | None) -> None:
        """A committed create, update or delete; `profile` is the row as a JSON document (None for a delete)."""
        await self._send({"kind": "profile", "change": change, "id": profile_id, "profile": profile})

    async def retrain_progress(self, version_id: int, status: str) -> None:
        """A retrain moved on (a stage, a fold, its end): subscribers re-read the version's row."""
        await self._send({"kind": "retrain", "version": version_id, "status": status})

    async def regressor_activated(self, version_id: int) -> None:
        await self._send({"kind": "regressor", "version": version_id})

    async def _send(self, message: dict[str, Any]) -> None:
        self._deliver(message)

    def _deliver(self, message: dict[str, Any]) -> None:
        kind = message["kind"]
        if kind == "queued":
            for wake in self.on_queued:
                wake()
        elif kind == "cancel":
            for cancel in self.on_cancel:
                cancel(uuid.UUID(message["job_id"]))
        elif kind == "ended":
            self.bus.forget(topic(message["job_id"]))
            self.bus.publish(topic(message["job_id"]), message)
        elif kind == "progress":
            self.bus.publish(topic(message["job_id"]), message, retain=True)
        elif kind == "profile":
            self.bus.publish(PROFILES_TOPIC, message)
        elif kind == "retrain":
            self.bus.publish(retrain_topic(message["version"]), message)
        elif kind == "regressor":
            for switch in self.on_regressor:
                switch()


class PostgresJobNews(JobNews):
    """LISTEN on a dedicated asyncpg connection, reopened whenever it drops; NOTIFY on the same connection, or through
    the app's engine while it is being reopened.

    A NOTIFY through SQLAlchemy cost 0.75 ms of the event loop's CPU (a session, a transaction, three round trips);
    one statement on the raw connection costs 0.14 ms. Every job submission sends one, and so does every generation
    of every search a worker in this process runs.
    """

    def __init__(self, bus: EventBus, engine: AsyncEngine, database_url: str) -> None:
        super().__init__(bus)
        self._engine = engine
        self._dsn = asyncpg_dsn(database_url)
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connection: Any = None  # the listening asyncpg connection while it is open
        self._notifying = asyncio.Lock()  # one statement at a time on it

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever(), name="budsim-job-news")
        await asyncio.wait_for(self._listening.wait(), timeout=30)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _send(self, message: dict[str, Any]) -> None:
        payload = json.dumps(message, separators=(",", ":"))
        if len(payload.encode()) > NOTIFY_LIMIT and "progress" in message:
            # The front (64 points, 1.6 kB) fits beside any best config; what is too large goes, the config first.
            lighter: tuple[dict[str, Any], ...] = ({"best_config": None}, {"best_config": None, "pareto_front": []})
            for dropped in lighter:
                message = {**message, "progress": {**message["progress"], **dropped}}
                payload = json.dumps(message, separators=(",", ":"))
                if len(payload.encode()) <= NOTIFY_LIMIT:
                    break
        elif len(payload.encode()) > NOTIFY_LIMIT and message.get("profile") is not None:
            # Free-form specs can make a profile too large to announce: its id goes, and subscribers read the row.
            message = {**message, "profile": None}
            payload = json.dumps(message, separators=(",", ":"))
        listening = self._connection  # the listener may drop it while this waits
        if listening is not None and not listening.is_closed():
            async with self._notifying:
                try:
                    await listening.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
                    return
                except Exception as error:  # a dying connection fails in many ways (asyncpg's InternalClientError too)
                    log.warning("NOTIFY on the listening connection failed (%s); reopening it", error)
                    # Not every such failure reaches the termination listener, and LISTEN would wait on it forever.
                    listening.terminate()
        async with self._engine.connect() as connection:
            await connection.execute(
                text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload}
            )
            await connection.commit()

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            self._deliver(json.loads(payload))
        except Exception:  # one malformed message must not stop the listener
            log.exception("dropped a job message: %.200s", payload)

    async def _listen_forever(self) -> None:
        while True:
            connection = None
            try:
                connection = await asyncpg.connect(self._dsn, server_settings={"application_name": LISTENER_NAME})
                closed = asyncio.Event()
                connection.add_termination_listener(lambda _c, closed=closed: closed.set())
                await connection.add_listener(CHANNEL, self._on_notify)
                if self._listening.is_set():  # a reconnect: news may have been missed, so workers look again
                    self._deliver({"kind": "queued"})
                    self._deliver({"kind": "regressor"})
                self._connection = connection
                self._listening.set()
                await closed.wait()
                log.warning("the LISTEN connection closed; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("LISTEN on %s failed (%s); retrying in 1 s", CHANNEL, error)
            finally:
                self._connection = None
                if connection is not None and not connection.is_closed():
                    await connection.close()
            await asyncio.sleep(1.0)


def job_news(bus: EventBus, engine: AsyncEngine, database_url: str) -> JobNews:
    """Cross-process news where the database can carry it (PostgreSQL), in-process news otherwise."""
    if engine.dialect.name == "postgresql":
        return PostgresJobNews(bus, engine, database_url)
    return JobNews(bus)
