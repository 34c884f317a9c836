"""Simulation lists: newest first, filtered, cursor-paged, and nested fields batched by DataLoaders."""

import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from budsim.db.models import HardwareProfileRow, ModelRow, SimulationRow
from tests.api.helpers import CHAT, LLAMA_70B, SIMULATE, UPDATE_PROFILE, create_profile, model_id, unique
from tests.conftest import gql, gql_data

NESTED = """
query($first: Int!, $modelId: ID) {
  simulations(first: $first, modelId: $modelId) {
    totalCount
    edges { node { id method confidence model { name } hardwareProfile { name gpuType } } }
  }
}
"""


async def seed(engine: AsyncEngine, simulations: int, models: int = 3, profiles: int = 2) -> list[uuid.UUID]:
    """Insert rows directly: these tests are about reading, and `simulate` arrives with the performance core."""
    model_rows = [
        ModelRow(name=unique("org/m"), architecture={}, parameter_count=1, source="test") for _ in range(models)
    ]
    profile_rows = [
        HardwareProfileRow(
            name=unique("p"),
            gpu_type="H100-SXM",
            gpu_memory_gb=80,
            gpu_count=8,
            node_count=1,
            interconnect="NVLINK",
            specs={},
            cost_per_gpu_hour=2.99,
        )
        for _ in range(profiles)
    ]
    start = datetime.now(UTC)
    sims: list[SimulationRow] = []
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        session.add_all(model_rows + profile_rows)
        await session.flush()
        for i in range(simulations):
            sims.append(
                SimulationRow(
                    model_id=model_rows[i % models].id,
                    hardware_profile_id=profile_rows[i % profiles].id,
                    method="HEURISTIC" if i % 2 else "REGRESSOR",
                    input_config={"i": i},
                    result={},
                    optimal_config=None,
                    confidence=0.5,
                    created_at=start + timedelta(milliseconds=i),
                )
            )
        session.add_all(sims)
        await session.commit()
    return [m.id for m in model_rows]


@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def of_the_request(statements: list[str]) -> list[str]:
    """The statements a request's rows cost: not its key lookup (one per request), nor the in-process worker's
    polls of the job queue, which may fall within the count."""
    return [s for s in statements if "api_keys" not in s and "optimization_jobs" not in s]


