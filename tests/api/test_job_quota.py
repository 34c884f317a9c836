"""MAX_ACTIVE_JOBS_PER_KEY: a key with that many optimizations queued or running is refused another, nothing
written, until one of them ends; other keys and the development principal are not counted against it."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from budsim.core.auth import Scope
from budsim.db.models import OptimizationJobRow
from budsim.settings import Settings
from tests.api.helpers import JOB_FIELDS, OPTIMIZE, job_input
from tests.api.test_endpoints import OPTIMIZE_ENDPOINT, create, endpoint_input
from tests.conftest import BACKENDS, LiveServer, bearer, gql_data, migrated_database, new_key, serve

CANCEL = f"mutation($id: ID!) {{ cancelOptimization(id: $id) {{ ... on OptimizationJob {{ {JOB_FIELDS} }} }} }}"


@pytest.fixture(params=BACKENDS)
async def server(request: pytest.FixtureRequest, tmp_path: Path, model_path: Path) -> AsyncIterator[LiveServer]:
    """No worker, so that a job stays QUEUED until it is cancelled."""
    async with migrated_database(request.param, tmp_path) as url:
        settings = Settings(
            database_url=url,
            model_path=model_path,
            run_worker=False,
            auth_disabled=False,
            max_active_jobs_per_key=1,
            bulk_concurrency=8,  # submissions truly at once, for the race below
        )
        async with serve(settings) as live:
            yield live


async def _jobs(server: LiveServer) -> list[tuple[str, uuid.UUID | None]]:
    async with server.app.state.sessionmaker() as session:
        rows = await session.execute(select(OptimizationJobRow.status, OptimizationJobRow.api_key_id))
        return [(status, key) for status, key in rows]


async def test_a_key_at_its_limit_is_refused_until_its_job_ends(server: LiveServer) -> None:
    async with server.client(timeout=60) as http:
        data = await job_input(http)
        first = (await gql_data(http, OPTIMIZE, input=data, wait=False))["optimize"]
        refused = (await gql_data(http, OPTIMIZE, input=data, wait=False))["optimize"]
        after_refusal = await _jobs(server)
        other = await new_key(server.app, Scope.WRITE)
        async with httpx.AsyncClient(base_url=server.http_url, headers=bearer(other), timeout=60) as others_http:
            others = (await gql_data(others_http, OPTIMIZE, input=data, wait=False))["optimize"]
        rest = await http.post("/optimize", params={"wait": "false"}, json=_snake(data))
        cancelled = (await gql_data(http, CANCEL, id=first["id"]))["cancelOptimization"]
        accepted = (await gql_data(http, OPTIMIZE, input=data, wait=False))["optimize"]
    assert first["status"] == "QUEUED"
    assert refused["__typename"] == "ValidationError"
    assert refused["field"] == "input"
    assert "1 optimizations queued or running" in refused["message"]
    assert "MAX_ACTIVE_JOBS_PER_KEY" in refused["message"]
    assert "retry when one of them ends" in refused["message"]
    assert len(after_refusal) == 1  # the refused one wrote nothing
    [(_status, owner)] = after_refusal
    assert owner is not None
    assert others["__typename"] == "OptimizationJob"  # another key has its own count
    assert rest.status_code == 429, rest.text
    assert rest.json()["error"]["code"] == "TOO_MANY_JOBS"
    assert rest.json()["error"]["max_active_jobs"] == 1
    assert cancelled["status"] == "CANCELLED"
    assert accepted["__typename"] == "OptimizationJob"
    assert accepted["status"] == "QUEUED"
    assert sorted(status for status, _ in await _jobs(server)) == ["CANCELLED", "QUEUED", "QUEUED"]


async def test_simultaneous_submissions_by_one_key_queue_no_more_than_its_limit(server: LiveServer) -> None:
    """Each count and insert holds the key's row, so 8 submissions at once cannot all pass the same count of 0."""
    async with server.client(timeout=60) as http:
        data = await job_input(http)
        answers = await asyncio.gather(*(gql_data(http, OPTIMIZE, input=data, wait=False) for _ in range(8)))
    kinds = sorted(answer["optimize"]["__typename"] for answer in answers)
    assert kinds == ["OptimizationJob"] + ["ValidationError"] * 7
    assert len(await _jobs(server)) == 1


async def test_the_development_principal_has_no_job_limit(tmp_path: Path, model_path: Path) -> None:
    async with migrated_database("sqlite", tmp_path) as url:
        settings = Settings(
            database_url=url, model_path=model_path, run_worker=False, auth_disabled=True, max_active_jobs_per_key=1
        )
        async with serve(settings) as live, live.client(timeout=60) as http:
            data = await job_input(http)
            answers = [(await gql_data(http, OPTIMIZE, input=data, wait=False))["optimize"] for _ in range(3)]
            async with live.app.state.sessionmaker() as session:
                owners = await session.scalar(select(func.count()).where(OptimizationJobRow.api_key_id.is_not(None)))
    assert [answer["status"] for answer in answers] == ["QUEUED"] * 3
    assert owners == 0


def _snake(data: dict[str, object]) -> dict[str, object]:
    names = {"modelId": "model_id", "hardwareProfileIds": "hardware_profile_ids"}
    return {names.get(name, name): value for name, value in data.items()}


async def test_an_endpoints_optimizations_count_against_the_same_limit(server: LiveServer) -> None:
    """optimizeEndpoint queues through optimize's own path: one key's plain and endpoint jobs share one count."""
    async with server.client(timeout=60) as http:
        endpoint = await create(http, **await endpoint_input(http))
        queued = (await gql_data(http, OPTIMIZE_ENDPOINT, id=endpoint["id"], wait=False))["optimizeEndpoint"]
        plain = (await gql_data(http, OPTIMIZE, input=await job_input(http), wait=False))["optimize"]
        again = (await gql_data(http, OPTIMIZE_ENDPOINT, id=endpoint["id"], wait=False))["optimizeEndpoint"]
    assert (queued["status"], queued["endpoint"]) == ("QUEUED", {"id": endpoint["id"], "name": endpoint["name"]})
    assert (plain["__typename"], plain["field"]) == ("ValidationError", "input")
    assert (again["__typename"], again["field"]) == ("ValidationError", "input")
    assert "MAX_ACTIVE_JOBS_PER_KEY" in again["message"]
    assert [status for status, _ in await _jobs(server)] == ["QUEUED"]
