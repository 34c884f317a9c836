"""The method registry: every method has a strategy, and each runs what its method means."""

from typing import cast

from budsim.core.architecture import parse_hf_config
from budsim.core.calibration import NO_REGRESSOR
from budsim.core.catalog.fabrics import catalog_cluster
from budsim.core.catalog.gpus import GPUS
from budsim.core.catalog.models import CATALOG_BY_ID
from budsim.core.deployment import Workload
from budsim.core.methods import STRATEGIES, optimize_deployment
from budsim.core.optimization import OptimizationProblem, SearchSettings
from budsim.core.predictors import ResidualRegressor
from budsim.core.search import ClusterOption
from budsim.core.types import Dtype, Engine, Method


def _problem(method: Method) -> OptimizationProblem:
    arch = parse_hf_config(CATALOG_BY_ID["meta-llama/Llama-3.1-8B-Instruct"].config)
    return OptimizationProblem(
        arch=arch,
        clusters=(ClusterOption(catalog_cluster(GPUS["H100-SXM"], 8), "h100"),),
        precisions=(Dtype.BF16,),
        workload=Workload(1024, 256, concurrency=32),
        engine=Engine.VLLM,
        method=method,
        settings=SearchSettings(population=8, generations=2, seed=0),
    )


def test_every_method_has_its_own_strategy() -> None:
    assert set(STRATEGIES) == set(Method)
    assert all(strategy.method == method for method, strategy in STRATEGIES.items())


def test_only_the_regressor_method_predicts_with_the_regressor_and_warns_without_one() -> None:
    loaded = cast(ResidualRegressor, object())  # stands for one; never asked to predict here
    regressor, heuristic = STRATEGIES[Method.REGRESSOR], STRATEGIES[Method.HEURISTIC]
    assert regressor.regressor(loaded) is loaded
    assert heuristic.regressor(loaded) is None
    assert regressor.warnings(None) == (NO_REGRESSOR,)
    assert heuristic.warnings(None) == ()


def test_a_problem_is_answered_by_its_own_method() -> None:
    searched = optimize_deployment(_problem(Method.REGRESSOR))
    planned = optimize_deployment(_problem(Method.HEURISTIC))
    assert searched.generations > 0
    assert NO_REGRESSOR in searched.warnings
    assert planned.generations == 0
    assert planned.warnings == ()
