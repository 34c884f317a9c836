"""Optimization jobs over real HTTP and websockets: queued, followed generation by generation, cancelled, timed out,
failed with a reason, and recovered after their worker died."""

import asyncio
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, update

from budsim.core.types import Method
from budsim.db import jobs
from budsim.db.models import OptimizationJobRow
from budsim.resolvers import optimization_jobs
from budsim.settings import Settings
from tests.api.helpers import (
    JOB_FIELDS,
    JOB_PROFILES,
    LLAMA_70B,
    OPTIMIZE,
    PROGRESS,
    job_input,
    places_taken,
    row_counts,
    simulate,
    submit_job,
)
from tests.api.ws import PROTOCOLS, subscribe
from tests.conftest import BACKENDS, LiveServer, gql, gql_data, migrated_database, serve

JOB = f"query($id: ID!) {{ optimizationJob(id: $id) {{ {JOB_FIELDS} }} }}"
CANCEL = f"""
mutation($id: ID!) {{
  cancelOptimization(id: $id) {{
    __typename
    ... on OptimizationJob {{ {JOB_FIELDS} }}
    ... on NotFoundError {{ entity id }}
  }}
}}
"""
ENDED = {"SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"}


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with live_server.client(timeout=120) as client:
        yield client


async def job(http: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    found = (await gql_data(http, JOB, id=job_id))["optimizationJob"]
    assert found is not None
    return found


async def until_generation(events: Any, generation: int) -> dict[str, Any]:
    """Read progress events until one reports `generation` or later."""
    while True:
        payload = await events.next()
        assert payload is not None, "the job ended before the generation came"
        event = payload["data"]["optimizationProgress"]
        if event["generation"] is not None and event["generation"] >= generation:
            return event


async def test_optimize_without_waiting_answers_at_once_and_the_job_runs_to_its_end(
    http: httpx.AsyncClient, live_server: LiveServer
) -> None:
    queued = await submit_job(http, wait=False)
    assert queued["status"] in {"QUEUED", "RUNNING"}
    assert queued["result"] is None
    assert queued["finishedAt"] is None
    async with subscribe(live_server, PROGRESS, id=queued["id"]) as events:
        final = (await events.events("optimizationProgress"))[-1]
    assert final["status"] == "SUCCEEDED"
    ended = await job(http, queued["id"])
    assert ended["status"] == "SUCCEEDED"
    assert ended["method"] == "REGRESSOR"
    assert ended["attempts"] == 1
    assert ended["error"] is None
    assert ended["createdAt"] <= ended["startedAt"] <= ended["finishedAt"]
    assert ended["progress"]["generation"] == ended["result"]["generations"] > 0
    assert ended["result"]["optimalConfig"]["gpuType"] in {name.split(" ")[0] for name in JOB_PROFILES}
    simulation = await gql_data(
        http, "query($id: ID!) { simulation(id: $id) { id method } }", id=ended["result"]["simulation"]["id"]
    )
    assert simulation["simulation"]["method"] == "REGRESSOR"


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
async def test_progress_comes_once_per_generation_then_the_end_with_the_result(
    http: httpx.AsyncClient, live_server: LiveServer, protocol: str
) -> None:
    queued = await submit_job(http, wait=False)
    async with subscribe(live_server, PROGRESS, protocol, id=queued["id"]) as events:
        received = await events.events("optimizationProgress")
    *progress, final = received
    assert all(event["jobId"] == queued["id"] for event in received)
    generations = [event["generation"] for event in progress if event["generation"] is not None]
    assert len(generations) >= 5
    assert generations == list(range(generations[0], generations[0] + len(generations)))  # none skipped, none twice
    running = [event for event in progress if event["generation"] is not None]
    assert all(event["status"] == "RUNNING" and event["attempt"] == 1 for event in running)
    evaluations = [event["evaluations"] for event in running]
    assert evaluations == sorted(evaluations)
    assert running[-1]["paretoFrontSize"] >= 1
    assert running[-1]["bestOutputTokensPerS"] > 0
    assert running[-1]["bestConfig"]["vllmArgs"].startswith(f"vllm serve {LLAMA_70B}")
    assert all(event["result"] is None for event in progress)

    assert final["status"] == "SUCCEEDED"
    assert final["error"] is None
    assert final["result"]["generations"] == generations[-1] == final["generation"]
    assert final["result"]["evaluations"] == final["evaluations"] >= evaluations[-1]


async def test_a_late_subscriber_first_gets_the_latest_state(http: httpx.AsyncClient, live_server: LiveServer) -> None:
    queued = await submit_job(http, wait=False)
    async with subscribe(live_server, PROGRESS, id=queued["id"]) as early:
        seen = await until_generation(early, 3)
        async with subscribe(live_server, PROGRESS, "graphql-ws", id=queued["id"]) as late:
            first = await late.next()
            assert first is not None
            joined = first["data"]["optimizationProgress"]
            rest = await late.events("optimizationProgress")
        await early.events("optimizationProgress")
    assert joined["status"] == "RUNNING"
    assert joined["generation"] >= seen["generation"] >= 3  # the latest generation, not a replay from the start
    assert rest[-1]["status"] == "SUCCEEDED"


async def test_a_query_sent_during_a_search_is_answered_while_the_search_runs(
    http: httpx.AsyncClient, live_server: LiveServer
) -> None:
    queued = await submit_job(http, wait=False)
    async with subscribe(live_server, PROGRESS, id=queued["id"]) as events:
        await until_generation(events, 1)
        during = await job(http, queued["id"])
        catalog = await gql_data(http, "{ gpuTypes { name } }")
        await events.events("optimizationProgress")
    assert during["status"] == "RUNNING"  # answered before the search ended: it is not on the event loop
    assert len(catalog["gpuTypes"]) >= 10
    assert (await job(http, queued["id"]))["status"] == "SUCCEEDED"


def bulk_places_taken(server: LiveServer) -> AbstractAsyncContextManager[None]:
    """Every BULK_CONCURRENCY place of the server held, as a burst of submissions would."""
    return places_taken(server.app.state.bulk, server.app.state.settings.bulk_concurrency)


async def test_submissions_wait_for_a_place_while_simulate_and_queries_pass(
    http: httpx.AsyncClient, live_server: LiveServer
) -> None:
    count = "{ optimizationJobs(first: 1) { totalCount } }"
    jobs_before = (await gql_data(http, count))["optimizationJobs"]["totalCount"]
    payload = await job_input(http)
    async with bulk_places_taken(live_server):
        submitted = asyncio.create_task(gql_data(http, OPTIMIZE, input=payload, wait=False))
        simulated = await simulate(http, "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM x1")
        listed = (await gql_data(http, count))["optimizationJobs"]["totalCount"]
        assert simulated["__typename"] == "Simulation"  # interactive requests are not gated
        assert listed == jobs_before
        assert not submitted.done()  # the submission waits for a place, having written nothing
    queued = (await submitted)["optimize"]
    assert queued["status"] in {"QUEUED", "RUNNING"}

    async with subscribe(live_server, PROGRESS, id=queued["id"]) as events:
        assert (await events.events("optimizationProgress"))[-1]["status"] == "SUCCEEDED"


async def test_cancel_stops_a_running_search_within_a_generation_and_keeps_its_best(
    http: httpx.AsyncClient, live_server: LiveServer
) -> None:
    full = await submit_job(http, wait=True, seed=7)
    assert full["status"] == "SUCCEEDED"
    queued = await submit_job(http, wait=False, seed=7)
    async with subscribe(live_server, PROGRESS, id=queued["id"]) as events:
        seen = await until_generation(events, 1)
        cancelled = (await gql_data(http, CANCEL, id=queued["id"]))["cancelOptimization"]
        final = (await events.events("optimizationProgress"))[-1]
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["finishedAt"] is not None
    assert cancelled["result"] is not None  # the best found before the cancel
    assert cancelled["result"]["optimalConfig"] is not None
    assert seen["generation"] <= cancelled["result"]["generations"] < full["result"]["generations"]
    assert final["status"] == "CANCELLED"
    assert final["result"]["generations"] == cancelled["result"]["generations"]
    again = (await gql_data(http, CANCEL, id=queued["id"]))["cancelOptimization"]
    assert (again["status"], again["finishedAt"]) == ("CANCELLED", cancelled["finishedAt"])  # ended jobs stay ended


async def test_unknown_jobs_are_named_as_such(http: httpx.AsyncClient, live_server: LiveServer) -> None:
    missing = str(uuid.uuid4())
    assert (await gql_data(http, JOB, id=missing))["optimizationJob"] is None
    assert (await gql_data(http, CANCEL, id=missing))["cancelOptimization"] == {
        "__typename": "NotFoundError",
        "entity": "OptimizationJob",
        "id": missing,
    }
    malformed = await gql(http, JOB, id="not-an-id")
    assert malformed["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
    async with subscribe(live_server, PROGRESS, id=missing) as events:
        answer = await events.next()
    assert answer is not None
    assert answer["errors"][0]["message"] == f"OptimizationJob {missing} does not exist"


async def test_a_refused_request_queues_no_job(http: httpx.AsyncClient, live_server: LiveServer) -> None:
    before = await row_counts(live_server.app.state.engine)
    answer = (
        await gql_data(
            http,
            OPTIMIZE,
            input=await job_input(http, workload={"inputTokens": 200_000, "outputTokens": 100, "concurrency": 8}),
            wait=False,
        )
    )["optimize"]
    assert answer["__typename"] == "ValidationError"
    assert answer["field"] == "input.workload"
    assert "exceed the context of 131072" in answer["message"]
    assert await row_counts(live_server.app.state.engine) == before


async def test_a_job_whose_profile_vanished_fails_with_the_reason(
    http: httpx.AsyncClient, live_server: LiveServer
) -> None:
    state = live_server.app.state
    document = {**_request_document(await job_input(http)), "hardware_profile_ids": [str(uuid.uuid4())]}
    async with state.sessionmaker() as session:
        row = await jobs.insert(
            session, model_id=uuid.UUID(document["model_id"]), method="REGRESSOR", request=document, max_attempts=3
        )
    await state.news.queued()
    async with subscribe(live_server, PROGRESS, id=str(row.id)) as events:
        final = (await events.events("optimizationProgress"))[-1]
    assert final["status"] == "FAILED"
    assert final["error"] == f"hardware profile {document['hardware_profile_ids'][0]} no longer exists"
    assert final["result"] is None
    assert (await job(http, str(row.id)))["error"] == final["error"]


def _request_document(data: dict[str, Any]) -> dict[str, Any]:
    """A stored job request (see budsim.jobs.request.JobRequest) for the API input `data`."""
    return {
        "model_id": data["modelId"],
        "hardware_profile_ids": data["hardwareProfileIds"],
        "method": Method.REGRESSOR.value,
        "engine": "VLLM",
        "precisions": data["precisions"],
        "workload": {"input_tokens": 1024, "output_tokens": 256, "concurrency": 32, "request_rate": None},
        "targets": {},
        "constraints": {"max_replicas": 10, "max_gpus_per_replica": 8, "require_high_availability": False},
        "seed": 0,
    }


async def test_jobs_are_listed_newest_first_and_filtered_by_status(http: httpx.AsyncClient) -> None:
    for _ in range(2):
        await submit_job(http, wait=True, method="HEURISTIC")
    query = """
    query($after: String, $status: JobStatus) {
      optimizationJobs(first: 2, after: $after, status: $status) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id status createdAt } }
      }
    }
    """
    page = (await gql_data(http, query, status="SUCCEEDED"))["optimizationJobs"]
    nodes = [edge["node"] for edge in page["edges"]]
    assert len(nodes) == 2
    assert all(node["status"] == "SUCCEEDED" for node in nodes)
    assert nodes[0]["createdAt"] >= nodes[1]["createdAt"]
    rest = (await gql_data(http, query, status="SUCCEEDED", after=page["pageInfo"]["endCursor"]))["optimizationJobs"]
    assert {e["node"]["id"] for e in rest["edges"]}.isdisjoint(node["id"] for node in nodes)
    assert rest["totalCount"] == page["totalCount"] >= 2
    none = (await gql_data(http, query, status="QUEUED"))["optimizationJobs"]
    assert all(edge["node"]["status"] == "QUEUED" for edge in none["edges"])


# Servers of their own: settings the shared live server does not have, and no other worker on their database.


@pytest.fixture(params=BACKENDS)
async def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with migrated_database(request.param, tmp_path) as url:
        yield url


async def test_a_search_past_the_timeout_ends_timed_out_with_its_best_so_far(
    fresh_database: str, model_path: Path
) -> None:
    settings = Settings(database_url=fresh_database, model_path=model_path, optimization_timeout=0.3)
    async with (
        serve(settings) as server,
        server.client(timeout=60) as http,
    ):
        ended = await submit_job(http, wait=True)
    assert ended["status"] == "TIMED_OUT"
    assert ended["result"]["optimalConfig"] is not None
    assert ended["result"]["generations"] < 20


async def test_waiting_past_the_wait_limit_answers_the_job_as_it_stands_and_it_runs_on(
    fresh_database: str, model_path: Path
) -> None:
    # A search of 1.5 s (population 100, no generation limit to speak of) against a wait limit of 0.3 s.
    settings = Settings(
        database_url=fresh_database,
        model_path=model_path,
        wait_limit_seconds=0.3,
        optimization_timeout=1.5,
        population_size=100,
        generations=1000,
    )
    async with serve(settings) as server, server.client(timeout=60) as http:
        request = await job_input(http)
        started = time.perf_counter()
        answer = (await gql_data(http, OPTIMIZE, input=request, wait=True))["optimize"]
        elapsed = time.perf_counter() - started
        assert answer["__typename"] == "OptimizationJob"
        assert answer["status"] in {"QUEUED", "RUNNING"}
        assert answer["result"] is None
        assert elapsed < 0.3 + 2.0  # the limit, plus the submission itself on a loaded machine
        for _ in range(300):
            later = await job(http, answer["id"])
            if later["status"] in ENDED:
                break
            await asyncio.sleep(0.1)
    assert later["status"] in {"SUCCEEDED", "TIMED_OUT"}
    assert later["result"]["optimalConfig"] is not None


async def test_cancelling_a_queued_job_ends_it_without_a_result(fresh_database: str, model_path: Path) -> None:
    settings = Settings(database_url=fresh_database, model_path=model_path, run_worker=False)
    async with (
        serve(settings) as server,
        server.client(timeout=60) as http,
    ):
        queued = await submit_job(http, wait=False)
        assert queued["status"] == "QUEUED"
        async with subscribe(server, PROGRESS, id=queued["id"]) as events:
            first = await events.next()
            cancelled = (await gql_data(http, CANCEL, id=queued["id"]))["cancelOptimization"]
            rest = await events.events("optimizationProgress")
    assert first is not None
    assert first["data"]["optimizationProgress"]["status"] == "QUEUED"
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["startedAt"] is None
    assert cancelled["result"] is None
    assert [event["status"] for event in rest] == ["CANCELLED"]


async def test_a_follower_that_hears_no_news_reads_the_end_from_the_row(
    fresh_database: str, model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # NOTIFY is not durable: an end announced while a process's LISTEN connection was down never arrives. The
    # follower re-reads the row after RECHECK_S of silence and ends with it.
    monkeypatch.setattr(optimization_jobs, "RECHECK_S", 0.2)
    settings = Settings(database_url=fresh_database, model_path=model_path, run_worker=False)
    async with (
        serve(settings) as server,
        server.client(timeout=60) as http,
    ):
        queued = await submit_job(http, wait=False)
        async with subscribe(server, PROGRESS, id=queued["id"]) as events:
            first = await events.next()
            async with server.app.state.sessionmaker() as session:  # ended without a word to anyone
                await session.execute(
                    update(OptimizationJobRow)
                    .where(OptimizationJobRow.id == uuid.UUID(queued["id"]))
                    .values(status="FAILED", error="ended while the news was lost", finished_at=func.now())
                )
                await session.commit()
            rest = await events.events("optimizationProgress", timeout_s=10)
    assert first is not None
    assert first["data"]["optimizationProgress"]["status"] == "QUEUED"
    assert [(event["status"], event["error"]) for event in rest] == [("FAILED", "ended while the news was lost")]


async def test_a_restarted_server_retries_the_job_its_dead_process_left_running(
    fresh_database: str, model_path: Path
) -> None:
    """A job claimed by a process of this host that no longer exists is taken again at start, not after its lease."""
    dead = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await dead.wait()
    settings = Settings(database_url=fresh_database, model_path=model_path, job_lease_seconds=3600)
    async with serve(settings.model_copy(update={"run_worker": False})) as server:
        async with server.client(timeout=60) as http:
            queued = await submit_job(http, wait=False, method="HEURISTIC")
        async with server.app.state.sessionmaker() as session:
            claimed = await jobs.claim(session, f"{socket.gethostname()}:{dead.pid}:gone", 3600)
            assert claimed is not None
            assert claimed.job is not None
            assert str(claimed.job.id) == queued["id"]
    async with (
        serve(settings) as restarted,
        restarted.client(timeout=60) as http,
    ):
        for _ in range(200):
            found = await job(http, queued["id"])
            if found["status"] in ENDED:
                break
            await asyncio.sleep(0.05)
    assert found["status"] == "SUCCEEDED"
    assert found["attempts"] == 2


async def test_a_server_shutting_down_hands_its_running_job_to_the_next(fresh_database: str, model_path: Path) -> None:
    settings = Settings(database_url=fresh_database, model_path=model_path)
    async with (
        serve(settings) as server,
        server.client(timeout=60) as http,
    ):
        queued = await submit_job(http, wait=False)
        async with subscribe(server, PROGRESS, id=queued["id"]) as events:
            await until_generation(events, 1)
    async with (
        serve(settings) as restarted,
        restarted.client(timeout=60) as http,
    ):
        handed_back = await job(http, queued["id"])
        async with subscribe(restarted, PROGRESS, id=queued["id"]) as events:
            final = (await events.events("optimizationProgress"))[-1]
        ended = await job(http, queued["id"])
    assert handed_back["status"] in {"QUEUED", "RUNNING"}  # not FAILED, not left to a lease
    assert final["status"] == "SUCCEEDED"
    assert ended["attempts"] == 1  # a clean shutdown is not a failed attempt
