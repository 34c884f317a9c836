"""Small helpers the API specifications share: names, ids, and the `simulate` and `optimize` mutations."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from budsim.db.base import Base
from budsim.resolvers.hardware import TOPIC
from tests.conftest import LiveServer, gql_data

SUBSCRIPTION = "subscription { hardwareProfileEvents { kind id profile { name gpuCount } } }"
SIMULATE = """
mutation Simulate($input: SimulateInput!) {
  simulate(input: $input) {
    __typename
    ... on Simulation {
      id method engine confidence confidenceLevel warnings
      confidenceReasons { kind factor message measure }
      config { tensorParallelSize pipelineParallelSize maxNumSeqs maxNumBatchedTokens gpuMemoryUtilization
               maxModelLen replicas weightDtype kvCacheDtype gpusPerReplica totalGpus }
      metrics { ttftMeanMs ttftP50Ms ttftP99Ms tpotMs e2eLatencyP50Ms e2eLatencyP99Ms outputTokensPerS
                totalTokensPerS requestsPerS costPerHour costPerMillionTokens }
      memory { weightsGbPerGpu kvCacheGbPerGpu activationGbPerGpu totalGbPerGpu kvCacheTokens fits }
      workload { inputTokens outputTokens concurrency requestRate }
      model { name }
      hardwareProfile { name }
    }
    ... on ValidationError { field message }
    ... on NotFoundError { id entity }
  }
}
"""
CHAT = {"inputTokens": 1000, "outputTokens": 200, "concurrency": 16}
LLAMA_70B = "meta-llama/Llama-3.1-70B-Instruct"
# Four GPU types and two precisions: a search of a couple of dozen generations, long enough to watch and to cancel.
JOB_PROFILES = ["H100-SXM x8", "A100-80GB-SXM x8", "H200-SXM x8", "L40S x8"]
JOB_FIELDS = """
  id status method createdAt startedAt finishedAt attempts error
  progress { generation evaluations }
  result { generations evaluations meetsTargets optimalConfig { gpuType tensorParallelSize } simulation { id } }
"""
OPTIMIZE = f"""
mutation($input: OptimizeInput!, $wait: Boolean!) {{
  optimize(input: $input, wait: $wait) {{
    __typename
    ... on OptimizationJob {{ {JOB_FIELDS} }}
    ... on ValidationError {{ field message }}
  }}
}}
"""
PROGRESS = """
subscription($id: ID!) {
  optimizationProgress(jobId: $id) {
    jobId status attempt generation evaluations elapsedMs paretoFrontSize
    bestOutputTokensPerS bestE2eLatencyP99Ms bestCostPerHour
    bestConfig { gpuType tensorParallelSize replicas vllmArgs }
    error
    result { generations evaluations optimalConfig { gpuType } }
  }
}
"""


def unique(prefix: str) -> str:
    """Names are unique per test so tests sharing one database never collide."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows of every table the ORM knows, so a new table is counted without touching this helper."""
    async with engine.connect() as connection:
        return {
            name: int(await connection.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in Base.metadata.tables.items()
        }


@asynccontextmanager
async def places_taken(places: asyncio.Semaphore, count: int) -> AsyncIterator[None]:
    """`count` places of a server's turns held, as a burst of submissions or websocket openings would hold them."""
    for _ in range(count):
        await places.acquire()
    try:
        yield
    finally:
        for _ in range(count):
            places.release()


async def model_id(client: httpx.AsyncClient, name: str) -> str:
    """The id of a registered (e.g. catalog-seeded) model, found by its exact name."""
    models = (await gql_data(client, "query($s: String) { models(search: $s) { id name } }", s=name))["models"]
    return next(m["id"] for m in models if m["name"] == name)


async def profile_id(client: httpx.AsyncClient, name: str) -> str:
    """The id of a hardware profile (e.g. a seeded "H100-SXM x8"), found by its exact name."""
    query = "query($g: String) { hardwareProfiles(first: 100, gpuType: $g) { edges { node { id name } } } }"
    edges = (await gql_data(client, query, g=name.split(" ")[0]))["hardwareProfiles"]["edges"]
    return next(e["node"]["id"] for e in edges if e["node"]["name"] == name)


async def simulate(
    client: httpx.AsyncClient, model: str, profile: str, workload: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """The `simulate` mutation's answer for a model and a profile named as in the catalog (CHAT unless given)."""
    payload = {
        "modelId": await model_id(client, model),
        "hardwareProfileId": await profile_id(client, profile),
        "workload": workload or CHAT,
        **extra,
    }
    return (await gql_data(client, SIMULATE, input=payload))["simulate"]


async def job_input(http: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    """An OptimizeInput for Llama-3.1-70B over JOB_PROFILES in BF16 and FP8, with `extra` on top."""
    return {
        "modelId": await model_id(http, LLAMA_70B),
        "hardwareProfileIds": [await profile_id(http, name) for name in JOB_PROFILES],
        "precisions": ["BF16", "FP8"],
        **extra,
    }


async def submit_job(http: httpx.AsyncClient, *, wait: bool, **extra: Any) -> dict[str, Any]:
    """`optimize` on `job_input`: the job queued (`wait=False`) or ended (`wait=True`)."""
    answer = (await gql_data(http, OPTIMIZE, input=await job_input(http, **extra), wait=wait))["optimize"]
    assert answer["__typename"] == "OptimizationJob", answer
    return answer


async def until_subscribed(live_server: LiveServer, count: int = 1) -> None:
    for _ in range(500):
        if live_server.app.state.events.subscriber_count(TOPIC) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the subscription never reached the event bus")


CREATE_PROFILE = """
mutation Create($input: CreateHardwareProfileInput!) {
  createHardwareProfile(input: $input) {
    __typename
    ... on HardwareProfile {
      id name gpuType gpuMemoryGb gpuCount nodeCount totalGpus interconnect specs costPerGpuHour
    }
    ... on ValidationError { field message }
    ... on ConflictError { field message }
  }
}
"""
UPDATE_PROFILE = """
mutation Update($id: ID!, $input: UpdateHardwareProfileInput!) {
  updateHardwareProfile(id: $id, input: $input) {
    __typename
    ... on HardwareProfile { id name gpuCount interconnect specs costPerGpuHour updatedAt }
    ... on ValidationError { field message }
    ... on NotFoundError { id entity message }
    ... on ConflictError { field message }
  }
}
"""
DELETE_PROFILE = """
mutation Delete($id: ID!) {
  deleteHardwareProfile(id: $id) {
    __typename
    ... on DeletedHardwareProfile { id }
    ... on NotFoundError { id entity message }
    ... on ValidationError { field message }
  }
}
"""
MISSING_ID = "00000000-0000-4000-8000-000000000000"


async def create_profile(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """A hardware profile of 8 H100-SXM unless `fields` say otherwise; the mutation's answer, whatever it is."""
    data = await gql_data(client, CREATE_PROFILE, input={"gpuCount": 8, "gpuType": "H100-SXM", **fields})
    return data["createHardwareProfile"]
