"""Liveness, readiness and GraphiQL: what operators and browsers see first."""

from pathlib import Path

import httpx
from starlette.applications import Starlette

from budsim.app import create_app
from budsim.db import migrate
from budsim.settings import Settings


async def test_healthz_answers_while_the_process_lives(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_readyz_reports_database_and_migration_head(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "migration": migrate.head_revision(),
        "head": migrate.head_revision(),
        "auth": "enabled",
    }


async def _get(app: Starlette, path: str) -> httpx.Response:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://budsim.test") as http,
    ):
        return await http.get(path)


async def test_readyz_is_unavailable_before_migrations(tmp_path: Path, model_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/empty.db", model_path=model_path)
    response = await _get(create_app(settings), "/readyz")
    assert response.status_code == 503
    assert response.json()["migration"] is None


async def test_readyz_is_unavailable_when_the_database_is_unreachable(tmp_path: Path, model_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/x.db"
    response = await _get(create_app(Settings(database_url=url, model_path=model_path)), "/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


async def test_browser_get_opens_graphiql(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_an_unreachable_database_answers_503_without_internals(tmp_path: Path, model_path: Path) -> None:
    """A lost database is not a bug to report but a moment to retry: SERVICE_UNAVAILABLE, 503, nothing internal."""
    url = f"sqlite+aiosqlite:///{tmp_path}/missing/dir/db.sqlite"
    app = create_app(Settings(database_url=url, model_path=model_path))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://budsim.test") as http,
    ):
        response = await http.post("/graphql", json={"query": "{ models { name } }"})
    assert response.status_code == 503
    [error] = response.json()["errors"]
    assert error["message"] == "The database is unavailable; retry shortly."
    assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE"}
    assert "missing" not in response.text
    assert "Traceback" not in response.text


async def test_unexpected_failures_are_masked_without_internals(tmp_path: Path, model_path: Path) -> None:
    """A server fault answers a generic message and a code, never the exception text or a traceback."""
    url = f"sqlite+aiosqlite:///{tmp_path}/db.sqlite"
    await migrate.upgrade_url(url)
    app = create_app(Settings(database_url=url, model_path=model_path))

    def broken_reader() -> None:
        raise RuntimeError("secret internals")

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://budsim.test") as http,
    ):
        app.state.reader = broken_reader
        response = await http.post("/graphql", json={"query": "{ models { name } }"})
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["message"] == "Internal server error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "secret" not in response.text
    assert "Traceback" not in response.text
