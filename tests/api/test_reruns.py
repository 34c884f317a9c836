"""`resimulate` and `reoptimize`: a stored answer run again with the same inputs, the new one linked to the old.

A simulation reruns its request as the user sent it; an optimization reruns its job's whole validated request
(profiles, precisions, workload, targets, constraints, seed). Each failure is a typed error on `simulationId`.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from budsim.core.auth import Scope
from budsim.db.models import OptimizationJobRow
from tests.api.helpers import (
    CHAT,
    DELETE_PROFILE,
    LLAMA_70B,
    MISSING_ID,
    UPDATE_PROFILE,
    create_profile,
    model_id,
    profile_id,
    row_counts,
    unique,
)
from tests.conftest import bearer, gql_data, new_key

LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"
SIMULATION_FIELDS = """
  id method inputConfig engine warnings confidence
  config { tensorParallelSize pipelineParallelSize maxNumSeqs maxNumBatchedTokens gpuMemoryUtilization
           maxModelLen replicas weightDtype kvCacheDtype }
  metrics { ttftP50Ms ttftP99Ms tpotMs e2eLatencyP99Ms outputTokensPerS costPerHour }
  memory { weightsGbPerGpu kvCacheGbPerGpu totalGbPerGpu kvCacheTokens fits }
  workload { inputTokens outputTokens concurrency requestRate }
  model { name } hardwareProfile { id }
"""
ERRORS = """
  ... on ValidationError { field message }
  ... on NotFoundError { id entity message }
  ... on ForbiddenError { scope message }
"""
SIMULATE = f"""
mutation($input: SimulateInput!) {{
  simulate(input: $input) {{
    __typename
    ... on Simulation {{ {SIMULATION_FIELDS} rerunOf {{ id }} reruns {{ id }} stale }}
    {ERRORS}
  }}
}}
"""
RESIMULATE = f"""
mutation($id: ID!) {{
  resimulate(simulationId: $id) {{
    __typename
    ... on Simulation {{ {SIMULATION_FIELDS} rerunOf {{ id }} reruns {{ id }} stale }}
    {ERRORS}
  }}
}}
"""
JOB_FIELDS = """
  id status rerunOf { id }
  result { optimalConfig { gpuType hardwareProfileId tensorParallelSize replicas weightDtype }
           predictedMetrics { ttftP99Ms outputTokensPerS costPerHour }
           meetsTargets bindingTargets { target } simulation { id } }
