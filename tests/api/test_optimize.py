"""The `optimize` mutation: a searched recommendation, stored as a Simulation, honest when targets cannot be met."""

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.helpers import model_id, profile_id, row_counts
from tests.conftest import gql_data

OPTIMIZE = """
mutation Optimize($input: OptimizeInput!) {
  optimize(input: $input) {
    __typename
    ... on OptimizationJob {
      id status
      result {
        optimalConfig { tensorParallelSize pipelineParallelSize replicas maxNumSeqs weightDtype gpuType
                        hardwareProfileId vllmArgs launchCommand totalGpus }
        predictedMetrics { ttftP99Ms e2eLatencyP99Ms outputTokensPerS costPerHour }
        paretoFront { config { tensorParallelSize replicas gpuType }
                      metrics { outputTokensPerS costPerHour p10 { outputTokensPerS } p90 { outputTokensPerS } } }
        confidence confidenceLevel confidenceReasons { kind factor message measure }
        meetsTargets bindingTargets { target required achieved } pickReason
        evaluations generations elapsedMs simulation { id }
      }
    }
    ... on ValidationError { field message }
    ... on NotFoundError { entity id }
  }
}
"""
LLAMA_70B = "meta-llama/Llama-3.1-70B-Instruct"


async def optimize(client: httpx.AsyncClient, profiles: list[str], **extra: Any) -> dict[str, Any]:
    payload = {
        "modelId": await model_id(client, LLAMA_70B),
        "hardwareProfileIds": [await profile_id(client, name) for name in profiles],
        **extra,
    }
    return (await gql_data(client, OPTIMIZE, input=payload))["optimize"]


async def test_optimize_returns_a_feasible_pick_on_the_pareto_front(client: httpx.AsyncClient) -> None:
    job = await optimize(client, ["H100-SXM x8", "A100-80GB-SXM x8"], targets={"maxTtftMs": 2000})
    assert job["__typename"] == "OptimizationJob"
    assert job["status"] == "SUCCEEDED"
    result = job["result"]
    assert result["meetsTargets"] is True
    assert result["bindingTargets"] == []
    assert result["pickReason"].startswith("It meets every target at the lowest cost per million output tokens")
    config = result["optimalConfig"]
    assert config["gpuType"] in {"H100-SXM", "A100-80GB-SXM"}
    assert config["totalGpus"] <= 8
    assert config["vllmArgs"].startswith(
        f"vllm serve {LLAMA_70B} --tensor-parallel-size {config['tensorParallelSize']}"
    )
    assert config["launchCommand"].startswith(config["vllmArgs"] + "  # ")
    assert result["predictedMetrics"]["ttftP99Ms"] <= 2000
    assert result["paretoFront"]
    assert all(point["metrics"]["outputTokensPerS"] > 0 for point in result["paretoFront"])
    for point in result["paretoFront"]:
        metrics = point["metrics"]
        assert metrics["p10"]["outputTokensPerS"] <= metrics["outputTokensPerS"] <= metrics["p90"]["outputTokensPerS"]
    assert result["evaluations"] > 50
    assert 0 < result["confidence"] <= 1

    stored = await gql_data(
        client, "query($id: ID!) { simulation(id: $id) { method config { replicas } } }", id=result["simulation"]["id"]
    )
    assert stored["simulation"] == {"method": "REGRESSOR", "config": {"replicas": config["replicas"]}}


@pytest.mark.parametrize(
    ("engine", "command"),
    [("SGLANG", "python3 -m sglang.launch_server --model-path"), ("TRTLLM", "trtllm-serve")],
)
async def test_the_launch_command_is_the_chosen_engines_and_vllm_args_only_vllms(
    client: httpx.AsyncClient, engine: str, command: str
) -> None:
    job = await optimize(client, ["H100-SXM x8"], engine=engine, method="HEURISTIC")
    config = job["result"]["optimalConfig"]
    assert config["launchCommand"].startswith(f"{command} {LLAMA_70B}" if engine == "TRTLLM" else command)
    assert "vllm serve" not in config["launchCommand"]
    assert config["vllmArgs"] is None
    replicas = config["replicas"]
    assert f"# {replicas} replica" in config["launchCommand"]


async def test_the_same_request_gives_the_same_answer(client: httpx.AsyncClient) -> None:
    first = await optimize(client, ["H100-SXM x8"], seed=7)
    second = await optimize(client, ["H100-SXM x8"], seed=7)
    assert first["result"]["optimalConfig"] == second["result"]["optimalConfig"]


async def test_unmeetable_targets_name_the_binding_target_and_the_closest_config(client: httpx.AsyncClient) -> None:
    job = await optimize(client, ["H100-SXM x8"], targets={"maxTtftMs": 1, "maxCostPerHour": 100})
    result = job["result"]
    assert result["meetsTargets"] is False
    assert result["optimalConfig"] is not None  # the closest config, never an empty success
    binding = {b["target"]: b for b in result["bindingTargets"]}
    assert binding["max_ttft_ms"]["required"] == 1
    assert binding["max_ttft_ms"]["achieved"] > 1
    # A miss is said by meetsTargets and bindingTargets; the nearest miss's confidence is its own, not 0.
    assert 0 < result["confidence"] <= 1
    assert result["confidenceLevel"] in {"PRODUCTION_READY", "VALIDATE_IN_STAGING", "NEEDS_MORE_DATA"}
    assert result["pickReason"].startswith("No config scored meets every target")


