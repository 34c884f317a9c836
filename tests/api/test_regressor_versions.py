"""Regressor versions through the API: the start-up version, `retrainRegressor` followed over a websocket to its
end, the switch every later answer shows, staleness by version, and the refusals (scope, one retrain at a time).

Each server here trains on a slice of data/benchmarks.csv (tests/training.py) so that a retrain takes seconds.
"""

import csv
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from budsim.core.auth import Scope
from budsim.regressor.training import DEFAULT_CSV
from budsim.settings import Settings
from tests.api.helpers import model_id, simulate
from tests.api.ws import subscribe
from tests.conftest import BACKENDS, LiveServer, bearer, gql_data, migrated_database, new_key, serve
from tests.training import SLICE, write_slice

VERSION_FIELDS = """
  id status active forced origin rows groups userRuns error createdAt finishedAt activatedAt
  progress { stage done total }
  metrics { folds rows userRows notWorse metrics { metric medianApe p90Ape activeMedianApe } }
"""
VERSIONS = f"query {{ regressorVersions {{ {VERSION_FIELDS} }} }}"
RETRAIN = f"""
mutation($force: Boolean!) {{
  retrainRegressor(force: $force) {{
    __typename
    ... on RegressorVersion {{ {VERSION_FIELDS} }}
    ... on ConflictError {{ field message }}
    ... on ForbiddenError {{ scope }}
  }}
}}
"""
RECORD = """
mutation($input: [RecordBenchmarkInput!]!) {
  recordBenchmarks(input: $input) { ... on RecordedBenchmarkRuns { count } ... on ValidationError { field message } }
}
"""
FOLLOW = f"subscription($id: Int!) {{ retrainProgress(versionId: $id) {{ {VERSION_FIELDS} }} }}"
STALENESS = "query($id: ID!) { simulation(id: $id) { regressorVersion stale staleReasons } }"


@pytest.fixture(scope="module")
def training_slice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_slice(tmp_path_factory.mktemp("data"))


@pytest.fixture(params=BACKENDS)
async def server(
    request: pytest.FixtureRequest, tmp_path: Path, training_slice: tuple[Path, Path]
) -> AsyncIterator[LiveServer]:
    """A server of its own (versions are per database), training on the slice, comparing on two folds."""
    async with migrated_database(request.param, tmp_path) as url:
        settings = Settings(
            database_url=url,
            model_path=training_slice[1],
            training_data=training_slice[0],
            retrain_folds=2,
            auth_disabled=False,
        )
        async with serve(settings) as live:
            yield live


async def follow_to_the_end(live: LiveServer, version_id: int) -> list[dict[str, Any]]:
    """Every `retrainProgress` event of a version, over a websocket, until it ends: the last is the ended version."""
    async with subscribe(live, FOLLOW, id=version_id) as follower:
        return await follower.events("retrainProgress", timeout_s=180)


async def retrained(live: LiveServer, force: bool = False) -> dict[str, Any]:
    """Start a retrain, follow it to its end, and answer the version as it ended."""
    async with live.client() as http:
        started = (await gql_data(http, RETRAIN, force=force))["retrainRegressor"]
    assert started["__typename"] == "RegressorVersion", started
    *_, ended = await follow_to_the_end(live, started["id"])
    return ended


def ten_times_off(model_ids: dict[str, str]) -> list[dict[str, Any]]:
    """Every run of the slice recorded again 10x slower than measured (a tenth the throughput): physically possible,
    and far from what the shipped data says about the same deployments."""
    with DEFAULT_CSV.open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if (r["model"], r["gpu"]) in SLICE]
    return [
        {
            "modelId": model_ids[r["model"]],
            "gpuType": r["gpu"],
            "gpuCount": int(r["gpu_count"]),
            "tensorParallelSize": int(r["tp"]),
            "pipelineParallelSize": int(r["pp"]),
            "weightDtype": r["precision"],
            "engine": r["engine"],
            "workload": {
                "inputTokens": int(r["input_tokens"]),
                "outputTokens": int(r["output_tokens"]),
                "concurrency": int(r["concurrency"]),
            },
            "ttftMs": float(r["ttft_ms"]) * 10,
            "tpotMs": float(r["tpot_ms"]) * 10,
            "outputTokensPerS": float(r["output_tokens_per_s"]) / 10,
            "source": "a misconfigured staging run",
        }
        for r in rows
    ]


