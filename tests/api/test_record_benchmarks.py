"""Recording many measured runs at once: all or nothing, errors naming the row and field, any hardware profile,
closed or open loop, whichever metrics were measured; and which of them training can use.

The closed-loop runs are test_benchmarks.py's Llama-3.1-8B sweep on one H100 SXM. The open-loop run is the same
model on a custom 8-GPU Gaudi3 profile at 4 requests/s offered, 1000 in / 200 out: an E2E p99 of 2.9 s is a first
token p99 of 180 ms plus 199 gaps of about 13.7 ms, and 4 requests/s x 200 tokens is 800 output tokens/s.
"""

import logging
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from budsim.regressor.stored_runs import fetch_stored_runs
from tests.api.helpers import model_id, row_counts, unique
from tests.api.test_benchmarks import LLAMA_8B, SOURCE, fresh_llama, measured_run
from tests.conftest import gql_data

RECORD_MANY = """
mutation Record($input: [RecordBenchmarkInput!]!) {
  recordBenchmarks(input: $input) {
    __typename
    ... on RecordedBenchmarkRuns {
      count
      runs {
        id gpuType gpuCount hardwareProfileId concurrency requestRate ttftMs ttftP50Ms ttftP99Ms tpotMs
        outputTokensPerS requestsPerS e2eLatencyMs e2eP99Ms simulationId model { name }
      }
    }
    ... on ValidationError { field message }
    ... on NotFoundError { id entity }
  }
}
"""
CREATE_PROFILE = """
mutation($input: CreateHardwareProfileInput!) { createHardwareProfile(input: $input) { ... on HardwareProfile { id } } }
"""


async def record_many(client: httpx.AsyncClient, runs: list[dict[str, Any]]) -> dict[str, Any]:
    return (await gql_data(client, RECORD_MANY, input=runs))["recordBenchmarks"]


async def gaudi_profile(client: httpx.AsyncClient) -> str:
    """A custom (non-catalog) GPU: one node of eight Gaudi3s."""
    profile = {
        "name": unique("gaudi3 x8"),
        "gpuType": "Gaudi3",
        "gpuCount": 8,
        "gpuMemoryGb": 128,
        "specs": {"bf16_tflops": 1835, "memory_bandwidth_gbs": 3700},
        "costPerGpuHour": 3.0,
    }
    return str((await gql_data(client, CREATE_PROFILE, input=profile))["createHardwareProfile"]["id"])


def open_loop_run(model: str, profile: str, **changes: Any) -> dict[str, Any]:
    run = measured_run(model, hardwareProfileId=profile, workload={"inputTokens": 1000, "outputTokens": 200})
    run["workload"]["requestRate"] = 4.0
    for field in ("gpuType", "ttftMs", "tpotMs", "outputTokensPerS", "e2eLatencyMs"):
        del run[field]
    return run | {"ttftP50Ms": 95.0, "ttftP99Ms": 180.0, "e2eP99Ms": 2900.0, "requestsPerS": 3.98} | changes


async def test_a_batch_is_stored_in_the_order_given_with_each_run_as_measured(client: httpx.AsyncClient) -> None:
    llama, name = await fresh_llama(client)
    gaudi = await gaudi_profile(client)
    result = await record_many(client, [measured_run(llama, 1), measured_run(llama, 16), open_loop_run(llama, gaudi)])

    assert result["__typename"] == "RecordedBenchmarkRuns", result
    assert result["count"] == 3
    closed_1, closed_16, opened = result["runs"]
    assert (closed_1["concurrency"], closed_1["ttftMs"], closed_1["tpotMs"]) == (1, 14.1, 6.9)
    assert (closed_16["concurrency"], closed_16["outputTokensPerS"], closed_16["e2eLatencyMs"]) == (16, 1633.8, 1958.6)
    assert closed_16["hardwareProfileId"] is None
    assert opened == {
        "id": opened["id"],
        "gpuType": "Gaudi3",  # the profile's custom GPU
        "gpuCount": 1,
        "hardwareProfileId": gaudi,
        "concurrency": None,  # open loop
        "requestRate": 4.0,
        "ttftMs": None,
        "ttftP50Ms": 95.0,
        "ttftP99Ms": 180.0,
        "tpotMs": None,
        "outputTokensPerS": None,
        "requestsPerS": 3.98,
        "e2eLatencyMs": None,
        "e2eP99Ms": 2900.0,
        "simulationId": None,
        "model": {"name": name},
    }
    listed = "query($m: ID) { benchmarkRuns(first: 10, modelId: $m) { totalCount } }"
    assert (await gql_data(client, listed, m=llama))["benchmarkRuns"]["totalCount"] == 3


async def test_a_catalog_gpu_named_by_its_profile_is_stored_by_its_catalog_name(client: httpx.AsyncClient) -> None:
    llama = await model_id(client, LLAMA_8B)
    profile = unique("h100 pair")
    created = await gql_data(client, CREATE_PROFILE, input={"name": profile, "gpuType": "h100_sxm", "gpuCount": 2})
    run = measured_run(llama, hardwareProfileId=created["createHardwareProfile"]["id"])
    del run["gpuType"]
    [stored] = (await record_many(client, [run]))["runs"]
    assert stored["gpuType"] == "H100-SXM"