async def test_nested_model_and_profile_cost_a_bounded_number_of_statements(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    [model_id, *_] = await seed(engine, simulations=100, models=3, profiles=2)
    with count_statements(engine) as few:
        small = await gql_data(client, NESTED, first=5, modelId=str(model_id))
    model_ids = await seed(engine, simulations=100, models=10, profiles=7)
    with count_statements(engine) as many:
        data = await gql_data(client, NESTED, first=100)

    edges = data["simulations"]["edges"]
    assert len(edges) == 100
    assert all(edge["node"]["model"]["name"] and edge["node"]["hardwareProfile"]["gpuType"] for edge in edges)
    assert len(small["simulations"]["edges"]) == 5
    # count + page + one batched load of models + one of profiles, whatever the page size (the request's key lookup
    # aside: it is one per request, not per row)
    many, few = (of_the_request(found) for found in (many, few))
    assert len(many) == len(few) == 4, many
    assert len(model_ids) == 10


async def test_simulations_are_newest_first_and_page_without_gaps(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    model_ids = await seed(engine, simulations=7, models=1, profiles=1)
    query = """
    query($after: String, $modelId: ID) {
      simulations(first: 3, after: $after, modelId: $modelId) {
        totalCount edges { cursor node { inputConfig createdAt } } pageInfo { hasNextPage endCursor }
      }
    }
    """
    order: list[int] = []
    after = None
    while True:
        page = (await gql_data(client, query, after=after, modelId=str(model_ids[0])))["simulations"]
        assert page["totalCount"] == 7
        order += [edge["node"]["inputConfig"]["i"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert order == [6, 5, 4, 3, 2, 1, 0]


async def test_simulations_filter_by_method_and_profile(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    model_ids = await seed(engine, simulations=6, models=1, profiles=1)
    query = """
    query($modelId: ID, $method: Method) {
      simulations(first: 100, modelId: $modelId, method: $method) { totalCount edges { node { method } } }
    }
    """
    heuristic = (await gql_data(client, query, modelId=str(model_ids[0]), method="HEURISTIC"))["simulations"]
    assert heuristic["totalCount"] == 3
    assert {edge["node"]["method"] for edge in heuristic["edges"]} == {"HEURISTIC"}


async def test_simulation_by_id(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    model_ids = await seed(engine, simulations=1, models=1, profiles=1)
    listed = await gql_data(client, NESTED, first=1, modelId=str(model_ids[0]))
    sim_id = listed["simulations"]["edges"][0]["node"]["id"]
    query = "query($id: ID!) { simulation(id: $id) { id method model { name } } }"
    assert (await gql_data(client, query, id=sim_id))["simulation"]["id"] == sim_id
    assert (await gql_data(client, query, id=str(uuid.uuid4())))["simulation"] is None


@pytest.mark.parametrize("argument", ["modelId", "hardwareProfileId"])
async def test_malformed_filter_ids_name_the_argument(client: httpx.AsyncClient, argument: str) -> None:
    body = await gql(client, f'{{ simulations({argument}: "zzz") {{ totalCount }} }}')
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": argument}


STALENESS = "query($id: ID!) { simulation(id: $id) { stale staleReasons } }"


async def test_a_simulation_is_stale_once_its_profile_changes_after_it_was_made(client: httpx.AsyncClient) -> None:
    profile = await create_profile(client, name=unique("sim-stale"))
    payload = {"modelId": await model_id(client, LLAMA_70B), "hardwareProfileId": profile["id"], "workload": CHAT}
    made = (await gql_data(client, SIMULATE, input=payload))["simulate"]
    fresh = (await gql_data(client, STALENESS, id=made["id"]))["simulation"]
    assert fresh == {"stale": False, "staleReasons": []}

    update = {"costPerGpuHour": 4.5}
    changed = (await gql_data(client, UPDATE_PROFILE, id=profile["id"], input=update))["updateHardwareProfile"]
    stale = (await gql_data(client, STALENESS, id=made["id"]))["simulation"]
    assert stale["stale"] is True
    [reason] = stale["staleReasons"]
    assert reason.startswith(f"Hardware profile {profile['name']!r} changed at {changed['updatedAt'][:19]}")
    assert "after this simulation was made" in reason


RERUN_LINKS = """
query($first: Int!, $modelId: ID) {
  simulations(first: $first, modelId: $modelId) { edges { node { id rerunOf { id } reruns { id } } } }
}
"""


async def _chain(engine: AsyncEngine, model: uuid.UUID) -> None:
    """Make each of the model's simulations a rerun of the one made before it."""
    async with async_sessionmaker(engine)() as session:
        rows = (
            await session.scalars(
                select(SimulationRow).where(SimulationRow.model_id == model).order_by(SimulationRow.created_at)
            )
        ).all()
        for earlier, later in itertools.pairwise(rows):
            later.rerun_of_id = earlier.id
        await session.commit()


@pytest.mark.parametrize("size", [5, 100])
async def test_rerun_links_cost_one_batched_statement_each_whatever_the_page_size(
    client: httpx.AsyncClient, engine: AsyncEngine, size: int
) -> None:
    [model] = await seed(engine, simulations=size, models=1, profiles=1)
    await _chain(engine, model)
    with count_statements(engine) as statements:
        data = await gql_data(client, RERUN_LINKS, first=size, modelId=str(model))

    nodes = [edge["node"] for edge in data["simulations"]["edges"]]  # newest first: each a rerun of the next
    ids = [node["id"] for node in nodes]
    assert [node["rerunOf"] for node in nodes] == [{"id": i} for i in ids[1:]] + [None]
    assert [node["reruns"] for node in nodes] == [[]] + [[{"id": i}] for i in ids[:-1]]
    # count + page + one batch of the simulations rerun + one of the reruns
    assert len(of_the_request(statements)) == 4, statements
