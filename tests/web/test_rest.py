"""The REST routes: the same resolvers as GraphQL behind snake_case JSON, typed errors, and an OpenAPI document that
names every route and whose schemas and examples the handlers' real answers satisfy."""

import copy
import uuid
from typing import Any

import httpx
import jsonschema
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from budsim.web.rest import ENDPOINTS, GUIDE_EXAMPLE
from tests.api.helpers import model_id, profile_id, unique

LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"
H100 = "H100-SXM x8"
CHAT = {"input_tokens": 1000, "output_tokens": 200, "concurrency": 16}


async def ids(client: httpx.AsyncClient) -> tuple[str, str]:
    return await model_id(client, LLAMA_8B), await profile_id(client, H100)


def with_ids(body: dict[str, Any], model: str, profile: str) -> dict[str, Any]:
    """A documented example with its "uuid" placeholders replaced by real ids."""
    filled = copy.deepcopy(body)
    for key, value in filled.items():
        if value == "uuid":
            filled[key] = model if key == "model_id" else profile
        elif value == ["uuid"]:
            filled[key] = [profile]
    return filled


async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def conforms(document: dict[str, Any], method: str, path: str, response: httpx.Response) -> None:
    """The answer matches what the document says this route answers with its status."""
    operation = document["paths"][path][method.lower()]
    schema = operation["responses"][str(response.status_code)]["content"]["application/json"]["schema"]
    jsonschema.validate(response.json(), {**schema, "components": document["components"]})


def bad_input(response: httpx.Response, field: str) -> str:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "BAD_USER_INPUT"
    assert error["field"] == field, error
    return str(error["message"])


async def test_the_openapi_document_names_every_route_of_the_app(app: Starlette, client: httpx.AsyncClient) -> None:
    document = await openapi(client)
    assert document["openapi"] == "3.1.0"
    served = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert served <= documented
    assert {("/api/optimize", "post"), ("/simulate", "post"), ("/simulations/{id}", "get")} <= served


async def test_the_documented_examples_validate_and_succeed_against_the_handlers(client: httpx.AsyncClient) -> None:
    document = await openapi(client)
    model, profile = await ids(client)
    bodies = [endpoint for endpoint in ENDPOINTS if endpoint.example is not None]
    assert {endpoint.path for endpoint in bodies} == {"/api/optimize", "/simulate", "/optimize", "/hardware-profiles"}
    for endpoint in bodies:
        content = document["paths"][endpoint.path]["post"]["requestBody"]["content"]["application/json"]
        jsonschema.validate(content["example"], {**content["schema"], "components": document["components"]})
        body = with_ids(content["example"], model, profile)
        if endpoint.path == "/hardware-profiles":
            body["name"] = unique("example")
        response = await client.post(endpoint.path, json=body)
        assert response.status_code in {200, 201}, (endpoint.path, response.text)
        conforms(document, "POST", endpoint.path, response)