"""
OPTIMIZE = f"""
mutation($input: OptimizeInput!) {{
  optimize(input: $input) {{ __typename ... on OptimizationJob {{ {JOB_FIELDS} }} {ERRORS} }}
}}
"""
REOPTIMIZE = f"""
mutation($id: ID!, $wait: Boolean! = true) {{
  reoptimize(simulationId: $id, wait: $wait) {{ __typename ... on OptimizationJob {{ {JOB_FIELDS} }} {ERRORS} }}
}}
"""
LINKS = """
query($id: ID!) {
  simulation(id: $id) { id inputConfig result rerunOf { id rerunOf { id } } reruns { id rerunOf { id } } }
}
"""
JOB = "query($id: ID!) { optimizationJob(id: $id) { status rerunOf { id } result { simulation { id } } } }"
# Targets and constraints the pick must honour, so that a rerun that dropped them would answer differently.
TARGETS = {"maxTtftMs": 1500, "maxCostPerHour": 60}
CONSTRAINTS = {"maxReplicas": 2, "maxGpusPerReplica": 4, "allowedGpuTypes": ["H100"]}


async def simulate(client: httpx.AsyncClient, profile: str, model: str = LLAMA_70B, **extra: Any) -> dict[str, Any]:
    """`simulate` on a profile id, with the fields a rerun is compared on."""
    payload = {"modelId": await model_id(client, model), "hardwareProfileId": profile, "workload": CHAT, **extra}
    answer: dict[str, Any] = (await gql_data(client, SIMULATE, input=payload))["simulate"]
    assert answer["__typename"] == "Simulation", answer
    return answer


async def resimulate(client: httpx.AsyncClient, simulation_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = (await gql_data(client, RESIMULATE, id=simulation_id))["resimulate"]
    return answer


async def reoptimize(client: httpx.AsyncClient, simulation_id: str, wait: bool = True) -> dict[str, Any]:
    answer: dict[str, Any] = (await gql_data(client, REOPTIMIZE, id=simulation_id, wait=wait))["reoptimize"]
    return answer


async def links(client: httpx.AsyncClient, simulation_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await gql_data(client, LINKS, id=simulation_id))["simulation"]
    return found


async def optimize(client: httpx.AsyncClient, profile_ids: list[str], **extra: Any) -> dict[str, Any]:
    """A HEURISTIC optimization of Llama-3.1-8B under TARGETS and CONSTRAINTS, ended."""
    payload = {
        "modelId": await model_id(client, LLAMA_8B),
        "hardwareProfileIds": profile_ids,
        "method": "HEURISTIC",
        "precisions": ["BF16", "FP8"],
        "workload": CHAT,
        "targets": TARGETS,
        "constraints": CONSTRAINTS,
        "seed": 7,
        **extra,
    }
    job: dict[str, Any] = (await gql_data(client, OPTIMIZE, input=payload))["optimize"]
    assert job["__typename"] == "OptimizationJob", job
    assert job["status"] == "SUCCEEDED", job
    return job


async def stored_request(engine: AsyncEngine, job_id: str) -> dict[str, Any]:
    """The validated request a job row carries, as the worker reads it."""
    async with engine.connect() as connection:
        request = await connection.scalar(
            select(OptimizationJobRow.request).where(OptimizationJobRow.id == uuid.UUID(job_id))
        )
    assert isinstance(request, dict)
    return request


def same_inputs_and_answer(rerun: dict[str, Any], first: dict[str, Any]) -> None:
    """Everything but the id, the links and the staleness: predictions are deterministic."""
    ignored = {"id", "rerunOf", "reruns", "stale"}
    assert {k: v for k, v in rerun.items() if k not in ignored} == {k: v for k, v in first.items() if k not in ignored}


# ---------------------------------------------------------------- resimulate


async def test_resimulate_stores_a_new_simulation_with_the_same_inputs_and_answer(client: httpx.AsyncClient) -> None:
    pinned = {"weightDtype": "FP8", "maxModelLen": 8192, "gpuMemoryUtilization": 0.85}
    first = await simulate(client, await profile_id(client, "H100-SXM x8"), method="REGRESSOR", config=pinned)

    rerun = await resimulate(client, first["id"])

    assert rerun["__typename"] == "Simulation", rerun
    assert rerun["id"] != first["id"]
    assert rerun["rerunOf"] == {"id": first["id"]}
    assert rerun["reruns"] == []
    same_inputs_and_answer(rerun, first)
    assert rerun["inputConfig"] == {
        "method": "REGRESSOR",
        "engine": "VLLM",
        "config": {"weight_dtype": "FP8", "max_model_len": 8192, "gpu_memory_utilization": 0.85},
        "workload": {"input_tokens": 1000, "output_tokens": 200, "concurrency": 16.0},
    }
    assert (rerun["config"]["weightDtype"], rerun["config"]["maxModelLen"]) == ("FP8", 8192)
    assert (await links(client, first["id"]))["reruns"] == [{"id": rerun["id"], "rerunOf": {"id": first["id"]}}]


async def test_a_simulation_lists_its_reruns_newest_first_and_each_links_back(client: httpx.AsyncClient) -> None:
    first = await simulate(client, await profile_id(client, "H100-SXM x1"), LLAMA_8B)
    older = await resimulate(client, first["id"])
    newer = await resimulate(client, first["id"])
    of_rerun = await resimulate(client, newer["id"])

    found = await links(client, first["id"])
    assert found["rerunOf"] is None
    assert found["reruns"] == [
        {"id": newer["id"], "rerunOf": {"id": first["id"]}},
        {"id": older["id"], "rerunOf": {"id": first["id"]}},
    ]
    chained = await links(client, of_rerun["id"])
    assert chained["rerunOf"] == {"id": newer["id"], "rerunOf": {"id": first["id"]}}
    assert (await links(client, newer["id"]))["reruns"] == [{"id": of_rerun["id"], "rerunOf": {"id": newer["id"]}}]


async def test_resimulate_predicts_on_the_profile_as_it_stands_now(client: httpx.AsyncClient) -> None:
    """The guide's "re-run when hardware changes": the old answer turns stale, the rerun reads the new price."""
    profile = await create_profile(client, name=unique("rerun-price"), costPerGpuHour=2.0)
    first = await simulate(client, profile["id"])
    changed = await gql_data(client, UPDATE_PROFILE, id=profile["id"], input={"costPerGpuHour": 4.0})
    assert changed["updateHardwareProfile"]["costPerGpuHour"] == 4.0

    rerun = await resimulate(client, first["id"])

    assert rerun["stale"] is False
    assert rerun["metrics"]["costPerHour"] == pytest.approx(2 * first["metrics"]["costPerHour"])
    assert rerun["inputConfig"] == first["inputConfig"]
    stale = await gql_data(client, "query($id: ID!) { simulation(id: $id) { stale } }", id=first["id"])
    assert stale["simulation"] == {"stale": True}


