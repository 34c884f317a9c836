"""Measured benchmark runs: recorded with their provenance, listed newest first, refused field by field when wrong.

The runs below are shaped like vLLM's `benchmark_serving.py` reports for Llama-3.1-8B-Instruct in BF16 on one H100
SXM, 1000 prompt and 200 output tokens, at 1 to 16 requests in flight. Each row is self-consistent the way a real
closed loop is: e2e = TTFT + 199 x TPOT, and output tokens/s = concurrency x 200 / e2e (Little's law).
"""

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from budsim.db import queries
from budsim.regressor.stored_runs import StoredRuns, fetch_stored_runs
from budsim.regressor.training import DEFAULT_CSV, load_dataset, train_from_csv
from tests.api.helpers import model_id, row_counts, unique
from tests.conftest import gql, gql_data

LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"
SOURCE = (
    "measured by the platform team: vllm benchmarks/benchmark_serving.py --dataset-name random "
    "--random-input-len 1000 --random-output-len 200, Lambda 1x H100 SXM, 2025-06-02"
)
# concurrency: (ttft_ms, tpot_ms, e2e_latency_ms, output_tokens_per_s)
SWEEP = {
    1: (14.1, 6.9, 1387.2, 144.2),
    2: (15.0, 7.0, 1408.0, 284.1),
    4: (17.3, 7.3, 1470.0, 544.2),
    8: (24.0, 8.0, 1616.0, 990.1),
    16: (48.2, 9.6, 1958.6, 1633.8),
}