async def test_the_user_guides_optimize_call_answers_the_guides_shape(client: httpx.AsyncClient) -> None:
    model, cluster = await ids(client)
    body = with_ids(GUIDE_EXAMPLE, model, cluster)
    assert body == {
        "model_id": model,
        "cluster_id": cluster,
        "method": "REGRESSOR",
        "targets": {"max_latency_ms": 2000, "min_throughput_tps": 100},
        "constraints": {"max_replicas": 4, "max_cost_per_hour": 50},
    }
    # what `curl -d` sends: the guide's call gives no Content-Type, so curl says form-encoded
    response = await client.post(
        "/api/optimize",
        content=f'{{"model_id": "{model}", "cluster_id": "{cluster}", "method": "REGRESSOR", '
        '"targets": {"max_latency_ms": 2000, "min_throughput_tps": 100}, '
        '"constraints": {"max_replicas": 4, "max_cost_per_hour": 50}}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},  # the client sends its key
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "SUCCEEDED"
    config, metrics = answer["optimal_config"], answer["predicted_metrics"]
    for key in ("tensor_parallel_size", "pipeline_parallel_size", "max_num_seqs", "max_model_len", "replicas"):
        assert isinstance(config[key], int), key
        assert config[key] >= 1, key
    assert config["hardware_profile_id"] == cluster
    assert config["replicas"] <= 4
    assert config["tensor_parallel_size"] * config["pipeline_parallel_size"] * config["replicas"] <= 8
    for key in ("ttft_p50_ms", "ttft_p99_ms", "throughput_tps", "cost_per_hour"):
        assert metrics[key] > 0, key
    assert metrics["throughput_tps"] == metrics["output_tokens_per_s"]
    assert 0 < answer["confidence"] <= 1
    expected = "PRODUCTION_READY" if answer["confidence"] >= 0.9 else "VALIDATE_IN_STAGING"
    assert answer["confidence_level"] == (expected if answer["confidence"] >= 0.7 else "NEEDS_MORE_DATA")
    for reason in answer["confidence_reasons"]:
        assert set(reason) == {"kind", "factor", "message", "measure"}
        assert 0 <= reason["factor"] < 1
    if answer["meets_targets"]:
        assert metrics["cost_per_hour"] <= 50
        assert metrics["e2e_latency_p99_ms"] <= 2000
        assert metrics["throughput_tps"] >= 100
    conforms(await openapi(client), "POST", "/api/optimize", response)


async def test_the_guides_two_cost_caps_must_agree(client: httpx.AsyncClient) -> None:
    model, cluster = await ids(client)
    body = {
        "model_id": model,
        "cluster_id": cluster,
        "method": "HEURISTIC",
        "targets": {"max_cost_per_hour": 40},
        "constraints": {"max_cost_per_hour": 50},
    }
    assert "40" in bad_input(await client.post("/api/optimize", json=body), "constraints.max_cost_per_hour")
    body["targets"] = {"max_cost_per_hour": 50}
    assert (await client.post("/api/optimize", json=body)).status_code == 200
    body["constraints"] = {"max_cost_per_hour": -1}
    del body["targets"]
    bad_input(await client.post("/api/optimize", json=body), "constraints.max_cost_per_hour")


async def test_api_optimize_names_the_guides_fields(client: httpx.AsyncClient) -> None:
    model, cluster = await ids(client)
    bad_input(await client.post("/api/optimize", json=GUIDE_EXAMPLE | {"model_id": model}), "cluster_id")
    bad_input(await client.post("/api/optimize", json=GUIDE_EXAMPLE), "model_id")
    body = {"model_id": model, "cluster_id": cluster, "constraints": {"max_replicas": 0}}
    bad_input(await client.post("/api/optimize", json=body), "constraints.max_replicas")
    missing = await client.post("/api/optimize", json={"model_id": model, "cluster_id": str(uuid.uuid4())})
    assert missing.status_code == 404
    assert missing.json()["error"]["entity"] == "HardwareProfile"


async def test_simulate_then_read_it_back_and_list_it(client: httpx.AsyncClient) -> None:
    document = await openapi(client)
    model, profile = await ids(client)
    body = {"model_id": model, "hardware_profile_id": profile, "workload": CHAT, "config": {"weight_dtype": "FP8"}}
    created = await client.post("/simulate", json=body)
    assert created.status_code == 201, created.text
    simulation = created.json()
    assert simulation["method"] == "HEURISTIC"
    assert simulation["config"]["weight_dtype"] == "FP8"
    assert simulation["metrics"]["ttft_p99_ms"] > simulation["metrics"]["ttft_p50_ms"] > 0
    assert simulation["memory"]["fits"] is True
    assert (simulation["model_id"], simulation["hardware_profile_id"]) == (model, profile)
    conforms(document, "POST", "/simulate", created)

    read = await client.get(f"/simulations/{simulation['id']}")
    assert read.status_code == 200
    assert read.json() == simulation
    conforms(document, "GET", "/simulations/{id}", read)

    await client.post("/simulate", json=body)
    page = await client.get("/simulations", params={"model_id": model, "hardware_profile_id": profile, "first": 1})
    assert page.status_code == 200
    conforms(document, "GET", "/simulations", page)
    first = page.json()
    assert len(first["edges"]) == 1
    assert first["total_count"] >= 2
    assert first["page_info"]["has_next_page"] is True
    following = await client.get(
        "/simulations", params={"model_id": model, "first": 1, "after": first["page_info"]["end_cursor"]}
    )
    assert following.json()["edges"][0]["node"]["id"] != first["edges"][0]["node"]["id"]
    regressor = await client.get("/simulations", params={"model_id": model, "method": "REGRESSOR"})
    assert all(edge["node"]["method"] == "REGRESSOR" for edge in regressor.json()["edges"])


async def test_optimize_answers_the_job_with_its_result(client: httpx.AsyncClient) -> None:
    model, profile = await ids(client)
    body = {"model_id": model, "hardware_profile_ids": [profile], "method": "HEURISTIC"}
    response = await client.post("/optimize", json=body)
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["status"] == "SUCCEEDED"
    assert job["result"]["optimal_config"]["gpu_type"] == "H100-SXM"
    assert job["result"]["simulation"]["id"] == job["simulation_id"]
    conforms(await openapi(client), "POST", "/optimize", response)
    bad_input(await client.post("/optimize", json=body, params={"wait": "maybe"}), "wait")


async def test_hardware_profiles_create_list_and_conflict(client: httpx.AsyncClient) -> None:
    document = await openapi(client)
    name = unique("rest-h100")
    created = await client.post("/hardware-profiles", json={"name": name, "gpu_type": "H100-SXM", "gpu_count": 4})
    assert created.status_code == 201, created.text
    profile = created.json()
    assert profile["gpu_memory_gb"] == 80
    assert profile["interconnect"] == "NVLINK"
    conforms(document, "POST", "/hardware-profiles", created)
    again = await client.post("/hardware-profiles", json={"name": name, "gpu_type": "H100-SXM", "gpu_count": 4})
    assert again.status_code == 409
    assert again.json()["error"]["field"] == "name"
    listed = await client.get("/hardware-profiles", params={"gpu_type": "H100-SXM", "first": 100})
    assert listed.status_code == 200
    assert name in {edge["node"]["name"] for edge in listed.json()["edges"]}
    conforms(document, "GET", "/hardware-profiles", listed)
    custom = {"name": unique("custom"), "gpu_type": "X1", "gpu_count": 8, "gpu_memory_gb": 96}
    bad_input(await client.post("/hardware-profiles", json=custom), "specs.bf16_tflops")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"hardware_profile_id": "P", "workload": CHAT}, "model_id"),
        ({"model_id": "M", "hardware_profile_id": "P"}, "workload"),
        ({"model_id": "M", "hardware_profile_id": "P", "workload": CHAT, "speed": 1}, "speed"),
        (
            {"model_id": "M", "hardware_profile_id": "P", "workload": CHAT | {"input_tokens": "many"}},
            "workload.input_tokens",
        ),
        (
            {"model_id": "M", "hardware_profile_id": "P", "workload": CHAT | {"input_tokens": 0}},
            "workload.input_tokens",
        ),
        ({"model_id": "M", "hardware_profile_id": "P", "workload": CHAT, "method": "GUESS"}, "method"),
        (
            {"model_id": "M", "hardware_profile_id": "P", "workload": CHAT, "config": {"replicas": "two"}},
            "config.replicas",
        ),
        (
            {"model_id": "M", "hardware_profile_id": "P", "workload": CHAT, "config": {"tensor_parallel_size": 3}},
            "config.tensor_parallel_size",
        ),
        ({"model_id": "not-an-id", "hardware_profile_id": "P", "workload": CHAT}, "model_id"),
    ],
)
async def test_simulate_names_the_field_at_fault(client: httpx.AsyncClient, body: dict[str, Any], field: str) -> None:
    model, profile = await ids(client)
    body = {k: {"M": model, "P": profile}.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    bad_input(await client.post("/simulate", json=body), field)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("first=0", "first"),
        ("first=ten", "first"),
        ("after=nope", "after"),
        ("method=FAST", "method"),
        ("model_id=x", "model_id"),
        ("modelId=x", "modelId"),
    ],
)
async def test_listing_names_the_query_parameter_at_fault(client: httpx.AsyncClient, query: str, field: str) -> None:
    bad_input(await client.get(f"/simulations?{query}"), field)


async def test_not_found_malformed_and_wrong_method(client: httpx.AsyncClient) -> None:
    model, _ = await ids(client)
    missing = await client.get(f"/simulations/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    bad_input(await client.get("/simulations/not-an-id"), "id")
    body = {"model_id": model, "hardware_profile_id": str(uuid.uuid4()), "workload": CHAT}
    absent = await client.post("/simulate", json=body)
    assert (absent.status_code, absent.json()["error"]["entity"]) == (404, "HardwareProfile")

    for raw in (b'{"model_id": ', b"", b"\xff"):
        malformed = await client.post("/simulate", content=raw)
        assert malformed.status_code == 400
        assert malformed.json()["error"]["code"] == "BAD_REQUEST"
    bad_input(await client.post("/simulate", json=[1]), "body")

    wrong = await client.delete("/simulations")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert set(wrong.headers["allow"].split(", ")) == {"GET", "HEAD"}  # Starlette lists a set: any order
    assert (await client.put("/api/optimize")).status_code == 405
