"""Builders the core specifications share: catalog architectures, clusters, cluster options and search spaces.

Plain functions, not fixtures: a test calls them with the values it is about. API helpers (ids, mutations) are in
tests/api/helpers.py, fixtures in tests/conftest.py.
"""

from collections.abc import Sequence

from budsim.core.architecture import ModelArchitecture, parse_hf_config
from budsim.core.catalog.gpus import find_gpu
from budsim.core.catalog.models import CATALOG_BY_ID
from budsim.core.deployment import Cluster
from budsim.core.search.space import ClusterOption, SearchSpace, build_space
from budsim.core.types import Dtype, Interconnect

LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"


def arch(hf_id: str) -> ModelArchitecture:
    """The architecture of a catalog model, parsed from its config.json."""
    return parse_hf_config(CATALOG_BY_ID[hf_id].config)


def cluster(gpu_name: str = "H100-SXM", gpus_per_node: int = 8, nodes: int = 1) -> Cluster:
    """`nodes` nodes of `gpus_per_node` catalog GPUs on NVLink, 50 GB/s between nodes, at the catalog's price."""
    gpu = find_gpu(gpu_name)
    assert gpu is not None
    return Cluster(gpu, gpus_per_node, nodes, Interconnect.NVLINK, gpu.interconnect_gbs, 50.0, gpu.cost_per_hour)


def option(gpu_name: str = "H100-SXM", gpus_per_node: int = 8, nodes: int = 1, label: str = "") -> ClusterOption:
    """That cluster as a search's choice, labelled `label` or "8xH100-SXM"."""
    return ClusterOption(cluster(gpu_name, gpus_per_node, nodes), label or f"{gpus_per_node}x{gpu_name}")


def space_for(
    model: str | ModelArchitecture = LLAMA_8B, precisions: Sequence[Dtype] = (Dtype.BF16,), **kwargs: object
) -> SearchSpace:
    """The search space of `model` (a catalog id or an architecture) at max_model_len 1280, on `clusters` (one 8x
    H100 node unless given); other keywords go to `build_space`."""
    clusters = kwargs.pop("clusters", [option()])
    model_arch = arch(model) if isinstance(model, str) else model
    return build_space(model_arch, clusters, list(precisions), max_model_len=1280, **kwargs)  # type: ignore[arg-type]
