"""Scopes: read answers queries, write runs simulations and edits profiles, admin deletes; one check refuses."""

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from budsim.core.auth import Scope
from tests.api.helpers import DELETE_PROFILE, create_profile, row_counts, simulate, unique
from tests.conftest import bearer, gql_data, new_key

PROFILES = "{ hardwareProfiles(first: 1) { totalCount } models { name } }"


@pytest.fixture(scope="session")
async def tokens(app: Starlette) -> dict[Scope, str]:
    return {scope: await new_key(app, scope) for scope in Scope}


@pytest.fixture
async def as_scope(app: Starlette, tokens: dict[Scope, str]) -> AsyncIterator[dict[Scope, httpx.AsyncClient]]:
    transport = httpx.ASGITransport(app=app)
    clients = {
        scope: httpx.AsyncClient(transport=transport, base_url="http://budsim.test", headers=bearer(token))
        for scope, token in tokens.items()
    }
    yield clients
    for http in clients.values():
        await http.aclose()


REFUSAL = "... on ForbiddenError { scope message }"


def forbidden(result: dict[str, object], scope: str) -> None:
    assert result["__typename"] == "ForbiddenError"
    assert result["scope"] == scope
    assert f"needs the '{scope}' scope" in str(result["message"])


async def test_a_read_key_queries_but_may_not_write(
    as_scope: dict[Scope, httpx.AsyncClient], engine: AsyncEngine
) -> None:
    read = as_scope[Scope.READ]
    data = await gql_data(read, PROFILES)
    assert data["hardwareProfiles"]["totalCount"] >= 1
    assert data["models"]
    before = await row_counts(engine)
    query = (
        "mutation($input: CreateHardwareProfileInput!) { createHardwareProfile(input: $input) { __typename "
        f"{REFUSAL} }} }}"
    )
    body = await gql_data(read, query, input={"name": unique("ro"), "gpuCount": 8, "gpuType": "H100-SXM"})
    forbidden(body["createHardwareProfile"], "write")
    assert await row_counts(engine) == before


async def test_a_refused_mutation_leaves_its_siblings_to_run(as_scope: dict[Scope, httpx.AsyncClient]) -> None:
    """A refusal is a typed answer on its own field, like a ValidationError: the operation's other mutations run."""
    write = as_scope[Scope.WRITE]
    profile = await create_profile(write, name=unique("sib"))
    query = (
        "mutation($id: ID!) { first: updateHardwareProfile(id: $id, input: {gpuCount: 4}) { __typename }"
        f" gone: deleteHardwareProfile(id: $id) {{ __typename {REFUSAL} }}"
        " after: updateHardwareProfile(id: $id, input: {gpuCount: 2}) { __typename } }"
    )
    data = await gql_data(write, query, id=profile["id"])
    assert data["first"] == data["after"] == {"__typename": "HardwareProfile"}
    forbidden(data["gone"], "admin")
    read = await gql_data(write, "query($id: ID!) { hardwareProfile(id: $id) { gpuCount } }", id=profile["id"])
    assert read["hardwareProfile"] == {"gpuCount": 2}


async def test_a_write_key_simulates_but_may_not_delete_and_admin_may(
    as_scope: dict[Scope, httpx.AsyncClient],
) -> None:
    write, admin = as_scope[Scope.WRITE], as_scope[Scope.ADMIN]
    result = await simulate(write, "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM x1")
    assert result["__typename"] == "Simulation"
    profile = await create_profile(write, name=unique("del"))
    assert profile["__typename"] == "HardwareProfile"
    refusal = f"mutation($id: ID!) {{ deleteHardwareProfile(id: $id) {{ __typename {REFUSAL} }} }}"
    forbidden((await gql_data(write, refusal, id=profile["id"]))["deleteHardwareProfile"], "admin")
    deleted = await gql_data(admin, DELETE_PROFILE, id=profile["id"])
    assert deleted["deleteHardwareProfile"] == {"__typename": "DeletedHardwareProfile", "id": profile["id"]}


async def test_rest_answers_a_missing_scope_403_and_writes_nothing(
    as_scope: dict[Scope, httpx.AsyncClient], engine: AsyncEngine
) -> None:
    before = await row_counts(engine)
    refused = await as_scope[Scope.READ].post(
        "/hardware-profiles", json={"name": unique("rest"), "gpu_type": "L4", "gpu_count": 4}
    )
    assert refused.status_code == 403
    assert refused.json()["error"] == {
        "code": "FORBIDDEN",
        "message": refused.json()["error"]["message"],
        "scope": "write",
    }
    assert await row_counts(engine) == before


MISSING = "00000000-0000-4000-8000-000000000000"
MEASUREMENT_MUTATIONS = {
    "recordBenchmarks": "recordBenchmarks(input: [])",
    "importBenchmarkResults": f'importBenchmarkResults(format: VLLM, content: "{{}}", hardwareProfileId: "{MISSING}")',
    "validateSimulation": f'validateSimulation(simulationId: "{MISSING}", measured: {{ttftMs: 10, source: "me"}})',
}


@pytest.mark.parametrize("field", sorted(MEASUREMENT_MUTATIONS))
async def test_recording_measurements_needs_the_write_scope(
    as_scope: dict[Scope, httpx.AsyncClient], engine: AsyncEngine, field: str
) -> None:
    """The scope is checked before the input, so a read key learns nothing about the ids or the content it sent."""
    before = await row_counts(engine)
    body = await gql_data(
        as_scope[Scope.READ], f"mutation {{ {MEASUREMENT_MUTATIONS[field]} {{ __typename {REFUSAL} }} }}"
    )
    forbidden(body[field], "write")
    assert await row_counts(engine) == before
