"""CORS: only origins in `CORS_ORIGINS` get the headers that let a browser page read an answer."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from budsim.app import create_app
from budsim.settings import Settings
from tests.conftest import migrated_database

ALLOWED = "https://dashboard.example.com"
OTHER = "https://evil.example.net"


@pytest.fixture(scope="module")
async def client(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with migrated_database("sqlite", tmp_path_factory.mktemp("cors")) as url:
        settings = Settings(
            database_url=url,
            model_path=model_path,
            run_worker=False,
            simulate_processes=0,
            max_request_bytes=1024,
            cors_origins=f"{ALLOWED}, https://other-allowed.example.com",
        )
        application: Starlette = create_app(settings)
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://budsim.test") as http:
                yield http


def _preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_a_preflight_from_an_allowed_origin_gets_the_headers(client: httpx.AsyncClient) -> None:
    response = await client.options("/graphql", headers=_preflight(ALLOWED))
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers
    assert "content-type" in allowed_headers


async def test_a_preflight_from_another_origin_gets_none(client: httpx.AsyncClient) -> None:
    response = await client.options("/graphql", headers=_preflight(OTHER))
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_a_post_from_an_allowed_origin_gets_allow_origin(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}
    assert response.headers["access-control-allow-origin"] == ALLOWED


async def test_a_post_from_another_origin_gets_no_allow_origin(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": OTHER})
    assert "access-control-allow-origin" not in response.headers


async def test_a_413_carries_the_headers(client: httpx.AsyncClient) -> None:
    body = b'{"query": "{ __typename }", "pad": "' + b" " * 4096 + b'"}'
    response = await client.post(
        "/graphql", content=body, headers={"Origin": ALLOWED, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["access-control-allow-origin"] == ALLOWED


async def test_no_origins_no_headers(tmp_path: Path, model_path: Path) -> None:
    application = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", model_path=model_path))
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://budsim.test") as http:
        response = await http.options("/graphql", headers=_preflight(ALLOWED))
    assert "access-control-allow-origin" not in response.headers
