"""The `simulate` mutation: one HEURISTIC prediction, stored as a Simulation, with typed errors for bad input."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from budsim.app import create_app
from budsim.core.calibration import NO_REGRESSOR
from budsim.core.predictors import ActiveRegressor
from budsim.db import migrate
from budsim.settings import Settings
from tests.api.helpers import CHAT, SIMULATE, model_id, profile_id, row_counts, simulate, unique
from tests.conftest import gql_data

INTERVAL = """
query($id: ID!) {
  simulation(id: $id) {
    metrics { ttftP99Ms outputTokensPerS e2eLatencyMeanMs requestsPerS
              p10 { ttftP99Ms outputTokensPerS } p90 { ttftP99Ms outputTokensPerS } }
  }
}
"""


@pytest.mark.parametrize("method", ["HEURISTIC", "REGRESSOR"])
async def test_a_simulation_states_each_metrics_interval_and_keeps_it(client: httpx.AsyncClient, method: str) -> None:
    result = await simulate(client, "meta-llama/Llama-3.1-70B-Instruct", "H100-SXM x8", method=method)
    stored = (await gql_data(client, INTERVAL, id=result["id"]))["simulation"]["metrics"]
    for name in ("ttftP99Ms", "outputTokensPerS"):
        assert stored["p10"][name] < stored[name] < stored["p90"][name]
    # A closed loop's clients each hold one request: requests/s x mean latency = concurrency.
    assert stored["requestsPerS"] * stored["e2eLatencyMeanMs"] / 1e3 == pytest.approx(16, rel=1e-3)


async def test_heuristic_picks_one_gpu_for_an_8b_model_and_stores_the_simulation(client: httpx.AsyncClient) -> None:
    result = await simulate(client, "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM x1")

    assert result["__typename"] == "Simulation"
    assert result["method"] == "HEURISTIC"
    assert result["engine"] == "VLLM"
    config = result["config"]
    assert (config["tensorParallelSize"], config["pipelineParallelSize"], config["replicas"]) == (1, 1, 1)
    assert config["weightDtype"] == config["kvCacheDtype"] == "BF16"
    assert config["gpuMemoryUtilization"] == 0.9
    memory = result["memory"]
    assert memory["fits"] is True
    assert memory["weightsGbPerGpu"] == pytest.approx(16.06, rel=0.01)  # 8.03B parameters x 2 bytes
    assert memory["kvCacheTokens"] > 16 * 1200  # room for every request in flight
    metrics = result["metrics"]
    assert 0 < metrics["ttftP50Ms"] <= metrics["ttftP99Ms"]
    assert metrics["ttftP99Ms"] < metrics["e2eLatencyP99Ms"]
    assert metrics["outputTokensPerS"] == pytest.approx(metrics["requestsPerS"] * 200, rel=0.01)
    assert metrics["costPerHour"] == 2.99
    assert metrics["costPerMillionTokens"] == pytest.approx(2.99 / (metrics["outputTokensPerS"] * 3600) * 1e6, rel=0.01)
    assert 0 < result["confidence"] < 0.7  # analytical only: "validate in staging"
    assert result["workload"] == {"inputTokens": 1000, "outputTokens": 200, "concurrency": 16.0, "requestRate": None}
    assert result["model"] == {"name": "meta-llama/Llama-3.1-8B-Instruct"}

    stored = await gql_data(
        client, "query($id: ID!) { simulation(id: $id) { config { totalGpus } metrics { tpotMs } } }", id=result["id"]
    )
    assert stored["simulation"] == {"config": {"totalGpus": 1}, "metrics": {"tpotMs": metrics["tpotMs"]}}


async def test_regressor_corrects_the_same_plan_and_trusts_a_measured_pair_more(client: httpx.AsyncClient) -> None:
    """REGRESSOR keeps the HEURISTIC plan but scales its metrics by the learned correction, and says how sure it is."""
    model, measured, unmeasured = "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM x1", "A100-80GB-SXM x1"
    heuristic = await simulate(client, model, measured)
    regressor = await simulate(client, model, measured, method="REGRESSOR")
    assert regressor["method"] == "REGRESSOR"
    assert regressor["config"] == heuristic["config"]
    assert regressor["warnings"] == heuristic["warnings"]
    for name in ("ttftMeanMs", "tpotMs", "outputTokensPerS"):
        ratio = regressor["metrics"][name] / heuristic["metrics"][name]
        assert 1 / 3 <= ratio <= 3  # the correction is clamped to ln 3 either way
    assert regressor["metrics"] != heuristic["metrics"]
    corrected = regressor["metrics"]
    assert corrected["ttftP50Ms"] <= corrected["ttftP99Ms"] < corrected["e2eLatencyP99Ms"]
    assert corrected["outputTokensPerS"] == pytest.approx(corrected["requestsPerS"] * 200, rel=0.01)
    assert corrected["costPerMillionTokens"] == pytest.approx(
        2.99 / (corrected["outputTokensPerS"] * 3600) * 1e6, rel=0.01
    )
    assert regressor["confidence"] > heuristic["confidence"]

    elsewhere = await simulate(client, model, unmeasured, method="REGRESSOR")
    assert 0 < elsewhere["confidence"] < regressor["confidence"]


async def test_a_simulation_on_a_gpu_the_benchmarks_lack_says_so_and_what_to_record(
    client: httpx.AsyncClient,
) -> None:
    """data/benchmarks.csv measures H100-SXM, H200-SXM, B200, B300 and GB200 only: an A100 answer is not
    production ready, and its reasons name the GPU and the run that would raise it."""
    answer = await simulate(client, "meta-llama/Llama-3.1-8B-Instruct", "A100-80GB-SXM x1", method="REGRESSOR")
    assert answer["confidenceLevel"] in {"NEEDS_MORE_DATA", "VALIDATE_IN_STAGING"}
    reasons = {reason["kind"]: reason for reason in answer["confidenceReasons"]}
    assert reasons["UNSEEN_GPU"] == {
        "kind": "UNSEEN_GPU",
        "factor": 0.8,  # core.predictors.confidence.UNSEEN_GPU
        "message": "No measured run on A100-80GB-SXM",
        "measure": "Record a run of this model on A100-80GB-SXM with recordBenchmark",
    }
    factors = [reason["factor"] for reason in answer["confidenceReasons"]]
    assert factors == sorted(factors)
    stored = await gql_data(
        client,
        "query($id: ID!) { simulation(id: $id) { confidenceLevel confidenceReasons { kind } } }",
        id=answer["id"],
    )
    assert stored["simulation"]["confidenceLevel"] == answer["confidenceLevel"]
    assert [r["kind"] for r in stored["simulation"]["confidenceReasons"]] == list(reasons)


CREATE_PROFILE = """
mutation($input: CreateHardwareProfileInput!) {
  createHardwareProfile(input: $input) { ... on HardwareProfile { id } ... on ValidationError { field message } }
}
"""


@pytest.mark.parametrize("method", ["HEURISTIC", "REGRESSOR"])
async def test_a_custom_gpu_is_never_measured_and_the_answer_says_so(client: httpx.AsyncClient, method: str) -> None:
    gpu = unique("Accel")  # a GPU of the user's own: no shipped benchmark can have measured it
    created = await gql_data(
        client,
        CREATE_PROFILE,
        input={
            "name": unique("custom"),
            "gpuType": gpu,
            "gpuCount": 1,
            "gpuMemoryGb": 96,
            "specs": {"bf16_tflops": 900, "memory_bandwidth_gbs": 4000},
            "costPerGpuHour": 2.0,
        },
    )
    profile = created["createHardwareProfile"]["id"]
    payload = {
        "modelId": await model_id(client, "meta-llama/Llama-3.1-8B-Instruct"),
        "hardwareProfileId": profile,
        "workload": CHAT,
        "method": method,
    }
    answer = (await gql_data(client, SIMULATE, input=payload))["simulate"]
    assert answer["confidenceLevel"] in {"NEEDS_MORE_DATA", "VALIDATE_IN_STAGING"}
    unseen = [r for r in answer["confidenceReasons"] if r["kind"] == "UNSEEN_GPU"]
    assert [r["message"] for r in unseen] == [f"No measured run on {gpu}"]


async def test_a_model_that_cannot_fit_says_by_how_many_gb(client: httpx.AsyncClient) -> None:
    result = await simulate(client, "meta-llama/Llama-3.1-70B-Instruct", "H100-SXM x1")
    assert result["__typename"] == "Simulation"
    assert result["memory"]["fits"] is False
    assert result["confidence"] == 0
    assert any("GB more per GPU" in warning for warning in result["warnings"])


async def test_fixed_config_fields_are_respected(client: httpx.AsyncClient) -> None:
    config = {"tensorParallelSize": 4, "maxNumSeqs": 64, "weightDtype": "FP8", "kvCacheDtype": "FP8"}
    result = await simulate(client, "meta-llama/Llama-3.1-70B-Instruct", "H100-SXM x8", config=config)
    chosen = result["config"]
    assert (chosen["tensorParallelSize"], chosen["maxNumSeqs"], chosen["replicas"]) == (4, 64, 2)
    assert chosen["weightDtype"] == "FP8"
    # 68.45B linear parameters at 1 byte over 4 GPUs, plus 16-bit embedding and lm_head shards (2 x 1.05B x 2 B / 4)
    assert result["memory"]["weightsGbPerGpu"] == pytest.approx((70.55 - 2.10) / 4 + 1.05, rel=0.01)


async def test_engines_differ_for_the_same_deployment(client: httpx.AsyncClient) -> None:
    config = {"tensorParallelSize": 1}
    vllm = await simulate(client, "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM x1", config=config, engine="VLLM")
    trt = await simulate(client, "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM x1", config=config, engine="TRTLLM")
    assert trt["engine"] == "TRTLLM"
    assert trt["metrics"]["tpotMs"] != vllm["metrics"]["tpotMs"]


async def test_an_open_loop_rate_beyond_capacity_is_flagged_not_hidden(client: httpx.AsyncClient) -> None:
    workload = {"inputTokens": 1000, "outputTokens": 200, "requestRate": 1000}
    result = await simulate(client, "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM x1", workload)
    assert result["metrics"]["ttftP99Ms"] is None  # unbounded queues have no finite latency
    assert result["metrics"]["requestsPerS"] > 0  # but the deployment still delivers its capacity
    assert any("exceed the deployment's capacity" in warning for warning in result["warnings"])


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"config": {"tensorParallelSize": 3}}, "input.config.tensorParallelSize"),
        ({"config": {"tensorParallelSize": 8, "pipelineParallelSize": 2}}, "input.config.pipelineParallelSize"),
        ({"config": {"gpuMemoryUtilization": 1.5}}, "input.config.gpuMemoryUtilization"),
        ({"config": {"maxModelLen": 10_000_000}}, "input.config.maxModelLen"),
        ({"config": {"maxNumSeqs": 0}}, "input.config.maxNumSeqs"),
        ({"workload": {"inputTokens": 100, "outputTokens": 10}}, "input.workload"),
        ({"workload": {"inputTokens": 100, "outputTokens": 10, "concurrency": 1, "requestRate": 1}}, "input.workload"),
        ({"workload": {"inputTokens": -5, "outputTokens": 10, "concurrency": 1}}, "input.workload.inputTokens"),
        ({"workload": {"inputTokens": 5, "outputTokens": 10, "concurrency": -1}}, "input.workload.concurrency"),
        ({"modelId": "not-an-id"}, "input.modelId"),
    ],
)
async def test_impossible_inputs_are_validation_errors_and_write_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, extra: dict[str, Any], field: str
) -> None:
    payload = {
        "modelId": await model_id(client, "meta-llama/Llama-3.1-8B-Instruct"),
        "hardwareProfileId": await profile_id(client, "H100-SXM x8"),
        "workload": CHAT,
        **extra,
    }
    before = await row_counts(engine)
    result = (await gql_data(client, SIMULATE, input=payload))["simulate"]
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == field
    assert await row_counts(engine) == before


async def test_unknown_model_or_profile_is_not_found(client: httpx.AsyncClient) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    payload = {"modelId": missing, "hardwareProfileId": await profile_id(client, "H100-SXM x1"), "workload": CHAT}
    result = (await gql_data(client, SIMULATE, input=payload))["simulate"]
    assert result == {"__typename": "NotFoundError", "id": missing, "entity": "Model"}
    model = await model_id(client, "meta-llama/Llama-3.1-8B-Instruct")
    payload = {"modelId": model, "hardwareProfileId": missing, "workload": CHAT}
    result = (await gql_data(client, SIMULATE, input=payload))["simulate"]
    assert result == {"__typename": "NotFoundError", "id": missing, "entity": "HardwareProfile"}


async def test_a_corrupt_model_file_leaves_regressor_requests_to_the_analytical_model(tmp_path: Path) -> None:
    """The server still starts and answers; the answer says the regressor is missing instead of pretending."""
    url = f"sqlite+aiosqlite:///{tmp_path}/budsim.db"
    await migrate.upgrade_url(url)
    model_file = tmp_path / "residual.json"
    model_file.write_text("{not xgboost")
    app = create_app(Settings(database_url=url, model_path=model_file))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://budsim.test") as http,
    ):
        assert app.state.regressors.current == ActiveRegressor(None, None)
        result = await simulate(http, "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM x1", method="REGRESSOR")
        heuristic = await simulate(http, "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM x1")
    assert result["__typename"] == "Simulation"
    assert result["metrics"] == heuristic["metrics"]
    assert result["confidence"] == heuristic["confidence"]
    assert result["warnings"] == [NO_REGRESSOR]
