"""The built-in catalogs: GPUs as a query, models and single-node profiles seeded by the migrations."""

import httpx

from budsim.core.catalog.gpus import GPUS
from budsim.core.catalog.models import CATALOG_MODELS
from tests.conftest import gql_data

REQUIRED_GPUS = {
    "A100-40GB-SXM",
    "A100-80GB-SXM",
    "H100-SXM",
    "H100-PCIe",
    "H200-SXM",
    "B200",
    "L40S",
    "L4",
    "A10G",
    "MI300X",
}


async def test_gpu_types_lists_the_catalog_with_sources(client: httpx.AsyncClient) -> None:
    query = "{ gpuTypes { name memoryGb memoryBandwidthGbS bf16Tflops fp8Tflops interconnectGbS costPerHour source } }"
    gpus = {gpu["name"]: gpu for gpu in (await gql_data(client, query))["gpuTypes"]}
    assert set(gpus) >= REQUIRED_GPUS
    assert gpus["H100-SXM"] == {
        "name": "H100-SXM",
        "memoryGb": 80,
        "memoryBandwidthGbS": 3350,
        "bf16Tflops": 989,
        "fp8Tflops": 1979,
        "interconnectGbS": 900,
        "costPerHour": 2.99,
        "source": GPUS["H100-SXM"].spec_source,
    }
    assert gpus["A100-80GB-SXM"]["fp8Tflops"] is None  # Ampere has no FP8 tensor cores
    assert all(gpu["source"].startswith("https://") for gpu in gpus.values())


async def test_catalog_models_are_seeded_with_their_sources(client: httpx.AsyncClient) -> None:
    models = (await gql_data(client, '{ models(search: "/") { name source parameterCount } }'))["models"]
    by_name = {model["name"]: model for model in models}
    for entry in CATALOG_MODELS:
        assert by_name[entry.hf_id]["source"] == entry.config_source
    assert by_name["meta-llama/Llama-3.1-70B-Instruct"]["parameterCount"] == 70_553_706_496


async def test_single_node_profiles_are_seeded_for_every_catalog_gpu(client: httpx.AsyncClient) -> None:
    query = """
    query($gpu: String) { hardwareProfiles(first: 10, gpuType: $gpu) { edges { node { name gpuCount interconnect } } } }
    """
    for gpu in ("H100-SXM", "L4"):
        nodes = [e["node"] for e in (await gql_data(client, query, gpu=gpu))["hardwareProfiles"]["edges"]]
        seeded = {node["name"]: node for node in nodes if node["name"].startswith(f"{gpu} x")}
        assert {node["gpuCount"] for node in seeded.values()} == {1, 2, 4, 8}
        assert {node["interconnect"] for node in seeded.values()} == {"NVLINK" if gpu == "H100-SXM" else "PCIE"}