async def test_the_first_start_stores_its_regressor_as_the_active_version_1(server: LiveServer) -> None:
    async with server.client() as http:
        [first] = (await gql_data(http, VERSIONS))["regressorVersions"]
    assert first["id"] == 1
    assert (first["status"], first["active"], first["origin"], first["forced"]) == ("TRAINED", True, "START_UP", False)
    assert first["rows"] > 300  # the slice's runs the analytical model can express
    assert first["groups"] == len(SLICE)
    assert first["userRuns"] == 0
    assert first["metrics"] is None  # nothing was active to compare it with


async def test_a_retrain_is_followed_to_its_end_and_then_serves_every_answer(server: LiveServer) -> None:
    async with server.client() as http:
        before = await simulate(http, "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM x1", method="REGRESSOR")
        heuristic = await simulate(http, "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM x1")
        started = (await gql_data(http, RETRAIN, force=False))["retrainRegressor"]
        second = (await gql_data(http, RETRAIN, force=False))["retrainRegressor"]
    # One at a time: the second is refused, naming the version training.
    assert second == {
        "__typename": "ConflictError",
        "field": "force",
        "message": f"regressor version {started['id']} is training; follow it with retrainProgress, then retry",
    }
    *running, ended = await follow_to_the_end(server, started["id"])
    assert running[0]["status"] == "TRAINING"
    assert {event["status"] for event in running} == {"TRAINING"}
    assert [e["progress"]["stage"] for e in running][-1] in {"evaluating", "training"}
    assert (ended["id"], ended["status"], ended["active"], ended["origin"]) == (2, "TRAINED", True, "RETRAIN")
    assert ended["metrics"]["folds"] == 2  # RETRAIN_FOLDS
    assert ended["metrics"]["notWorse"] is True
    assert {m["metric"] for m in ended["metrics"]["metrics"]} == {"output_tokens_per_s", "ttft_ms", "tpot_ms"}

    # The server that trained it answers with it as soon as the end is announced.
    async with server.client() as http:
        versions = (await gql_data(http, VERSIONS))["regressorVersions"]
        after = await simulate(http, "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM x1", method="REGRESSOR")
        old = (await gql_data(http, STALENESS, id=before["id"]))["simulation"]
        new = (await gql_data(http, STALENESS, id=after["id"]))["simulation"]
        untouched = (await gql_data(http, STALENESS, id=heuristic["id"]))["simulation"]
    assert [(v["id"], v["active"]) for v in versions] == [(2, True), (1, False)]
    assert (old["regressorVersion"], new["regressorVersion"]) == (1, 2)
    assert old["stale"] is True
    assert old["staleReasons"] == ["It was predicted with regressor version 1; version 2 is active now."]
    assert (new["stale"], new["staleReasons"]) == (False, [])
    assert (untouched["regressorVersion"], untouched["stale"]) == (None, False)  # HEURISTIC owes it nothing


async def test_runs_that_make_it_worse_are_kept_aside_unless_forced(server: LiveServer) -> None:
    async with server.client() as http:
        # The CSV's base 70B is registered as its Instruct twin: one architecture.
        ids = {name: await model_id(http, name.replace("70B", "70B-Instruct")) for name, _gpu in SLICE}
        recorded = (await gql_data(http, RECORD, input=ten_times_off(ids)))["recordBenchmarks"]
    assert recorded["count"] == 400
    rejected = await retrained(server)
    assert (rejected["status"], rejected["active"]) == ("REJECTED", False)
    assert rejected["metrics"]["notWorse"] is False
    assert rejected["userRuns"] == recorded["count"]
    forced = await retrained(server, force=True)
    assert (forced["status"], forced["active"], forced["forced"]) == ("TRAINED", True, True)
    async with server.client() as http:
        versions = (await gql_data(http, VERSIONS))["regressorVersions"]
    assert [(v["id"], v["status"], v["active"]) for v in versions] == [
        (3, "TRAINED", True),
        (2, "REJECTED", False),
        (1, "TRAINED", False),
    ]


async def test_retraining_needs_the_admin_scope_and_listing_the_read_scope(server: LiveServer) -> None:
    writer = await new_key(server.app, Scope.WRITE)
    async with httpx.AsyncClient(base_url=server.http_url, headers=bearer(writer)) as http:
        refused = await gql_data(http, RETRAIN, force=False)
        listed = await gql_data(http, VERSIONS)
    assert refused["retrainRegressor"] == {"__typename": "ForbiddenError", "scope": "admin"}
    assert [v["id"] for v in listed["regressorVersions"]] == [1]


async def test_following_a_version_that_does_not_exist_names_the_argument(server: LiveServer) -> None:
    async with subscribe(server, FOLLOW, id=99) as follower:
        payload = await follower.next()
    assert payload is not None
    [error] = payload["errors"]
    assert error["extensions"]["field"] == "versionId"
    assert "RegressorVersion 99 does not exist" in error["message"]