RECORD = """
mutation Record($input: RecordBenchmarkInput!) {
  recordBenchmark(input: $input) {
    __typename
    ... on BenchmarkRun {
      id gpuType gpuCount tensorParallelSize pipelineParallelSize weightDtype kvCacheDtype engine engineVersion
      inputTokens outputTokens concurrency ttftMs tpotMs outputTokensPerS e2eLatencyMs source createdAt
      model { name }
    }
    ... on ValidationError { field message }
    ... on NotFoundError { id entity }
  }
}
"""
LIST = """
query($first: Int!, $after: String, $modelId: ID) {
  benchmarkRuns(first: $first, after: $after, modelId: $modelId) {
    totalCount
    edges { cursor node { id concurrency tpotMs gpuType source model { name } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


def measured_run(model: str, concurrency: int = 16, **changes: Any) -> dict[str, Any]:
    """A RecordBenchmarkInput for one point of SWEEP, with `changes` laid over it."""
    ttft, tpot, e2e, tokens_per_s = SWEEP[concurrency]
    return {
        "modelId": model,
        "gpuType": "H100-SXM",
        "gpuCount": 1,
        "tensorParallelSize": 1,
        "weightDtype": "BF16",
        "engine": "VLLM",
        "engineVersion": "0.6.3.post1",
        "workload": {"inputTokens": 1000, "outputTokens": 200, "concurrency": concurrency},
        "ttftMs": ttft,
        "tpotMs": tpot,
        "outputTokensPerS": tokens_per_s,
        "e2eLatencyMs": e2e,
        "source": SOURCE,
    } | changes


async def record(client: httpx.AsyncClient, run: dict[str, Any]) -> dict[str, Any]:
    return (await gql_data(client, RECORD, input=run))["recordBenchmark"]


async def fresh_llama(client: httpx.AsyncClient) -> tuple[str, str]:
    """A model registered for one test only (Llama-3.1-8B's config under a new name), so its run count is exact."""
    query = "query($id: ID!) { model(id: $id) { config } }"
    config = (await gql_data(client, query, id=await model_id(client, LLAMA_8B)))["model"]["config"]
    name = unique("acme/llama-3.1-8b")
    mutation = "mutation($n: String!, $c: JSON!) { registerModel(name: $n, config: $c) { ... on Model { id } } }"
    return (await gql_data(client, mutation, n=name, c=config))["registerModel"]["id"], name


async def test_a_recorded_run_is_stored_as_given_and_listed_first_with_its_model(client: httpx.AsyncClient) -> None:
    llama = await model_id(client, LLAMA_8B)
    run = await record(client, measured_run(llama))

    assert run["__typename"] == "BenchmarkRun"
    assert run == {
        "__typename": "BenchmarkRun",
        "id": run["id"],
        "gpuType": "H100-SXM",
        "gpuCount": 1,
        "tensorParallelSize": 1,
        "pipelineParallelSize": 1,  # the default
        "weightDtype": "BF16",
        "kvCacheDtype": None,  # not recorded by the source
        "engine": "VLLM",
        "engineVersion": "0.6.3.post1",
        "inputTokens": 1000,
        "outputTokens": 200,
        "concurrency": 16,
        "ttftMs": 48.2,
        "tpotMs": 9.6,
        "outputTokensPerS": 1633.8,
        "e2eLatencyMs": 1958.6,
        "source": SOURCE,
        "createdAt": run["createdAt"],
        "model": {"name": LLAMA_8B},
    }

    newest = (await gql_data(client, LIST, first=1))["benchmarkRuns"]
    assert newest["edges"][0]["node"] == {
        "id": run["id"],
        "concurrency": 16,
        "tpotMs": 9.6,
        "gpuType": "H100-SXM",
        "source": SOURCE,
        "model": {"name": LLAMA_8B},
    }


async def test_runs_of_a_model_come_newest_first_and_page_without_gaps(client: httpx.AsyncClient) -> None:
    llama, _ = await fresh_llama(client)
    for concurrency in SWEEP:  # 1, 2, 4, 8, 16 in recording order
        assert (await record(client, measured_run(llama, concurrency)))["__typename"] == "BenchmarkRun"

    seen: list[int] = []
    after = None
    pages = 0
    while True:
        page = (await gql_data(client, LIST, first=2, after=after, modelId=llama))["benchmarkRuns"]
        pages += 1
        assert page["totalCount"] == 5
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [edge["node"]["concurrency"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [16, 8, 4, 2, 1]
    assert pages == 3


async def test_a_gpu_is_stored_by_its_catalog_name_whatever_it_was_called(client: httpx.AsyncClient) -> None:
    llama = await model_id(client, LLAMA_8B)
    run = await record(client, measured_run(llama, gpuType="h100_sxm"))
    assert run["gpuType"] == "H100-SXM"


async def test_tensor_and_pipeline_parallel_runs_keep_their_layout(client: httpx.AsyncClient) -> None:
    """Llama-3.1-70B in FP8 on two data-parallel copies of TP 4 x PP 2: sixteen H100s in all."""
    llama_70b = await model_id(client, "meta-llama/Llama-3.1-70B-Instruct")
    run = await record(
        client,
        {
            "modelId": llama_70b,
            "gpuType": "H100-SXM",
            "gpuCount": 16,
            "tensorParallelSize": 4,
            "pipelineParallelSize": 2,
            "weightDtype": "FP8",
            "kvCacheDtype": "FP8",
            "engine": "TRTLLM",
            "workload": {"inputTokens": 2048, "outputTokens": 512, "concurrency": 64},
            "ttftMs": 210.0,
            "tpotMs": 24.5,
            "outputTokensPerS": 2380.0,
            "source": "https://example.org/benchmarks/llama-3.1-70b-fp8-h100-trtllm (our nightly run #412)",
        },
    )
    assert run["__typename"] == "BenchmarkRun", run
    layout = (run["gpuCount"], run["tensorParallelSize"], run["pipelineParallelSize"])
    assert layout == (16, 4, 2)
    assert (run["weightDtype"], run["kvCacheDtype"], run["engine"]) == ("FP8", "FP8", "TRTLLM")
    assert run["e2eLatencyMs"] is None
    assert run["engineVersion"] is None


async def test_training_reads_every_run_with_its_model_in_recorded_order(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    llama, name = await fresh_llama(client)
    first = await record(client, measured_run(llama, 1))
    second = await record(client, measured_run(llama, 16))

    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        pairs = await queries.benchmark_runs_for_training(session)

    ours = [(str(run.id), model.name, run.concurrency) for run, model in pairs if model.name == name]
    assert ours == [(first["id"], name, 1), (second["id"], name, 16)]
    created = [run.created_at for run, _ in pairs]
    assert created == sorted(created)
    assert all(run.model_id == model.id for run, model in pairs)


TOTAL_NOT_OUTPUT = 1633.8 * 6  # (1000 + 200) / 200: the input + output figure some tools print first


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"modelId": "not-an-id"}, "input.modelId"),
        ({"gpuType": "RTX-4090"}, "input.gpuType"),
        ({"gpuType": "  "}, "input.gpuType"),
        ({"gpuCount": 0}, "input.gpuCount"),
        ({"gpuCount": 6, "tensorParallelSize": 4}, "input.gpuCount"),
        ({"tensorParallelSize": 0}, "input.tensorParallelSize"),
        ({"gpuCount": 4, "tensorParallelSize": 8}, "input.tensorParallelSize"),
        ({"gpuCount": 4, "tensorParallelSize": 4, "pipelineParallelSize": 2}, "input.pipelineParallelSize"),
        ({"engineVersion": " "}, "input.engineVersion"),
        ({"workload": {"inputTokens": 1000, "outputTokens": 200}}, "input.workload.concurrency"),  # no load
        (
            {"workload": {"inputTokens": 1000, "outputTokens": 200, "concurrency": 16, "requestRate": 8}},
            "input.workload.requestRate",
        ),
        ({"workload": {"inputTokens": 1000, "outputTokens": 200, "concurrency": 0}}, "input.workload.concurrency"),
        ({"workload": {"inputTokens": 1000, "outputTokens": 200, "concurrency": 2.5}}, "input.workload.concurrency"),
        ({"workload": {"inputTokens": 0, "outputTokens": 200, "concurrency": 16}}, "input.workload.inputTokens"),
        ({"workload": {"inputTokens": 1000, "outputTokens": 1, "concurrency": 16}}, "input.workload.outputTokens"),
        ({"ttftMs": 0}, "input.ttftMs"),
        ({"ttftMs": 2500.0}, "input.ttftMs"),  # the first token after the whole request (e2e 1958.6 ms)
        ({"tpotMs": -9.6}, "input.tpotMs"),
        ({"tpotMs": 96.0}, "input.tpotMs"),  # 199 gaps of 96 ms are 19 s, in a 2 s request
        ({"outputTokensPerS": 0}, "input.outputTokensPerS"),
        ({"outputTokensPerS": TOTAL_NOT_OUTPUT}, "input.outputTokensPerS"),  # beyond 16 streams at 9.6 ms/token
        ({"e2eLatencyMs": -1958.6}, "input.e2eLatencyMs"),
        ({"source": ""}, "input.source"),
        ({"source": "   "}, "input.source"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_bad_runs_are_validation_errors_naming_the_field_and_write_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, changes: dict[str, Any], field: str
) -> None:
    run = measured_run(await model_id(client, LLAMA_8B), **changes)
    before = await row_counts(engine)
    result = await record(client, run)
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == field
    assert result["message"]
    assert await row_counts(engine) == before


async def test_a_run_of_an_unknown_model_is_not_found_and_writes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    before = await row_counts(engine)
    result = await record(client, measured_run(missing))
    assert result == {"__typename": "NotFoundError", "id": missing, "entity": "Model"}
    assert await row_counts(engine) == before


@pytest.mark.parametrize(
    ("arguments", "field"),
    [('modelId: "zzz"', "modelId"), ('after: "not-a-cursor"', "after"), ("first: 0", "first")],
)
async def test_malformed_list_arguments_name_the_argument(
    client: httpx.AsyncClient, arguments: str, field: str
) -> None:
    body = await gql(client, f"{{ benchmarkRuns({arguments}) {{ totalCount }} }}")
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_recorded_runs_join_the_regressors_training_data(
    client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    """`budsim train` and start-up training read these rows: one replica's share of a data-parallel run each."""
    tag = unique("two replicas")
    ttft, tpot, _, tokens_per_s = SWEEP[16]
    two_copies = measured_run(
        await model_id(client, LLAMA_8B),
        gpuCount=2,
        workload={"inputTokens": 1000, "outputTokens": 200, "concurrency": 32},
        outputTokensPerS=2 * tokens_per_s,
        source=f"{SOURCE}; {tag}",
    )
    assert (await record(client, two_copies))["__typename"] == "BenchmarkRun"

    stored = await fetch_stored_runs(database_url)
    [mine] = [run for run in stored.runs if run.source.endswith(tag)]
    assert (mine.model, mine.gpu, mine.gpu_count, mine.tp, mine.precision) == (LLAMA_8B, "H100-SXM", 1, 1, "BF16")
    assert mine.concurrency == 16
    assert mine.measured == pytest.approx((tokens_per_s, ttft, tpot))
    assert mine.source.startswith("benchmark_runs/")
    assert LLAMA_8B in stored.architectures

    sample = tmp_path / "sample.csv"
    with DEFAULT_CSV.open() as full:
        sample.write_text("".join(line for _, line in zip(range(41), full, strict=False)))
    alone = load_dataset(sample)
    report = train_from_csv(
        sample, tmp_path / "residual.json", logo=False, stored=StoredRuns((mine,), stored.architectures)
    )
    assert report.rows == len(alone.groups) + 1
    manifest = json.loads(report.manifest_path.read_text())
    assert manifest["stored_runs"] == 1
    assert manifest["dataset_sha256"] != hashlib.sha256(sample.read_bytes()).hexdigest()