async def test_high_availability_and_gpu_limits_are_honoured(client: httpx.AsyncClient) -> None:
    constraints = {"requireHighAvailability": True, "maxGpusPerReplica": 4, "allowedGpuTypes": ["H100-SXM"]}
    job = await optimize(client, ["H100-SXM x8", "A100-80GB-SXM x8"], constraints=constraints)
    config = job["result"]["optimalConfig"]
    assert config["replicas"] >= 2
    assert config["tensorParallelSize"] * config["pipelineParallelSize"] <= 4
    assert config["gpuType"] == "H100-SXM"


@pytest.mark.parametrize(
    ("allowed", "expected"),
    [
        (["H100"], {"H100-SXM", "H100-PCIe"}),  # a family as the user guide spells it: every variant
        (["a100"], {"A100-80GB-SXM"}),
        (["H100-PCIe"], {"H100-PCIe"}),  # an exact catalog name: that GPU only
        (["h100_sxm", "A100"], {"H100-SXM", "A100-80GB-SXM"}),
    ],
)
async def test_allowed_gpu_types_take_families_and_catalog_names(
    client: httpx.AsyncClient, allowed: list[str], expected: set[str]
) -> None:
    profiles = ["H100-SXM x8", "H100-PCIe x8", "A100-80GB-SXM x8"]
    job = await optimize(client, profiles, constraints={"allowedGpuTypes": allowed}, method="HEURISTIC")
    assert job["__typename"] == "OptimizationJob", job
    picked = {job["result"]["optimalConfig"]["gpuType"]} | {
        m["config"]["gpuType"] for m in job["result"]["paretoFront"]
    }
    assert picked <= expected


async def test_an_unknown_gpu_type_is_refused_listing_the_accepted_names(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    before = await row_counts(engine)
    job = await optimize(client, ["H100-SXM x8"], constraints={"allowedGpuTypes": ["H100", "TPU-v5"]})
    assert job["__typename"] == "ValidationError", job
    assert job["field"] == "input.constraints.allowedGpuTypes"
    assert "'TPU-v5'" in job["message"]
    for accepted in ("H100", "A100", "L40S", "H200", "B200", "MI300X", "H100-SXM", "A100-80GB-SXM"):
        assert accepted in job["message"]
    assert await row_counts(engine) == before


async def test_a_known_family_no_profile_has_is_still_refused(client: httpx.AsyncClient) -> None:
    job = await optimize(client, ["H100-SXM x8"], constraints={"allowedGpuTypes": ["MI300X"]})
    assert (job["__typename"], job["field"]) == ("ValidationError", "input.constraints.allowedGpuTypes")
    assert "none of the hardware profiles" in job["message"]


async def test_heuristic_method_plans_without_searching(client: httpx.AsyncClient) -> None:
    job = await optimize(client, ["H100-SXM x8"], method="HEURISTIC")
    assert job["result"]["generations"] == 0
    assert job["result"]["optimalConfig"]["tensorParallelSize"] in {2, 4, 8}
    # The plan is scored exactly as planned (its max_num_seqs is below the search grid's smallest option), so the
    # memory it checked is the memory it gets: no target is set and the plan fits, so the targets are met.
    assert job["result"]["meetsTargets"] is True
    assert job["result"]["bindingTargets"] == []


async def test_regressor_confidence_reflects_how_near_the_measured_data_the_pick_is(client: httpx.AsyncClient) -> None:
    """H100 runs of Llama-3.1-70B are in the training data; A100 runs of anything are not."""
    measured = (await optimize(client, ["H100-SXM x8"]))["result"]
    unmeasured = (await optimize(client, ["A100-80GB-SXM x8"]))["result"]
    heuristic = (await optimize(client, ["H100-SXM x8"], method="HEURISTIC"))["result"]
    assert measured["meetsTargets"]
    assert unmeasured["meetsTargets"]
    assert 0 < unmeasured["confidence"] < measured["confidence"] <= 1
    assert heuristic["confidence"] == 0.6  # the analytical model alone on a measured GPU
    assert heuristic["confidenceLevel"] == "NEEDS_MORE_DATA"
    assert [r["kind"] for r in heuristic["confidenceReasons"]] == ["NO_REGRESSOR"]
    assert heuristic["confidenceReasons"][0]["factor"] == 0.6
    # A100 runs are absent from the training data: the answer says so, and what to record
    unseen = {r["kind"]: r for r in unmeasured["confidenceReasons"]}
    assert unseen["UNSEEN_GPU"]["message"] == "No measured run on A100-80GB-SXM"
    assert "recordBenchmark" in unseen["UNSEEN_GPU"]["measure"]
    factors = [r["factor"] for r in unmeasured["confidenceReasons"]]
    assert factors == sorted(factors)  # worst first
    assert "UNSEEN_GPU" not in {r["kind"] for r in measured["confidenceReasons"]}


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"targets": {"maxTtftMs": -5}}, "input.targets.maxTtftMs"),
        ({"constraints": {"maxReplicas": 0}}, "input.constraints.maxReplicas"),
        ({"constraints": {"allowedGpuTypes": ["TPU"]}}, "input.constraints.allowedGpuTypes"),
        ({"workload": {"inputTokens": 10, "outputTokens": 10}}, "input.workload"),
        ({"hardwareProfileIds": []}, "input.hardwareProfileIds"),
        ({"hardwareProfileIds": ["nope"]}, "input.hardwareProfileIds[0]"),
    ],
)
async def test_bad_optimize_input_is_a_validation_error_and_writes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, extra: dict[str, Any], field: str
) -> None:
    before = await row_counts(engine)
    job = await optimize(client, ["H100-SXM x8"], **extra)
    assert job["__typename"] == "ValidationError", job
    assert job["field"] == field
    assert await row_counts(engine) == before