BAD_ROWS: list[tuple[dict[str, Any], str]] = [
    ({"ttftMs": 2500.0}, "input[1].ttftMs"),  # after the whole request (e2e 1958.6 ms)
    ({"modelId": "00000000-0000-4000-8000-000000000000"}, "input[1].modelId"),  # no such model
    ({"modelId": "zzz"}, "input[1].modelId"),
    ({"gpuType": None}, "input[1].gpuType"),  # neither a GPU nor a profile
    ({"hardwareProfileId": "00000000-0000-4000-8000-000000000000"}, "input[1].gpuType"),  # both
    ({"gpuType": "RTX-4090"}, "input[1].gpuType"),
    ({"workload": {"inputTokens": 1000, "outputTokens": 200, "concurrency": 16, "requestRate": 4}}, None),
    (
        {"ttftMs": None, "tpotMs": None, "outputTokensPerS": None, "e2eLatencyMs": None},  # nothing measured
        "input[1].ttftMs",
    ),
    ({"ttftP50Ms": 60.0, "ttftP99Ms": 50.0}, "input[1].ttftP50Ms"),  # the median above the 99th percentile
    ({"ttftP99Ms": 300.0, "e2eP99Ms": 250.0}, "input[1].ttftP99Ms"),  # a first token after the last
    ({"outputTokensPerS": 1633.8 * 6}, "input[1].outputTokensPerS"),  # input + output, beyond the decode bound
    ({"requestsPerS": 0}, "input[1].requestsPerS"),
    ({"e2eP99Ms": float("1e12")}, "input[1].e2eP99Ms"),  # beyond a day: a unit mistake
]


@pytest.mark.parametrize(("changes", "field"), BAD_ROWS, ids=[str(field) for _, field in BAD_ROWS])
async def test_one_bad_row_fails_the_batch_naming_its_row_and_field_and_writes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, changes: dict[str, Any], field: str | None
) -> None:
    llama = await model_id(client, LLAMA_8B)
    runs = [measured_run(llama, 1), measured_run(llama, 16, **changes), measured_run(llama, 4)]
    before = await row_counts(engine)
    result = await record_many(client, runs)
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == (field or "input[1].workload.requestRate")
    assert result["message"]
    assert await row_counts(engine) == before


async def test_a_run_on_more_gpus_than_its_profile_has_is_refused(client: httpx.AsyncClient) -> None:
    llama = await model_id(client, LLAMA_8B)
    run = open_loop_run(llama, await gaudi_profile(client), gpuCount=16)
    result = await record_many(client, [run])
    assert result["__typename"] == "ValidationError"
    assert result["field"] == "input[0].gpuCount"
    assert "has 8 GPUs" in result["message"]


@pytest.mark.parametrize(("count", "reason"), [(0, "at least one"), (501, "at most 500")])
async def test_a_batch_holds_one_to_five_hundred_runs(
    client: httpx.AsyncClient, engine: AsyncEngine, count: int, reason: str
) -> None:
    llama = await model_id(client, LLAMA_8B)
    before = await row_counts(engine)
    result = await record_many(client, [measured_run(llama, 1)] * count)
    assert (result["__typename"], result["field"]) == ("ValidationError", "input")
    assert reason in result["message"]
    assert await row_counts(engine) == before


async def test_record_benchmark_takes_the_new_fields_too_and_names_fields_without_a_row(
    client: httpx.AsyncClient,
) -> None:
    llama = await model_id(client, LLAMA_8B)
    query = "mutation($input: RecordBenchmarkInput!) { recordBenchmark(input: $input) { __typename "
    query += "... on BenchmarkRun { requestRate ttftP99Ms } ... on ValidationError { field } } }"
    gaudi = await gaudi_profile(client)
    ok = (await gql_data(client, query, input=open_loop_run(llama, gaudi)))["recordBenchmark"]
    assert ok == {"__typename": "BenchmarkRun", "requestRate": 4.0, "ttftP99Ms": 180.0}
    bad = (await gql_data(client, query, input=open_loop_run(llama, gaudi, ttftP50Ms=200.0)))["recordBenchmark"]
    assert bad == {"__typename": "ValidationError", "field": "input.ttftP50Ms"}


async def test_training_uses_complete_closed_loop_runs_on_catalog_gpus_and_says_once_what_it_skips(
    client: httpx.AsyncClient, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    llama, name = await fresh_llama(client)
    gaudi = await gaudi_profile(client)
    on_gaudi = measured_run(llama, 16, hardwareProfileId=gaudi, source=f"{SOURCE}; gaudi")
    del on_gaudi["gpuType"]
    no_tpot = measured_run(llama, 8, tpotMs=None)
    runs = [measured_run(llama, 16), open_loop_run(llama, gaudi), open_loop_run(llama, gaudi), no_tpot, on_gaudi]
    assert (await record_many(client, runs))["count"] == 5

    with caplog.at_level(logging.INFO, logger="budsim"):
        stored = await fetch_stored_runs(database_url)
    mine = [run for run in stored.runs if run.model == name]
    assert [(run.gpu, run.concurrency) for run in mine] == [("H100-SXM", 16)]
    skipped = [r.getMessage() for r in caplog.records if "not used for training" in r.getMessage()]
    assert len([m for m in skipped if "open-loop" in m]) == 1  # once, however many runs
    assert len([m for m in skipped if "three targets" in m]) == 1
    assert len([m for m in skipped if "custom profile GPU" in m]) == 1
