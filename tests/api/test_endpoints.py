"""Endpoints: stored plans for serving a model, optimized as `optimize` runs, deployed as generated text."""

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from starlette.applications import Starlette

from budsim.core.artifacts import IMAGES
from budsim.core.auth import Scope
from budsim.core.types import Engine, JobStatus, Method
from budsim.db.models import OptimizationJobRow
from tests.api.helpers import (
    JOB_PROFILES,
    LLAMA_70B,
    UPDATE_PROFILE,
    create_profile,
    model_id,
    profile_id,
    row_counts,
    unique,
)
from tests.api.ws import subscribe
from tests.conftest import LiveServer, bearer, gql_data, new_key

ENDPOINT_FIELDS = """
  id name method engine precisions seed createdAt
  model { name }
  hardwareProfiles { id name }
  workload { inputTokens outputTokens concurrency requestRate }
  targets { maxLatencyMs minThroughputTps maxTtftMs maxCostPerHour }
  constraints { maxReplicas maxGpusPerReplica allowedGpuTypes requireHighAvailability }
  latestJob { id status }
  deployment { jobId paretoIndex }
  stale staleReasons
  optimizationJobs(first: 5) { totalCount edges { node { id } } }
"""
CREATE = f"""
mutation($input: CreateEndpointInput!) {{
  createEndpoint(input: $input) {{
    __typename
    ... on Endpoint {{ {ENDPOINT_FIELDS} }}
    ... on ValidationError {{ field message }}
    ... on NotFoundError {{ entity id }}
    ... on ConflictError {{ field message }}
    ... on ForbiddenError {{ scope }}
  }}
}}
"""
GET = f"query($id: ID!) {{ endpoint(id: $id) {{ {ENDPOINT_FIELDS} }} }}"
LIST = "query($first: Int!, $after: String) { endpoints(first: $first, after: $after) { totalCount "
LIST += "pageInfo { hasNextPage endCursor } edges { cursor node { id name } } } }"
RESULT = """
  optimalConfig { gpuType tensorParallelSize pipelineParallelSize replicas launchCommand }
  predictedMetrics { outputTokensPerS }
  paretoFront { config { gpuType tensorParallelSize pipelineParallelSize replicas launchCommand } }
"""
OPTIMIZE_ENDPOINT = f"""
mutation($id: ID!, $wait: Boolean!) {{
  optimizeEndpoint(id: $id, wait: $wait) {{
    __typename
    ... on OptimizationJob {{ id status method endpoint {{ id name }} result {{ {RESULT} }} }}
    ... on ValidationError {{ field message }}
    ... on NotFoundError {{ entity id }}
    ... on ForbiddenError {{ scope }}
  }}
}}
"""
DEPLOYMENT_FIELDS = """
  jobId paretoIndex createdAt launchCommand dockerRun kubernetesManifest notes
  config { gpuType tensorParallelSize pipelineParallelSize replicas launchCommand }
  metrics { outputTokensPerS }
"""
DEPLOY = f"""
mutation($id: ID!, $choice: DeployChoiceInput) {{
  deployEndpoint(id: $id, choice: $choice) {{
    __typename
    ... on EndpointDeployment {{ {DEPLOYMENT_FIELDS} }}
    ... on ValidationError {{ field message }}
    ... on NotFoundError {{ entity id }}
    ... on ForbiddenError {{ scope }}
  }}
}}
"""
DELETE = """
mutation($id: ID!) {
  deleteEndpoint(id: $id) {
    __typename
    ... on DeletedEndpoint { id }
    ... on NotFoundError { entity id }
    ... on ForbiddenError { scope }
  }
}
"""
JOB = "query($id: ID!) { optimizationJob(id: $id) { id status endpoint { id } } }"
DELETE_PROFILE = """
mutation($id: ID!) {
  deleteHardwareProfile(id: $id) {
    __typename ... on DeletedHardwareProfile { id } ... on ConflictError { field message }
  }
}
"""
MISSING_ID = "00000000-0000-4000-8000-000000000000"


