"""validateSimulation: a stored prediction against a measurement of its deployment, per metric, with the
measurement stored as a benchmark run tied to the simulation."""

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.helpers import row_counts, simulate
from tests.api.test_benchmarks import LLAMA_8B
from tests.conftest import gql_data

VALIDATE = """
mutation($id: ID!, $measured: MeasuredMetricsInput!) {
  validateSimulation(simulationId: $id, measured: $measured) {
    __typename
    ... on ValidationReport {
      simulation { id }
      run { id simulationId hardwareProfileId gpuType gpuCount concurrency ttftMs tpotMs ttftP99Ms source
            model { name } }
      metrics { metric predicted measured errorPercent withinInterval }
    }
    ... on ValidationError { field message }
    ... on NotFoundError { id entity }
  }
}
"""
INTERVAL = "query($id: ID!) { simulation(id: $id) { metrics { p10 { tpotMs ttftP99Ms } p90 { tpotMs ttftP99Ms } } } }"
SOURCE = "staging, vllm bench serve --max-concurrency 16, 2026-12-07"


async def validate(client: httpx.AsyncClient, simulation: str, **measured: Any) -> dict[str, Any]:
    result = await gql_data(client, VALIDATE, id=simulation, measured={"source": SOURCE, **measured})
    return dict(result["validateSimulation"])


async def test_each_measured_metric_is_compared_and_the_run_is_stored_for_the_simulation(
    client: httpx.AsyncClient,
) -> None:
    sim = await simulate(client, LLAMA_8B, "H100-SXM x8", method="REGRESSOR")
    assert sim["__typename"] == "Simulation", sim
    predicted = sim["metrics"]
    interval = (await gql_data(client, INTERVAL, id=sim["id"]))["simulation"]["metrics"]
    assert interval["p10"] is not None, "the regressor stores an interval"
    measured_ttft = predicted["ttftMeanMs"] * 1.25  # 25% slower than predicted
    inside_tpot = (interval["p10"]["tpotMs"] + interval["p90"]["tpotMs"]) / 2
    outside_ttft_p99 = interval["p90"]["ttftP99Ms"] * 2

    report = await validate(client, sim["id"], ttftMs=measured_ttft, tpotMs=inside_tpot, ttftP99Ms=outside_ttft_p99)

    assert report["__typename"] == "ValidationReport", report
    assert report["simulation"] == {"id": sim["id"]}
    run = report["run"]
    assert run["simulationId"] == sim["id"]
    assert (run["gpuType"], run["gpuCount"], run["concurrency"]) == ("H100-SXM", sim["config"]["totalGpus"], 16)
    assert (run["ttftMs"], run["tpotMs"], run["model"]["name"], run["source"]) == (
        measured_ttft,
        inside_tpot,
        LLAMA_8B,
        SOURCE,
    )
    ttft, ttft_p99, tpot = report["metrics"]  # in the order MeasuredMetricsInput lists them
    assert ttft["metric"] == "ttftMs"
    assert ttft["predicted"] == predicted["ttftMeanMs"]
    assert ttft["errorPercent"] == pytest.approx(-20.0, abs=0.01)  # predicted = measured / 1.25
    assert (tpot["metric"], tpot["withinInterval"]) == ("tpotMs", True)
    assert (ttft_p99["metric"], ttft_p99["withinInterval"], ttft_p99["measured"]) == (
        "ttftP99Ms",
        False,
        outside_ttft_p99,
    )


@pytest.mark.parametrize(
    ("simulation", "measured", "field"),
    [
        ("zzz", {"ttftMs": 50.0}, "simulationId"),
        (None, {}, "measured.ttftMs"),  # nothing measured
        (None, {"ttftMs": -1.0}, "measured.ttftMs"),
        (None, {"ttftP50Ms": 80.0, "ttftP99Ms": 60.0}, "measured.ttftP50Ms"),
    ],
)
async def test_a_bad_measurement_is_a_validation_error_and_stores_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, simulation: str | None, measured: dict[str, Any], field: str
) -> None:
    sim = await simulate(client, LLAMA_8B, "H100-SXM x8")
    before = await row_counts(engine)
    report = await validate(client, simulation or sim["id"], **measured)
    assert (report["__typename"], report["field"]) == ("ValidationError", field)
    assert await row_counts(engine) == before


async def test_an_unknown_simulation_is_not_found(client: httpx.AsyncClient) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    report = await validate(client, missing, ttftMs=50.0)
    assert report == {"__typename": "NotFoundError", "id": missing, "entity": "Simulation"}