async def test_a_request_the_profile_no_longer_fits_is_refused_on_simulation_id(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    profile = await create_profile(client, name=unique("rerun-shrunk"), gpuCount=8)
    first = await simulate(client, profile["id"], config={"tensorParallelSize": 8})
    await gql_data(client, UPDATE_PROFILE, id=profile["id"], input={"gpuCount": 4})
    before = await row_counts(engine)

    refused = await resimulate(client, first["id"])

    assert refused["__typename"] == "ValidationError", refused
    assert refused["field"] == "simulationId"
    assert refused["message"].startswith("its request no longer holds: input.config.tensorParallelSize: ")
    assert await row_counts(engine) == before


# ---------------------------------------------------------------- reoptimize


async def test_reoptimize_reruns_the_whole_stored_request_and_links_both_ways(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    profiles = [await profile_id(client, name) for name in ("H100-SXM x4", "H100-SXM x8", "A100-80GB-SXM x8")]
    first = await optimize(client, profiles)
    first_simulation = first["result"]["simulation"]["id"]

    rerun = await reoptimize(client, first_simulation)

    assert rerun["__typename"] == "OptimizationJob", rerun
    assert rerun["status"] == "SUCCEEDED"
    assert rerun["id"] != first["id"]
    assert rerun["rerunOf"] == {"id": first_simulation}
    # The same request to the letter: targets, constraints (the A100 profile narrowed away by allowedGpuTypes
    # then, and not brought back), precisions, workload, seed.
    request = await stored_request(engine, rerun["id"])
    assert request == await stored_request(engine, first["id"])
    assert request["targets"]["max_ttft_ms"] == 1500
    assert request["targets"]["max_cost_per_hour"] == 60
    assert request["constraints"]["max_replicas"] == 2
    assert request["constraints"]["max_gpus_per_replica"] == 4
    assert request["hardware_profile_ids"] == profiles[:2]
    assert request["seed"] == 7
    # ... and so the same answer, under the same targets.
    new_simulation = rerun["result"]["simulation"]["id"]
    assert new_simulation != first_simulation
    assert {k: v for k, v in rerun["result"].items() if k != "simulation"} == {
        k: v for k, v in first["result"].items() if k != "simulation"
    }
    assert rerun["result"]["optimalConfig"]["gpuType"] == "H100-SXM"
    assert rerun["result"]["predictedMetrics"]["ttftP99Ms"] <= 1500

    old, new = await links(client, first_simulation), await links(client, new_simulation)
    assert old["reruns"] == [{"id": new_simulation, "rerunOf": {"id": first_simulation}}]
    assert new["rerunOf"] == {"id": first_simulation, "rerunOf": None}
    assert new["inputConfig"] == old["inputConfig"]
    assert new["result"]["targets"] == old["result"]["targets"]


async def test_reoptimize_without_waiting_answers_the_queued_job_already_linked(client: httpx.AsyncClient) -> None:
    first = await optimize(client, [await profile_id(client, "H100-SXM x8")])
    first_simulation = first["result"]["simulation"]["id"]

    queued = await reoptimize(client, first_simulation, wait=False)

    assert queued["__typename"] == "OptimizationJob", queued
    assert queued["rerunOf"] == {"id": first_simulation}
    for _ in range(500):
        job = (await gql_data(client, JOB, id=queued["id"]))["optimizationJob"]
        if job["status"] == "SUCCEEDED":
            break
        await asyncio.sleep(0.02)
    assert job["status"] == "SUCCEEDED"
    assert job["rerunOf"] == {"id": first_simulation}
    stored = await links(client, job["result"]["simulation"]["id"])
    assert stored["rerunOf"] == {"id": first_simulation, "rerunOf": None}


async def test_a_profile_deleted_since_is_refused_on_simulation_id_and_nothing_is_queued(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    # An H100 profile no pick would choose at this price: the answer stays on the catalog profile, so this one
    # is referenced by nothing but the job's request and can be deleted.
    dear = await create_profile(client, name=unique("rerun-dear"), costPerGpuHour=1000.0)
    first = await optimize(client, [await profile_id(client, "H100-SXM x8"), dear["id"]])
    assert first["result"]["optimalConfig"]["hardwareProfileId"] != dear["id"]
    deleted = await gql_data(client, DELETE_PROFILE, id=dear["id"])
    assert deleted["deleteHardwareProfile"]["__typename"] == "DeletedHardwareProfile", deleted
    before = await row_counts(engine)

    refused = await reoptimize(client, first["result"]["simulation"]["id"])

    assert refused == {
        "__typename": "ValidationError",
        "field": "simulationId",
        "message": f"its hardware profile {dear['id']} no longer exists",
    }
    assert await row_counts(engine) == before


# ---------------------------------------------------------------- refusals


async def test_each_kind_is_rerun_by_its_own_mutation(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    single = await simulate(client, await profile_id(client, "H100-SXM x1"), LLAMA_8B)
    optimized = await optimize(client, [await profile_id(client, "H100-SXM x8")])
    before = await row_counts(engine)

    wrong_way = await resimulate(client, optimized["result"]["simulation"]["id"])
    other_way = await reoptimize(client, single["id"])

    assert wrong_way["__typename"] == other_way["__typename"] == "ValidationError"
    assert wrong_way["field"] == other_way["field"] == "simulationId"
    assert "rerun it with reoptimize" in wrong_way["message"]
    assert "rerun it with resimulate" in other_way["message"]
    assert await row_counts(engine) == before


@pytest.mark.parametrize("mutation", ["resimulate", "reoptimize"])
async def test_unknown_and_malformed_ids_are_typed_errors(client: httpx.AsyncClient, mutation: str) -> None:
    rerun = resimulate if mutation == "resimulate" else reoptimize

    assert await rerun(client, MISSING_ID) == {
        "__typename": "NotFoundError",
        "id": MISSING_ID,
        "entity": "Simulation",
        "message": f"Simulation {MISSING_ID} does not exist",
    }
    assert await rerun(client, "not-an-id") == {
        "__typename": "ValidationError",
        "field": "simulationId",
        "message": "is not a valid id: 'not-an-id'",
    }


@pytest.fixture
async def read_only(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    headers = bearer(await new_key(app, Scope.READ))
    async with httpx.AsyncClient(transport=transport, base_url="http://budsim.test", headers=headers) as http:
        yield http


@pytest.mark.parametrize("mutation", ["resimulate", "reoptimize"])
async def test_a_read_key_may_not_rerun(
    client: httpx.AsyncClient, read_only: httpx.AsyncClient, engine: AsyncEngine, mutation: str
) -> None:
    single = await simulate(client, await profile_id(client, "H100-SXM x1"), LLAMA_8B)
    before = await row_counts(engine)

    refused = await (resimulate if mutation == "resimulate" else reoptimize)(read_only, single["id"])

    assert refused["__typename"] == "ForbiddenError"
    assert refused["scope"] == "write"
    assert await row_counts(engine) == before
