"""Regressor versions through the API: the start-up version, `retrainRegressor` followed over a websocket to its
end, the switch every later answer shows, staleness by version, and the refusals (scope, one retrain at a time).

Each server here trains on a slice of data/benchmarks.csv (tests/training.py) so that a retrain takes seconds.
"""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from budsim.core.auth import Scope
from budsim.settings import Settings
from tests.api.helpers import simulate
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


async def retrained(live: LiveServer, force: bool = False) -> list[dict[str, Any]]:
    """Start a retrain and follow it over a websocket to its end: every event, the last one the ended version."""
    async with live.client() as http:
        started = (await gql_data(http, RETRAIN, force=force))["retrainRegressor"]
    assert started["__typename"] == "RegressorVersion", started
    async with subscribe(live, FOLLOW, id=started["id"]) as follower:
        return await follower.events("retrainProgress", timeout_s=120)


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
    events = await retrained(server)
    *running, ended = events
    assert running[0]["status"] == "TRAINING"
    assert {event["status"] for event in running} == {"TRAINING"}
    assert ended["status"] == "TRAINED"
    assert ended["active"] is True
    assert ended["origin"] == "RETRAIN"
    assert ended["metrics"]["folds"] == 2  # RETRAIN_FOLDS
    assert {m["metric"] for m in ended["metrics"]["metrics"]} == {"output_tokens_per_s", "ttft_ms", "tpot_ms"}

    async with server.client() as http:
        versions = (await gql_data(http, VERSIONS))["regressorVersions"]
        assert [(v["id"], v["active"]) for v in versions] == [(2, True), (1, False)]
        after = await simulate(http, "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM x1", method="REGRESSOR")
        old = (await gql_data(http, STALENESS, id=before["id"]))["simulation"]
        new = (await gql_data(http, STALENESS, id=after["id"]))["simulation"]
        untouched = (await gql_data(http, STALENESS, id=heuristic["id"]))["simulation"]
    assert (old["regressorVersion"], new["regressorVersion"]) == (1, 2)
    assert old["stale"] is True
    assert old["staleReasons"] == ["It was predicted with regressor version 1; version 2 is active now."]
    assert (new["stale"], new["staleReasons"]) == (False, [])
    assert (untouched["regressorVersion"], untouched["stale"]) == (None, False)  # HEURISTIC owes it nothing


async def test_a_forced_retrain_says_it_was_forced(server: LiveServer) -> None:
    *_, ended = await retrained(server, force=True)
    assert (ended["status"], ended["active"], ended["forced"]) == ("TRAINED", True, True)


async def test_one_retrain_runs_at_a_time(server: LiveServer) -> None:
    async with server.client() as http:
        first, second = await asyncio.gather(gql_data(http, RETRAIN, force=False), gql_data(http, RETRAIN, force=False))
    answers = sorted((first["retrainRegressor"], second["retrainRegressor"]), key=lambda a: a["__typename"])
    assert [a["__typename"] for a in answers] == ["ConflictError", "RegressorVersion"]
    assert answers[0]["field"] == "force"
    assert f"regressor version {answers[1]['id']} is training" in answers[0]["message"]
    async with subscribe(server, FOLLOW, id=answers[1]["id"]) as follower:
        await follower.events("retrainProgress", timeout_s=120)  # let it end before the server stops


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