async def endpoint_input(client: httpx.AsyncClient, profiles: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """A CreateEndpointInput for Llama-3.1-70B on the seeded profiles named (one 8x H100 node unless given)."""
    return {
        "name": unique("endpoint"),
        "modelId": await model_id(client, LLAMA_70B),
        "hardwareProfileIds": [await profile_id(client, name) for name in profiles or ["H100-SXM x8"]],
        **extra,
    }


async def create(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    data = await gql_data(client, CREATE, input=fields)
    return data["createEndpoint"]  # type: ignore[no-any-return]


async def new_endpoint(client: httpx.AsyncClient, profiles: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """A HEURISTIC endpoint (a plan in milliseconds) unless `extra` says otherwise."""
    created = await create(client, **await endpoint_input(client, profiles, **{"method": "HEURISTIC", **extra}))
    assert created["__typename"] == "Endpoint", created
    return created


async def optimize(client: httpx.AsyncClient, endpoint_id: str, wait: bool = True) -> dict[str, Any]:
    return (await gql_data(client, OPTIMIZE_ENDPOINT, id=endpoint_id, wait=wait))["optimizeEndpoint"]  # type: ignore[no-any-return]


async def deploy(client: httpx.AsyncClient, endpoint_id: str, **choice: Any) -> dict[str, Any]:
    answer = await gql_data(client, DEPLOY, id=endpoint_id, choice=choice or None)
    return answer["deployEndpoint"]  # type: ignore[no-any-return]


async def read(client: httpx.AsyncClient, endpoint_id: str) -> dict[str, Any]:
    return (await gql_data(client, GET, id=endpoint_id))["endpoint"]  # type: ignore[no-any-return]


# ---------------------------------------------------------------- create, read, list


async def test_an_endpoint_is_stored_as_given_and_read_back(client: httpx.AsyncClient) -> None:
    fields = await endpoint_input(
        client,
        ["A100-80GB-SXM x8", "H100-SXM x8", "A100-80GB-SXM x8"],  # a repeat is kept once, the order as given
        method="REGRESSOR",
        engine="SGLANG",
        precisions=["FP8", "BF16", "FP8"],
        workload={"inputTokens": 2000, "outputTokens": 300, "requestRate": 4.5},
        targets={"maxLatencyMs": 20000, "minThroughputTps": 100, "maxTtftMs": 1500, "maxCostPerHour": 80},
        constraints={
            "maxReplicas": 4,
            "maxGpusPerReplica": 8,
            "allowedGpuTypes": ["H100"],
            "requireHighAvailability": True,
        },
        seed=11,
    )
    created = await create(client, **fields)
    assert created["__typename"] == "Endpoint", created
    assert created["name"] == fields["name"]
    assert (created["method"], created["engine"], created["seed"]) == ("REGRESSOR", "SGLANG", 11)
    assert created["model"] == {"name": LLAMA_70B}
    assert [p["name"] for p in created["hardwareProfiles"]] == ["A100-80GB-SXM x8", "H100-SXM x8"]
    assert created["precisions"] == ["FP8", "BF16"]
    assert created["workload"] == {"inputTokens": 2000, "outputTokens": 300, "concurrency": None, "requestRate": 4.5}
    assert created["targets"] == {
        "maxLatencyMs": 20000,
        "minThroughputTps": 100,
        "maxTtftMs": 1500,
        "maxCostPerHour": 80,
    }
    assert created["constraints"] == {
        "maxReplicas": 4,
        "maxGpusPerReplica": 8,
        "allowedGpuTypes": ["H100"],  # as given: each optimization narrows the profiles by it again
        "requireHighAvailability": True,
    }
    never_optimized = {"latestJob": None, "deployment": None, "stale": False, "staleReasons": []}
    assert {key: created[key] for key in never_optimized} == never_optimized
    assert created["optimizationJobs"] == {"totalCount": 0, "edges": []}
    assert {"__typename": "Endpoint", **await read(client, created["id"])} == created


async def test_what_is_left_out_takes_optimizes_defaults(client: httpx.AsyncClient) -> None:
    created = await create(client, **await endpoint_input(client))
    assert (created["method"], created["engine"], created["precisions"], created["seed"]) == (
        "REGRESSOR",
        "VLLM",
        None,
        0,
    )
    assert created["workload"] == {"inputTokens": 1024, "outputTokens": 256, "concurrency": 32, "requestRate": None}
    assert set(created["targets"].values()) == {None}
    assert created["constraints"] == {
        "maxReplicas": 10,
        "maxGpusPerReplica": 8,
        "allowedGpuTypes": None,
        "requireHighAvailability": False,
    }


async def test_endpoints_are_listed_newest_first_a_page_at_a_time(client: httpx.AsyncClient) -> None:
    made = [(await new_endpoint(client))["id"] for _ in range(3)]
    seen: list[str] = []
    after = None
    while True:
        page = (await gql_data(client, LIST, first=2, after=after))["endpoints"]
        assert len(page["edges"]) <= 2
        seen.extend(edge["node"]["id"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen[:3] == made[::-1]  # no other test wrote in between: these are the newest
    assert len(seen) == len(set(seen)) == page["totalCount"]


async def test_an_unknown_endpoint_reads_as_null(client: httpx.AsyncClient) -> None:
    assert (await gql_data(client, GET, id=MISSING_ID))["endpoint"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "   "}, "input.name"),
        ({"name": "x" * 201}, "input.name"),
        ({"name": "a\x00b"}, "input.name"),  # PostgreSQL stores no NUL: refused, not a failed write
        ({"constraints": {"allowedGpuTypes": ["H100", "H100\x00"]}}, "input.constraints.allowedGpuTypes[1]"),
        ({"modelId": "nope"}, "input.modelId"),
        ({"hardwareProfileIds": []}, "input.hardwareProfileIds"),
        ({"hardwareProfileIds": "second-bad"}, "input.hardwareProfileIds[1]"),
        ({"targets": {"maxTtftMs": -5}}, "input.targets.maxTtftMs"),
        ({"constraints": {"maxReplicas": 0}}, "input.constraints.maxReplicas"),
        ({"constraints": {"allowedGpuTypes": ["TPU"]}}, "input.constraints.allowedGpuTypes"),
        ({"workload": {"inputTokens": 10, "outputTokens": 10}}, "input.workload"),
        ({"workload": {"inputTokens": 0, "outputTokens": 10, "concurrency": 4}}, "input.workload.inputTokens"),
        ({"seed": -1}, "input.seed"),
        ({"engine": "TRTLLM", "precisions": ["INT4"], "method": "REGRESSOR"}, None),  # accepted: control case
    ],
)
async def test_bad_input_is_refused_naming_its_field_as_optimize_does_and_writes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, change: dict[str, Any], field: str | None
) -> None:
    fields = await endpoint_input(client)
    if change.get("hardwareProfileIds") == "second-bad":
        change = {"hardwareProfileIds": [*fields["hardwareProfileIds"], "not-an-id"]}
    before = await row_counts(engine)
    answer = await create(client, **fields | change)
    if field is None:
        assert answer["__typename"] == "Endpoint", answer
        return
    assert (answer["__typename"], answer["field"]) == ("ValidationError", field), answer
    assert await row_counts(engine) == before


@pytest.mark.parametrize("missing", ["modelId", "hardwareProfileIds"])
async def test_a_model_or_profile_that_does_not_exist_is_not_found(
    client: httpx.AsyncClient, engine: AsyncEngine, missing: str
) -> None:
    fields = await endpoint_input(client)
    fields[missing] = MISSING_ID if missing == "modelId" else [*fields[missing], MISSING_ID]
    before = await row_counts(engine)
    answer = await create(client, **fields)
    assert answer == {
        "__typename": "NotFoundError",
        "entity": "Model" if missing == "modelId" else "HardwareProfile",
        "id": MISSING_ID,
    }
    assert await row_counts(engine) == before


async def test_a_second_endpoint_of_the_same_name_is_a_conflict(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    first = await new_endpoint(client)
    before = await row_counts(engine)
    again = await create(client, **await endpoint_input(client, name=first["name"]))
    assert again["__typename"] == "ConflictError"
    assert again["field"] == "input.name"
    assert first["name"] in again["message"]
    assert await row_counts(engine) == before


# ---------------------------------------------------------------- optimize


async def test_optimize_endpoint_runs_its_settings_and_links_the_job(client: httpx.AsyncClient) -> None:
    endpoint = await new_endpoint(client, ["H100-SXM x8"], engine="SGLANG")
    job = await optimize(client, endpoint["id"])
    assert job["__typename"] == "OptimizationJob", job
    assert (job["status"], job["method"]) == ("SUCCEEDED", "HEURISTIC")
    assert job["endpoint"] == {"id": endpoint["id"], "name": endpoint["name"]}
    assert job["result"]["optimalConfig"]["gpuType"] == "H100-SXM"
    assert job["result"]["optimalConfig"]["launchCommand"].startswith("python3 -m sglang.launch_server")

    now = await read(client, endpoint["id"])
    assert now["latestJob"] == {"id": job["id"], "status": "SUCCEEDED"}
    assert now["optimizationJobs"] == {"totalCount": 1, "edges": [{"node": {"id": job["id"]}}]}
    assert (await gql_data(client, JOB, id=job["id"]))["optimizationJob"]["endpoint"] == {"id": endpoint["id"]}


async def test_optimize_endpoint_gives_optimizes_answer_for_the_same_request(client: httpx.AsyncClient) -> None:
    fields = await endpoint_input(client, ["H100-SXM x8", "A100-80GB-SXM x8"], method="HEURISTIC", seed=5)
    endpoint = await create(client, **fields)
    via_endpoint = await optimize(client, endpoint["id"])
    plain = {key: value for key, value in fields.items() if key != "name"}
    query = "mutation($input: OptimizeInput!) { optimize(input: $input) { ... on OptimizationJob { endpoint { id } "
    query += f"result {{ {RESULT} }} }} }} }}"
    direct = (await gql_data(client, query, input=plain))["optimize"]
    assert direct["endpoint"] is None  # a plain optimize belongs to no endpoint
    assert direct["result"] == via_endpoint["result"]


async def test_optimizing_an_unknown_endpoint_is_not_found_and_queues_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    before = await row_counts(engine)
    assert await optimize(client, MISSING_ID) == {"__typename": "NotFoundError", "entity": "Endpoint", "id": MISSING_ID}
    assert (await optimize(client, "nope"))["field"] == "id"
    assert await row_counts(engine) == before


async def test_endpoint_jobs_are_listed_newest_first(client: httpx.AsyncClient) -> None:
    endpoint = await new_endpoint(client)
    jobs = [(await optimize(client, endpoint["id"]))["id"] for _ in range(3)]
    query = """query($id: ID!, $after: String) { endpoint(id: $id) { optimizationJobs(first: 2, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } } }"""
    first = (await gql_data(client, query, id=endpoint["id"]))["endpoint"]["optimizationJobs"]
    assert first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"] is True
    after = first["pageInfo"]["endCursor"]
    second = (await gql_data(client, query, id=endpoint["id"], after=after))["endpoint"]["optimizationJobs"]
    assert second["pageInfo"]["hasNextPage"] is False
    assert [edge["node"]["id"] for edge in first["edges"] + second["edges"]] == jobs[::-1]


# ---------------------------------------------------------------- deploy


def manifest_container(manifest: str) -> tuple[dict[str, Any], dict[str, Any]]:
    deployment = yaml.safe_load(manifest)
    return deployment, deployment["spec"]["template"]["spec"]["containers"][0]


async def test_deploy_defaults_to_the_newest_jobs_recommended_config(client: httpx.AsyncClient) -> None:
    endpoint = await new_endpoint(client)
    older = await optimize(client, endpoint["id"])
    job = await optimize(client, endpoint["id"])
    deployment = await deploy(client, endpoint["id"])
    assert deployment["__typename"] == "EndpointDeployment", deployment
    assert (deployment["jobId"], deployment["paretoIndex"]) == (job["id"], None)
    assert job["id"] != older["id"]
    pick = job["result"]["optimalConfig"]
    assert deployment["config"] == pick
    assert deployment["launchCommand"] == pick["launchCommand"]
    assert deployment["metrics"] == job["result"]["predictedMetrics"]

    manifest, engine_container = manifest_container(deployment["kubernetesManifest"])
    assert manifest["spec"]["replicas"] == pick["replicas"]
    gpus = pick["tensorParallelSize"] * pick["pipelineParallelSize"]
    assert engine_container["resources"]["limits"]["nvidia.com/gpu"] == gpus
    assert engine_container["image"] == IMAGES[Engine.VLLM].image
    assert " ".join(engine_container["command"] + engine_container["args"]).startswith(
        deployment["launchCommand"].split("  # ")[0]
    )
    assert engine_container["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8000}
    assert IMAGES[Engine.VLLM].image in deployment["dockerRun"]
    assert any("check" in note and IMAGES[Engine.VLLM].image in note for note in deployment["notes"])

    stored = (await read(client, endpoint["id"]))["deployment"]
    assert stored == {"jobId": job["id"], "paretoIndex": None}
    full = f"query($id: ID!) {{ endpoint(id: $id) {{ deployment {{ {DEPLOYMENT_FIELDS} }} }} }}"
    again = (await gql_data(client, full, id=endpoint["id"]))["endpoint"]["deployment"]
    assert again == {key: value for key, value in deployment.items() if key != "__typename"}


async def test_deploy_a_chosen_member_of_a_named_jobs_front(client: httpx.AsyncClient) -> None:
    endpoint = await new_endpoint(client, ["H100-SXM x8", "A100-80GB-SXM x8"])
    job = await optimize(client, endpoint["id"])
    await optimize(client, endpoint["id"])  # a newer job: the choice names the older one
    front = job["result"]["paretoFront"]
    assert front, job
    last = len(front) - 1
    deployment = await deploy(client, endpoint["id"], jobId=job["id"], paretoIndex=last)
    assert (deployment["jobId"], deployment["paretoIndex"]) == (job["id"], last)
    assert deployment["config"] == front[last]["config"]
    assert deployment["launchCommand"] == front[last]["config"]["launchCommand"]
    assert (await read(client, endpoint["id"]))["deployment"] == {"jobId": job["id"], "paretoIndex": last}


async def test_a_pareto_index_outside_the_front_is_refused(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    endpoint = await new_endpoint(client)
    job = await optimize(client, endpoint["id"])
    size = len(job["result"]["paretoFront"])
    before = await row_counts(engine)
    for index in (size, -1):
        refused = await deploy(client, endpoint["id"], paretoIndex=index)
        assert (refused["__typename"], refused["field"]) == ("ValidationError", "choice.paretoIndex"), refused
        assert f"paretoFront of {size} config" in refused["message"]
    assert await row_counts(engine) == before


async def test_only_this_endpoints_jobs_with_a_result_can_be_deployed(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    endpoint, other = await new_endpoint(client), await new_endpoint(client)
    nothing_yet = await deploy(client, endpoint["id"])
    assert (nothing_yet["__typename"], nothing_yet["field"]) == ("ValidationError", "choice.jobId")
    assert "optimizeEndpoint" in nothing_yet["message"]

    others = await optimize(client, other["id"])
    refused = await deploy(client, endpoint["id"], jobId=others["id"])
    assert (refused["__typename"], refused["field"]) == ("ValidationError", "choice.jobId")
    assert "not one of this endpoint's" in refused["message"]

    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        ran = await session.get(OptimizationJobRow, uuid.UUID(others["id"]))
        assert ran is not None
        failed = OptimizationJobRow(  # a job of that endpoint that ended without an answer
            model_id=ran.model_id,
            method=Method.HEURISTIC.value,
            request=ran.request,
            status=JobStatus.FAILED.value,
            max_attempts=1,
            error="its worker stopped renewing the lease",
            endpoint_id=ran.endpoint_id,
        )
        session.add(failed)
        await session.commit()
    no_result = await deploy(client, other["id"], jobId=str(failed.id))
    assert (no_result["__typename"], no_result["field"]) == ("ValidationError", "choice.jobId")
    assert "no result" in no_result["message"]

    assert await deploy(client, MISSING_ID) == {"__typename": "NotFoundError", "entity": "Endpoint", "id": MISSING_ID}
    assert (await deploy(client, endpoint["id"], jobId="nope"))["field"] == "choice.jobId"


# ---------------------------------------------------------------- staleness, deletes


async def test_an_endpoint_is_stale_once_a_profile_changes_after_its_latest_optimization(
    client: httpx.AsyncClient,
) -> None:
    profile = await create_profile(client, name=unique("stale"))
    endpoint = await create(
        client, **await endpoint_input(client, method="HEURISTIC") | {"hardwareProfileIds": [profile["id"]]}
    )
    await gql_data(client, UPDATE_PROFILE, id=profile["id"], input={"costPerGpuHour": 3.5})
    before_any_job = await read(client, endpoint["id"])
    assert (before_any_job["stale"], before_any_job["staleReasons"]) == (False, [])  # never optimized

    await optimize(client, endpoint["id"])
    assert (await read(client, endpoint["id"]))["stale"] is False
    changed = (await gql_data(client, UPDATE_PROFILE, id=profile["id"], input={"costPerGpuHour": 4.0}))[
        "updateHardwareProfile"
    ]
    stale = await read(client, endpoint["id"])
    assert stale["stale"] is True
    [reason] = stale["staleReasons"]
    assert f"Hardware profile {profile['name']!r} changed at {changed['updatedAt'][:19]}" in reason
    assert "after the latest optimization" in reason

    await optimize(client, endpoint["id"])
    fresh = await read(client, endpoint["id"])
    assert (fresh["stale"], fresh["staleReasons"]) == (False, [])


async def test_a_profile_an_endpoint_names_cannot_be_deleted_until_the_endpoint_is(client: httpx.AsyncClient) -> None:
    profile = await create_profile(client, name=unique("held"))
    endpoint = await create(client, **await endpoint_input(client) | {"hardwareProfileIds": [profile["id"]]})
    refused = (await gql_data(client, DELETE_PROFILE, id=profile["id"]))["deleteHardwareProfile"]
    assert (refused["__typename"], refused["field"]) == ("ConflictError", "id"), refused
    assert "used by 1 endpoint" in refused["message"]

    assert (await gql_data(client, DELETE, id=endpoint["id"]))["deleteEndpoint"] == {
        "__typename": "DeletedEndpoint",
        "id": endpoint["id"],
    }
    gone = (await gql_data(client, DELETE_PROFILE, id=profile["id"]))["deleteHardwareProfile"]
    assert gone == {"__typename": "DeletedHardwareProfile", "id": profile["id"]}


async def test_deleting_an_endpoint_drops_its_deployments_and_unlinks_its_jobs(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    endpoint = await new_endpoint(client)
    job = await optimize(client, endpoint["id"])
    await deploy(client, endpoint["id"])
    before = await row_counts(engine)
    assert (await gql_data(client, DELETE, id=endpoint["id"]))["deleteEndpoint"]["__typename"] == "DeletedEndpoint"
    after = await row_counts(engine)
    assert {table: before[table] - after[table] for table in before if before[table] != after[table]} == {
        "endpoints": 1,
        "endpoint_profiles": 1,
        "endpoint_deployments": 1,
    }
    assert (await gql_data(client, JOB, id=job["id"]))["optimizationJob"] == {
        "id": job["id"],
        "status": "SUCCEEDED",
        "endpoint": None,
    }
    assert await read(client, endpoint["id"]) is None
    for gone in (endpoint["id"], "nope"):
        answer = (await gql_data(client, DELETE, id=gone))["deleteEndpoint"]
        assert answer == {"__typename": "NotFoundError", "entity": "Endpoint", "id": gone}


# ---------------------------------------------------------------- scopes, queries per page


@pytest.fixture
async def read_only(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    headers = bearer(await new_key(app, Scope.READ))
    async with httpx.AsyncClient(transport=transport, base_url="http://budsim.test", headers=headers) as http:
        yield http


async def test_a_read_key_reads_endpoints_and_each_write_is_forbidden(
    client: httpx.AsyncClient, read_only: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    endpoint = await new_endpoint(client)
    assert (await read(read_only, endpoint["id"]))["name"] == endpoint["name"]
    assert (await gql_data(read_only, LIST, first=1))["endpoints"]["totalCount"] >= 1
    before = await row_counts(engine)
    answers = [
        (await gql_data(read_only, CREATE, input=await endpoint_input(client)))["createEndpoint"],
        await optimize(read_only, endpoint["id"]),
        await deploy(read_only, endpoint["id"]),
        (await gql_data(read_only, DELETE, id=endpoint["id"]))["deleteEndpoint"],
    ]
    assert answers == [{"__typename": "ForbiddenError", "scope": "write"}] * 4
    assert await row_counts(engine) == before


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL the app runs meanwhile that reads what an endpoint list shows (the worker's polling left out)."""
    seen: list[str] = []
    shown = ("endpoint", "models", "hardware_profiles", "simulations")

    def record(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if any(table in statement for table in shown):
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_a_page_of_endpoints_costs_the_same_queries_whatever_its_length(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    for _ in range(5):
        endpoint = await new_endpoint(client)
        await optimize(client, endpoint["id"])
        await deploy(client, endpoint["id"])
    nested = f"{ENDPOINT_FIELDS} deployment {{ config {{ gpuType }} }}"
    query = f"query($first: Int!) {{ endpoints(first: $first) {{ edges {{ node {{ {nested} }} }} }} }}"
    counts = []
    for first in (1, 5):
        with statements(engine) as seen:
            page = (await gql_data(client, query, first=first))["endpoints"]["edges"]
        assert len(page) == first
        assert all(edge["node"]["deployment"]["config"]["gpuType"] == "H100-SXM" for edge in page)
        counts.append(len(seen))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 10  # 8 today: the page and its count, then one batch per nested kind


# ---------------------------------------------------------------- progress of a search


FRONT_PROGRESS = """
subscription($id: ID!) {
  optimizationProgress(jobId: $id) {
    status generation paretoFrontSize bestOutputTokensPerS
    paretoFront { outputTokensPerS e2eLatencyP99Ms costPerHour }
    result { generations }
  }
}
"""


async def test_progress_events_carry_the_front_as_it_converges(live_server: LiveServer) -> None:
    async with live_server.client(timeout=120) as http:
        fields = await endpoint_input(http, JOB_PROFILES, precisions=["BF16", "FP8"])  # a REGRESSOR search
        endpoint = await create(http, **fields)
        job = await optimize(http, endpoint["id"], wait=False)
        assert job["status"] == "QUEUED"
        async with subscribe(live_server, FRONT_PROGRESS, id=job["id"]) as events:
            received = await events.events("optimizationProgress")
        stored = "query($id: ID!) { optimizationJob(id: $id) { progress { paretoFront { costPerHour } } } }"
        kept = (await gql_data(http, stored, id=job["id"]))["optimizationJob"]["progress"]["paretoFront"]
    *progress, final = received
    running = [each for each in progress if each["generation"] is not None and each["paretoFrontSize"]]
    assert len(running) >= 3
    for generation in running:
        front = generation["paretoFront"]
        assert len(front) == min(generation["paretoFrontSize"], 64)
        assert all(point["outputTokensPerS"] > 0 and point["costPerHour"] > 0 for point in front)
        throughputs = [point["outputTokensPerS"] for point in front]
        assert throughputs == sorted(throughputs)
        assert max(throughputs) == pytest.approx(generation["bestOutputTokensPerS"], rel=5e-4)  # 4 digits
    assert final["status"] == "SUCCEEDED"
    assert final["result"]["generations"] == final["generation"]
    assert final["paretoFront"] == running[-1]["paretoFront"]  # the end keeps the last generation's front
    assert [point["costPerHour"] for point in final["paretoFront"]] == [point["costPerHour"] for point in kept]


async def test_a_deploy_after_the_profile_changed_follows_it_and_says_so(client: httpx.AsyncClient) -> None:
    """TensorRT-LLM's KV share is read from the GPU's memory: the launch command of a job run before the change no
    longer matches, and the deployment keeps its three artifacts in agreement with the profile as it is now."""
    profile = await create_profile(client, name=unique("trt"))
    fields = await endpoint_input(client, method="HEURISTIC", engine="TRTLLM") | {"hardwareProfileIds": [profile["id"]]}
    endpoint = await create(client, **fields)
    job = await optimize(client, endpoint["id"])
    reported = job["result"]["optimalConfig"]["launchCommand"]
    assert (await deploy(client, endpoint["id"]))["launchCommand"] == reported

    await gql_data(client, UPDATE_PROFILE, id=profile["id"], input={"gpuMemoryGb": 94})
    deployment = await deploy(client, endpoint["id"])
    assert deployment["launchCommand"] != reported
    assert deployment["config"]["launchCommand"] == reported  # the job's answer itself is unchanged
    [note] = [note for note in deployment["notes"] if "differs from the one job" in note]
    assert job["id"] in note
    _, engine_container = manifest_container(deployment["kubernetesManifest"])
    assert " ".join(engine_container["command"] + engine_container["args"]).startswith(
        deployment["launchCommand"].split("  # ")[0]
    )
