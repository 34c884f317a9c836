"""Scale-out on PostgreSQL, with real processes: two API servers that run no searches, two `budsim worker`s.

A subscriber on server A follows a job submitted on server B and run by a worker process; that worker is killed
(SIGKILL) mid-search, its lease runs out, the other worker retries the job, and the subscriber sees the retry through
to the end. Nothing submitted is lost and no job is completed twice.
"""

import asyncio
import os
import signal
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from budsim.core.auth import Scope
from budsim.db import api_keys
from budsim.db.models import OptimizationJobRow, SimulationRow
from budsim.db.session import create_engine, create_sessionmaker
from tests.api.helpers import OPTIMIZE, PROGRESS, job_input
from tests.api.ws import subscribe
from tests.conftest import _free_port, gql_data, migrated_database, postgres_or_skip
from tests.processes import process, ready

LEASE_S = 2.0


async def submit(http: httpx.AsyncClient, seed: int) -> str:
    answer = (await gql_data(http, OPTIMIZE, input=await job_input(http, seed=seed), wait=False))["optimize"]
    assert answer["__typename"] == "OptimizationJob", answer
    return str(answer["id"])


async def test_a_job_survives_its_worker_being_killed_and_is_followed_across_processes(
    tmp_path: Path, model_path: Path
) -> None:
    await postgres_or_skip()
    async with AsyncExitStack() as stack:
        url = await stack.enter_async_context(migrated_database("postgresql", tmp_path))
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "MODEL_PATH": str(model_path),
            "JOB_LEASE_SECONDS": str(LEASE_S),
            "JOB_POLL_SECONDS": "0.5",
            "WORKER_CONCURRENCY": "1",
            "POPULATION_SIZE": "150",  # searches of a few seconds: time to kill one mid-way
            "LOG_LEVEL": "warning",
        }
        ports = _free_port(), _free_port()
        for name, port in zip("ab", ports, strict=True):
            await stack.enter_async_context(
                process("serve", "--no-worker", "--port", str(port), env=env, log=tmp_path / f"api-{name}.log")
            )
        workers = {}
        for n in (1, 2):
            proc = await stack.enter_async_context(process("worker", env=env, log=tmp_path / f"worker-{n}.log"))
            workers[proc.pid] = proc
        api_a, api_b = (f"http://127.0.0.1:{port}" for port in ports)
        for name, api in zip("ab", (api_a, api_b), strict=True):
            await ready(api, tmp_path / f"api-{name}.log")
        engine = create_engine(url)
        stack.push_async_callback(engine.dispose)
        sessions = create_sessionmaker(engine)
        _key, token = await api_keys.create(sessions, "scale-out", Scope.ADMIN)  # PostgreSQL: auth is on
        headers = {"Authorization": f"Bearer {token}"}
        http_a = await stack.enter_async_context(httpx.AsyncClient(base_url=api_a, headers=headers, timeout=60))
        http_b = await stack.enter_async_context(httpx.AsyncClient(base_url=api_b, headers=headers, timeout=60))

        watched = await submit(http_b, seed=0)
        others = [await submit(http, seed) for seed, http in enumerate((http_a, http_b, http_a), start=1)]
        events: list[dict[str, Any]] = []
        async with subscribe(api_a.replace("http", "ws") + "/graphql", PROGRESS, token=token, id=watched) as follower:
            while True:
                payload = await follower.next(timeout_s=120)
                assert payload is not None, "the job ended before its worker could be killed"
                events.append(event := payload["data"]["optimizationProgress"])
                if event["generation"] is not None and event["generation"] >= 1:
                    break
            async with sessions() as session:
                holder = await session.scalar(select(OptimizationJobRow.worker).where(OptimizationJobRow.id == watched))
            assert holder is not None
            victim = int(holder.split(":")[1])
            assert victim in workers
            os.kill(victim, signal.SIGKILL)
            await workers[victim].wait()
            events += await follower.events("optimizationProgress", timeout_s=120)

        *progress, final = events
        assert final["status"] == "SUCCEEDED"
        attempts = [event["attempt"] for event in progress if event["generation"] is not None]
        assert attempts[0] == 1
        assert attempts[-1] == 2  # the retry, seen by a subscriber on another process than either worker
        retried = [event["generation"] for event in progress if event["attempt"] == 2]
        assert retried == list(range(retried[0], retried[0] + len(retried)))
        assert final["result"]["generations"] == retried[-1]

        async def all_ended() -> list[OptimizationJobRow]:
            for _ in range(1200):
                async with sessions() as session:
                    rows = list((await session.scalars(select(OptimizationJobRow))).all())
                if all(row.status not in ("QUEUED", "RUNNING") for row in rows):
                    return rows
                await asyncio.sleep(0.1)
            raise AssertionError("jobs still running after two minutes")

        rows = {str(row.id): row for row in await all_ended()}
        assert set(rows) == {watched, *others}  # nothing lost
        assert {row.status for row in rows.values()} == {"SUCCEEDED"}
        assert rows[watched].attempts == 2
        async with sessions() as session:
            simulations = await session.scalar(select(func.count()).select_from(SimulationRow))
            linked = await session.scalar(select(func.count(func.distinct(OptimizationJobRow.simulation_id))))
        assert simulations == linked == len(rows)  # each job completed exactly once
