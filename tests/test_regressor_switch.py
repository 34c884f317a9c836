"""A retrain reaches every process without a restart, on PostgreSQL with real processes: an API server whose
predictions run in a child process, and a `budsim worker` that runs the searches.

The retrain is asked of the API server and runs there; once the new version is active, the next `simulate` (in the
server's prediction child) and the next optimization (in the worker's search child) both say they were corrected by
it. Nothing was restarted: the same process ids answer before and after.
"""

import os
from contextlib import AsyncExitStack
from pathlib import Path

import httpx

from budsim.core.auth import Scope
from budsim.db import api_keys
from budsim.db.session import create_engine, create_sessionmaker
from tests.api.helpers import OPTIMIZE, job_input, simulate
from tests.api.ws import subscribe
from tests.conftest import _free_port, gql_data, migrated_database, postgres_or_skip
from tests.processes import process, ready
from tests.training import write_slice

RETRAIN = "mutation { retrainRegressor { ... on RegressorVersion { id status } } }"
FOLLOW = "subscription($id: Int!) { retrainProgress(versionId: $id) { id status active } }"
VERSION = "query($id: ID!) { simulation(id: $id) { regressorVersion } }"


async def optimized_version(http: httpx.AsyncClient) -> int | None:
    """The regressor version of a REGRESSOR optimization's answer, run by whichever worker claims it."""
    job = await gql_data(http, OPTIMIZE, input=await job_input(http, method="REGRESSOR", seed=7), wait=True)
    answer = job["optimize"]
    assert answer["status"] == "SUCCEEDED", answer
    simulation = (await gql_data(http, VERSION, id=answer["result"]["simulation"]["id"]))["simulation"]
    version: int | None = simulation["regressorVersion"]
    return version


async def test_a_retrain_switches_the_server_and_a_separate_worker_without_a_restart(tmp_path: Path) -> None:
    await postgres_or_skip()
    training_data, model = write_slice(tmp_path)
    async with AsyncExitStack() as stack:
        url = await stack.enter_async_context(migrated_database("postgresql", tmp_path))
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "MODEL_PATH": str(model),
            "TRAINING_DATA": str(training_data),
            "RETRAIN_FOLDS": "2",
            "POPULATION_SIZE": "8",
            "GENERATIONS": "2",
            "REGRESSOR_POLL_SECONDS": "600",  # the switch must come from the news, not from polling
            "LOG_LEVEL": "warning",
        }
        port = _free_port()
        api = f"http://127.0.0.1:{port}"
        server = await stack.enter_async_context(
            process("serve", "--no-worker", "--port", str(port), env=env, log=tmp_path / "api.log")
        )
        await ready(api, tmp_path / "api.log")
        worker = await stack.enter_async_context(process("worker", env=env, log=tmp_path / "worker.log"))
        engine = create_engine(url)
        stack.push_async_callback(engine.dispose)
        _key, token = await api_keys.create(create_sessionmaker(engine), "switch", Scope.ADMIN)
        http = await stack.enter_async_context(
            httpx.AsyncClient(base_url=api, headers={"Authorization": f"Bearer {token}"}, timeout=120)
        )

        predicted = await simulate(http, "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM x1", method="REGRESSOR")
        assert predicted["__typename"] == "Simulation"
        assert (await gql_data(http, VERSION, id=predicted["id"]))["simulation"]["regressorVersion"] == 1
        assert await optimized_version(http) == 1

        started = (await gql_data(http, RETRAIN))["retrainRegressor"]
        async with subscribe(api.replace("http", "ws") + "/graphql", FOLLOW, token=token, id=started["id"]) as live:
            *_, ended = await live.events("retrainProgress", timeout_s=180)
        assert (ended["id"], ended["status"], ended["active"]) == (2, "TRAINED", True)

        for _ in range(100):  # the server switches once its new prediction child is ready: a second or two
            predicted = await simulate(http, "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM x1", method="REGRESSOR")
            version = (await gql_data(http, VERSION, id=predicted["id"]))["simulation"]["regressorVersion"]
            if version == 2:
                break
        assert version == 2
        assert await optimized_version(http) == 2
        assert server.returncode is None  # the same processes, never restarted
        assert worker.returncode is None
