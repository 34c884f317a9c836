"""importBenchmarkResults: a tool's result file stored as runs on a hardware profile, the model found by name from
the file or given, and refused whole, naming where, when any run is wrong. Fixtures: tests/fixtures/benchmarks."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.helpers import model_id, profile_id, row_counts
from tests.api.test_benchmarks import LLAMA_8B
from tests.conftest import gql_data

FIXTURES = Path(__file__).parent.parent / "fixtures" / "benchmarks"
IMPORT = """
mutation($format: BenchmarkFormat!, $content: String!, $profile: ID!, $model: ID, $config: DeploymentConfigInput,
         $source: String) {
  importBenchmarkResults(format: $format, content: $content, hardwareProfileId: $profile, modelId: $model,
                         config: $config, source: $source) {
    __typename
    ... on RecordedBenchmarkRuns {
      count
      runs { gpuType gpuCount tensorParallelSize engine inputTokens outputTokens concurrency requestRate ttftMs
             ttftP99Ms tpotMs outputTokensPerS e2eP99Ms hardwareProfileId source model { name } }
    }
    ... on ValidationError { field message }
    ... on NotFoundError { id entity }
  }
}
"""


async def import_file(client: httpx.AsyncClient, format: str, content: str, **variables: Any) -> dict[str, Any]:
    result = await gql_data(client, IMPORT, format=format, content=content, **variables)
    return dict(result["importBenchmarkResults"])


async def test_a_vllm_file_is_stored_for_the_model_it_names_on_the_profile(client: httpx.AsyncClient) -> None:
    h100 = await profile_id(client, "H100-SXM x8")
    content = (FIXTURES / "vllm_serve_c16.json").read_text()
    result = await import_file(client, "VLLM", content, profile=h100, source="platform team, nightly run 7")
    assert result["__typename"] == "RecordedBenchmarkRuns", result
    assert result["runs"] == [
        {
            "gpuType": "H100-SXM",
            "gpuCount": 1,  # no config: one GPU
            "tensorParallelSize": 1,
            "engine": "VLLM",
            "inputTokens": 1000,
            "outputTokens": 200,
            "concurrency": 16,
            "requestRate": None,
            "ttftMs": 48.2,
            "ttftP99Ms": 88.4,
            "tpotMs": 9.6,
            "outputTokensPerS": 1633.8,
            "e2eP99Ms": 2210.3,
            "hardwareProfileId": h100,
            "source": "platform team, nightly run 7 (the file)",
            "model": {"name": LLAMA_8B},
        }
    ]


async def test_sglang_lines_take_the_given_model_engine_and_tensor_parallel_layout(client: httpx.AsyncClient) -> None:
    h100 = await profile_id(client, "H100-SXM x8")
    content = (FIXTURES / "sglang_bench_serving.jsonl").read_text()
    result = await import_file(
        client,
        "SGLANG",
        content,
        profile=h100,
        model=await model_id(client, LLAMA_8B),
        config={"tensorParallelSize": 2, "replicas": 2},
    )
    assert result["count"] == 2
    assert [(r["requestRate"], r["concurrency"], r["gpuCount"], r["engine"]) for r in result["runs"]] == [
        (4.0, None, 4, "SGLANG"),
        (8.0, None, 4, "SGLANG"),
    ]
    assert result["runs"][1]["source"] == "imported from a SGLANG result file (line 2)"


async def test_a_guidellm_report_is_a_run_per_benchmark(client: httpx.AsyncClient) -> None:
    h100 = await profile_id(client, "H100-SXM x8")
    result = await import_file(client, "GUIDELLM", (FIXTURES / "guidellm_report.json").read_text(), profile=h100)
    assert [(r["concurrency"], r["tpotMs"], r["model"]["name"]) for r in result["runs"]] == [
        (1, 6.9, LLAMA_8B),
        (8, 8.0, LLAMA_8B),
    ]


def vllm_with(**changes: object) -> str:
    return json.dumps(json.loads((FIXTURES / "vllm_serve_c16.json").read_text()) | changes)


@pytest.mark.parametrize(
    ("content", "variables", "field", "says"),
    [
        (vllm_with(model_id="acme/unregistered-7b"), {}, "modelId", "not a registered model"),
        (vllm_with(model_id=None), {}, "modelId", "names no model"),
        (vllm_with(max_concurrency=None), {}, "content", "burst"),
        (vllm_with(mean_ttft_ms=2500.0), {}, "content[0].ttftMs", "cannot take as long as the request"),
        (vllm_with(output_throughput=9802.8), {}, "content[0].outputTokensPerS", "input + output"),
        (vllm_with(), {"model": "zzz"}, "modelId", "not a valid id"),
        (vllm_with(), {"config": {"tensorParallelSize": 0}}, "config.tensorParallelSize", "at least 1"),
        (vllm_with(), {"config": {"tensorParallelSize": 16}}, "content[0].gpuCount", "has 8 GPUs"),
        (vllm_with(), {"source": " "}, "source", "blank"),
    ],
)
async def test_a_file_with_a_bad_run_is_refused_whole_naming_where(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    content: str,
    variables: dict[str, Any],
    field: str,
    says: str,
) -> None:
    h100 = await profile_id(client, "H100-SXM x8")
    before = await row_counts(engine)
    result = await import_file(client, "VLLM", content, profile=h100, **variables)
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == field
    assert says in result["message"]
    assert await row_counts(engine) == before


async def test_an_unknown_profile_is_not_found(client: httpx.AsyncClient) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    result = await import_file(client, "VLLM", vllm_with(), profile=missing)
    assert result == {"__typename": "NotFoundError", "id": missing, "entity": "HardwareProfile"}
