"""Specification of the exhaustive reference search: it enumerates every genome once and applies the GA's rules."""

import numpy as np
import pytest

from budsim.core.architecture import parse_hf_config
from budsim.core.catalog.models import CATALOG_BY_ID
from budsim.core.deployment import Workload
from budsim.core.search.constraints import Targets
from budsim.core.search.evaluators import analytical_evaluator
from budsim.core.search.exhaustive import enumerate_genomes, exhaustive_search
from budsim.core.search.nsga2 import optimize
from budsim.core.search.operators import cost_per_million_tokens, dominance_matrix, minimization
from budsim.core.search.scoring import score
from budsim.core.search.space import SearchSpace, build_space
from budsim.core.types import Dtype, Engine
from tests.factories import option

ARCH = parse_hf_config(CATALOG_BY_ID["meta-llama/Llama-3.1-8B-Instruct"].config)
CHAT = Workload(input_tokens=1024, output_tokens=256, concurrency=64)


def small_space() -> SearchSpace:
    return build_space(
        ARCH,
        [option("H100-SXM", 8, label="H100-SXM"), option("L40S", 4, label="L40S")],
        [Dtype.BF16, Dtype.FP8],
        max_model_len=1280,
        max_replicas=4,
        max_num_seqs=(32, 128),
        max_num_batched_tokens=(2048, 8192),
        gpu_memory_utilization=(0.9,),
    )


def test_every_genome_is_enumerated_exactly_once_in_chunks_of_any_size() -> None:
    space = small_space()
    for chunk in (7, 1000, space.size):
        genomes = np.vstack(list(enumerate_genomes(space, chunk)))
        assert genomes.shape[0] == space.size
        assert np.unique(genomes, axis=0).shape[0] == space.size
        assert (genomes >= 0).all()
        assert (genomes < space.sizes).all()


def test_the_exhaustive_pick_is_the_cheapest_per_token_of_all_feasible_genomes() -> None:
    space = small_space()
    evaluator = analytical_evaluator(ARCH, CHAT, Engine.VLLM)
    result = exhaustive_search(space, evaluator, chunk_size=500)
    everything = score(space, evaluator, np.vstack(list(enumerate_genomes(space))))
    feasible = everything.severity == 0
    assert result.best is not None
    assert result.best.cost_per_million_tokens == pytest.approx(
        cost_per_million_tokens(everything.objectives[feasible]).min()
    )
    assert result.evaluations < space.size  # structurally invalid genomes are skipped, not scored


def test_the_exhaustive_front_is_feasible_non_dominated_and_free_of_twins() -> None:
    result = exhaustive_search(small_space(), analytical_evaluator(ARCH, CHAT, Engine.VLLM), chunk_size=500)
    objectives = np.array([(c.output_tokens_per_s, c.e2e_p99_ms, c.cost_per_hour) for c in result.pareto])
    assert all(c.feasible for c in result.pareto)
    assert not dominance_matrix(minimization(objectives)).any()
    assert np.unique(objectives, axis=0).shape[0] == len(result.pareto)
    assert result.best is result.pareto[0]


def test_chunking_does_not_change_the_answer() -> None:
    space = small_space()
    evaluator = analytical_evaluator(ARCH, CHAT, Engine.VLLM)
    coarse = exhaustive_search(space, evaluator)
    fine = exhaustive_search(space, evaluator, chunk_size=97)
    assert [c.genome for c in coarse.pareto] == [c.genome for c in fine.pareto]


def test_with_nothing_feasible_the_exhaustive_search_reports_the_nearest_deployable_misses() -> None:
    result = exhaustive_search(small_space(), analytical_evaluator(ARCH, CHAT, Engine.VLLM, Targets(max_ttft_ms=1.0)))
    assert result.best is None
    assert result.pareto == ()
    assert len(result.least_violating) == 5
    assert all(set(c.violations) == {"max_ttft_ms"} for c in result.least_violating)


def test_the_ga_finds_the_exhaustive_pick_on_a_mixed_cluster_space() -> None:
    space = small_space()
    evaluator = analytical_evaluator(ARCH, CHAT, Engine.VLLM, Targets(max_latency_ms=4_000))
    truth = exhaustive_search(space, evaluator)
    found = optimize(space, evaluator, seed=3)
    assert truth.best is not None
    assert found.best is not None
    assert found.best.cost_per_million_tokens <= truth.best.cost_per_million_tokens * 1.01
