"""Shared fixtures: a throwaway database per backend per run, the real ASGI app, and GraphQL helpers.

Every test that takes `client` (or `live_server`) runs twice: once on PostgreSQL, once on SQLite. Each run creates
its own PostgreSQL database named `budsim_test_<random>` and drops it afterwards, so runs never see each other's rows.
Under CI=true an unreachable PostgreSQL fails the run; elsewhere the PostgreSQL half is skipped with the reason.
"""

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from budsim.app import create_app
from budsim.core.auth import Scope
from budsim.core.predictors import ResidualRegressor
from budsim.db import api_keys, migrate
from budsim.db.session import create_engine
from budsim.regressor.training import DEFAULT_CSV, read_model, train_from_csv
from budsim.settings import Settings

DEFAULT_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
BACKENDS = ("postgresql", "sqlite")


def _admin_url() -> str:
    return Settings(database_url=os.environ.get("TEST_DATABASE_URL", DEFAULT_ADMIN_URL)).async_database_url


async def _postgres_reachable(admin_url: str) -> str | None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return None
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    finally:
        await engine.dispose()


class PostgresDatabases:
    """Creates and drops throwaway databases through the admin connection."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    async def create(self) -> str:
        name = f"budsim_test_{uuid.uuid4().hex[:12]}"
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        await engine.dispose()
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    async def drop(self, url: str) -> None:
        name = make_url(url).database
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()


async def postgres_or_skip() -> PostgresDatabases:
    admin_url = _admin_url()
    problem = await _postgres_reachable(admin_url)
    if problem:
        message = f"PostgreSQL at {make_url(admin_url).render_as_string()} is unreachable: {problem}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return PostgresDatabases(admin_url)


@asynccontextmanager
async def migrated_database(backend: str, directory: Path) -> AsyncIterator[str]:
    """An empty database on `backend`, migrated to head, dropped afterwards (SQLite: a file under `directory`)."""
    if backend == "postgresql":
        databases = await postgres_or_skip()
        url = await databases.create()
        try:
            await migrate.upgrade_url(url)
            yield url
        finally:
            await databases.drop(url)
    else:
        url = f"sqlite+aiosqlite:///{directory / f'budsim-{uuid.uuid4().hex[:8]}.db'}"
        await migrate.upgrade_url(url)
        yield url


@pytest.fixture(scope="session", params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """An empty database migrated to head, on each backend in turn."""
    async with migrated_database(request.param, tmp_path_factory.mktemp("sqlite")) as url:
        yield url


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The residual regressor trained once per run from data/benchmarks.csv, as a fresh server would at start-up."""
    path: Path = tmp_path_factory.mktemp("models") / "residual.json"
    train_from_csv(DEFAULT_CSV, path, logo=False)
    return path


@pytest.fixture(scope="session")
def regressor(model_path: Path) -> ResidualRegressor:
    """That regressor, loaded: what the REGRESSOR method predicts with."""
    return read_model(model_path)


async def new_key(application: Starlette, scope: Scope = Scope.ADMIN) -> str:
    """A fresh API key in the app's database, as `budsim create-api-key` makes one."""
    _key, secret = await api_keys.create(application.state.sessionmaker, f"test-{scope.label}", scope)
    return secret


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture(scope="session")
async def app(database_url: str, model_path: Path) -> AsyncIterator[Starlette]:
    """Auth on for both backends (SQLite would default to development mode): tests call as an admin key. The
    per-key limits are off: the whole session's tests (the fuzzer's hundreds of requests and jobs among them) share
    that one key, and tests/web/test_rate_limit.py and tests/api/test_job_quota.py test the limits on their own."""
    settings = Settings(
        database_url=database_url,
        model_path=model_path,
        auth_disabled=False,
        rate_limit_per_minute=0,
        max_active_jobs_per_key=0,
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def admin_token(app: Starlette) -> str:
    return await new_key(app, Scope.ADMIN)


@pytest.fixture(scope="session")
def engine(app: Starlette) -> AsyncEngine:
    return app.state.engine


@pytest.fixture
async def client(app: Starlette, admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://budsim.test", headers=bearer(admin_token)
    ) as http:
        yield http


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class LiveServer:
    host: str
    app: Starlette
    token: str | None = None  # an admin key, when the server requires one

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)

    def client(self, **options: Any) -> httpx.AsyncClient:
        """An HTTP client of this server that sends its key."""
        return httpx.AsyncClient(base_url=self.http_url, headers=self.headers, **options)

    @property
    def http_url(self) -> str:
        return f"http://{self.host}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}/graphql"


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[LiveServer]:
    """The app under a real uvicorn server on a loopback port, for websockets and real HTTP; with an admin key in
    `token` (and `headers`) when `settings` require one."""
    port = _free_port()
    application = create_app(settings)
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, log_level="warning", ws_max_size=settings.max_request_bytes
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        token = await new_key(application) if settings.auth_enabled else None
        yield LiveServer(host=f"127.0.0.1:{port}", app=application, token=token)
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="session", params=BACKENDS)
async def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, model_path: Path
) -> AsyncIterator[LiveServer]:
    """A server with a database of its own, so that its worker alone runs the jobs submitted to it."""
    async with (
        migrated_database(request.param, tmp_path_factory.mktemp("live")) as url,
        serve(Settings(database_url=url, model_path=model_path, auth_disabled=False)) as server,
    ):
        yield server


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    """POST a GraphQL operation and return the decoded body (data and errors)."""
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


async def gql_data(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    """Like `gql`, for operations that must succeed."""
    body = await gql(client, query, **variables)
    assert "errors" not in body, body["errors"]
    return body["data"]
