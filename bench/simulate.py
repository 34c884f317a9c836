"""Time one `simulate`: in-process per method (plan + analytical model, plus the regressor's correction for
REGRESSOR, with its nine boosters called one by one and merged into one call as the server's prediction process runs
them) and through the API (HTTP + SQLite write).

Run: .venv/bin/python bench/simulate.py [--repeats N]
"""

import argparse
import asyncio
import statistics
import tempfile
import time

import httpx
from timing import percentile, samples_seconds

from budsim.app import create_app
from budsim.cli.render import table
from budsim.core.architecture import ModelArchitecture, parse_hf_config
from budsim.core.catalog.fabrics import catalog_cluster
from budsim.core.catalog.gpus import find_gpu
from budsim.core.catalog.models import CATALOG_BY_ID
from budsim.core.deployment import Workload
from budsim.core.heuristic import PartialConfig
from budsim.core.predictors import ResidualRegressor
from budsim.core.simulation import simulate
from budsim.core.types import Engine
from budsim.db.migrate import upgrade_url
from budsim.regressor.training import load_or_train
from budsim.settings import Settings

MODELS = (
    "meta-llama/Llama-3.1-8B-Instruct",
    "meta-llama/Llama-3.1-70B-Instruct",
    "Qwen/Qwen3-235B-A22B",
    "deepseek-ai/DeepSeek-V3",
)
WORKLOAD = Workload(input_tokens=1000, output_tokens=200, concurrency=32)
MUTATION = """
mutation($input: SimulateInput!) { simulate(input: $input) { __typename ... on Simulation { id metrics { tpotMs } } } }
"""


def in_process(repeats: int) -> list[tuple[str, str, float, float]]:
    gpu = find_gpu("H200-SXM")
    assert gpu is not None
    cluster = catalog_cluster(gpu, 8)
    regressor = load_or_train(Settings().model_path)
    merged = ResidualRegressor.load(regressor.saved)
    merged.forest.merge()  # as the server's prediction process runs it
    rows = []
    for method, model in (("HEURISTIC", None), ("REGRESSOR", regressor), ("REGRESSOR merged", merged)):
        for hf_id in MODELS:
            arch = parse_hf_config(CATALOG_BY_ID[hf_id].config)

            def once(a: ModelArchitecture = arch, r: ResidualRegressor | None = model) -> object:
                return simulate(a, cluster, WORKLOAD, PartialConfig(), Engine.VLLM, r)

            times = samples_seconds(once, repeats)
            rows.append((method, hf_id, statistics.median(times) * 1e3, percentile(times, 99) * 1e3))
    return rows


async def over_http(repeats: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        await upgrade_url(url)
        app = create_app(Settings(database_url=url))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http,
        ):
            models = (await http.post("/graphql", json={"query": "{ models { id name } }"})).json()["data"]["models"]
            model_id = next(m["id"] for m in models if m["name"] == MODELS[1])
            query = '{ hardwareProfiles(first: 100, gpuType: "H200-SXM") { edges { node { id name } } } }'
            edges = (await http.post("/graphql", json={"query": query})).json()["data"]["hardwareProfiles"]["edges"]
            profile_id = next(e["node"]["id"] for e in edges if e["node"]["name"] == "H200-SXM x8")
            payload = {
                "query": MUTATION,
                "variables": {
                    "input": {
                        "modelId": model_id,
                        "hardwareProfileId": profile_id,
                        "workload": {"inputTokens": 1000, "outputTokens": 200, "concurrency": 32},
                    }
                },
            }
            times = []
            for _ in range(repeats + 1):
                start = time.perf_counter()
                body = (await http.post("/graphql", json=payload)).json()
                times.append(time.perf_counter() - start)
                assert body["data"]["simulate"]["__typename"] == "Simulation", body
            times = times[1:]
    return statistics.median(times) * 1e3, percentile(times, 99) * 1e3, len(times) / sum(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    print("simulate in-process (plan + serving model), 8 x H200-SXM, 1000 in / 200 out tokens, concurrency 32")
    print(table(["method", "model", "p50 ms", "p99 ms"], in_process(args.repeats)))
    p50, p99, rate = asyncio.run(over_http(args.repeats))
    print("\nsimulate mutation over the ASGI app (HTTP + SQLite write), Llama-3.1-70B, one client")
    print(table(["p50 ms", "p99 ms", "requests/s"], [(p50, p99, rate)]))


if __name__ == "__main__":
    main()
