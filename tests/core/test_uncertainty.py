"""Specification of how predictions state their uncertainty, and how a search acts on it.

Every metric comes with a p10-p90 interval from the uncertainty of the service times behind it (`core.calibration`).
Where confidence is low, targets are judged at the pessimistic end and throughput by its conservative end, so a pick
never rests on an optimistic extrapolation (`search.evaluators.ServingEvaluator`).
"""

from dataclasses import asdict

import numpy as np
import pytest

from budsim.core.catalog.fabrics import catalog_cluster
from budsim.core.catalog.gpus import GPUS
from budsim.core.deployment import Workload
from budsim.core.heuristic import PartialConfig
from budsim.core.optimization import Constraints, OptimizationProblem, SearchSettings, search_deployment
from budsim.core.predictors import PHYSICS_LOG_SCALE_SD, ResidualRegressor
from budsim.core.search import ClusterOption, Targets
from budsim.core.search.evaluators import ServingEvaluator
from budsim.core.search.space import build_space, encode
from budsim.core.simulation import simulate
from budsim.core.types import Dtype, Engine, Method
from tests import factories

LLAMA_70B = "meta-llama/Llama-3.1-70B-Instruct"
CHAT = Workload(1024, 256, concurrency=64)


@pytest.mark.parametrize("method", ["HEURISTIC", "REGRESSOR"])
def test_every_metric_sits_inside_its_interval_and_latencies_widen_with_doubt(
    method: str, regressor: ResidualRegressor
) -> None:
    prediction = simulate(factories.arch(LLAMA_70B), catalog_cluster(GPUS["H100-SXM"], 8), CHAT, PartialConfig(),
                          Engine.VLLM, regressor if method == "REGRESSOR" else None)  # fmt: skip
    low, high = asdict(prediction.interval.p10), asdict(prediction.interval.p90)
    for name, value in asdict(prediction.metrics).items():
        assert value is not None
        assert low[name] is not None
        assert high[name] is not None
        assert low[name] <= value <= high[name], name
    for name in ("ttft_p99_ms", "tpot_ms", "e2e_latency_p99_ms", "output_tokens_per_s"):
        assert high[name] > low[name] * 1.05, name
    assert low["cost_per_hour"] == high["cost_per_hour"] == prediction.metrics.cost_per_hour


def test_the_analytical_interval_is_the_spread_of_the_physics_from_measured_runs() -> None:
    prediction = simulate(
        factories.arch(LLAMA_70B), catalog_cluster(GPUS["H100-SXM"], 8), CHAT, PartialConfig(), Engine.VLLM
    )
    # TPOT follows the decode steps' scale (a decode step per token); its p10-p90 spans exp(2 x 1.28 x sd) or a
    # little less where prompt chunks share the steps.
    width = prediction.interval.p90.tpot_ms / prediction.interval.p10.tpot_ms  # type: ignore[operator]
    assert width == pytest.approx(np.exp(2 * 1.2816 * PHYSICS_LOG_SCALE_SD[0]), rel=0.15)


def test_a_measured_gpu_and_model_pair_gets_a_narrower_interval_than_an_unseen_gpu(
    regressor: ResidualRegressor,
) -> None:
    arch = factories.arch(LLAMA_70B)
    assert regressor.coverage is not None
    assert ("H100-SXM", arch.model_type) in regressor.coverage.pairs
    assert "L40S" not in regressor.coverage.gpus

    def tpot_width(gpu: str) -> float:
        answer = simulate(arch, catalog_cluster(GPUS[gpu], 8), CHAT, PartialConfig(tensor_parallel=8), Engine.VLLM,
                          regressor)  # fmt: skip
        return answer.interval.p90.tpot_ms / answer.interval.p10.tpot_ms  # type: ignore[operator]

    assert tpot_width("H100-SXM") < tpot_width("L40S")


def _evaluate(caution: float | None, max_ttft_ms: float) -> tuple[float, float]:
    """(TTFT p99 judged, max_ttft_ms violation) of one analytical config (confidence 0.6, below 0.7)."""
    arch = factories.arch(LLAMA_70B)
    option = ClusterOption(catalog_cluster(GPUS["H100-SXM"], 8), "h100")
    space = build_space(arch, [option], [Dtype.BF16], max_model_len=4096)
    evaluator = ServingEvaluator(arch, CHAT, Engine.VLLM, Targets(max_ttft_ms=max_ttft_ms), caution=caution)
    config = simulate(arch, option.cluster, CHAT, PartialConfig(tensor_parallel=4, max_num_seqs=256,
                      max_num_batched_tokens=8192, gpu_memory_utilization=0.9), Engine.VLLM).config  # fmt: skip
    genome = encode(space, config).reshape(1, -1)
    evaluation = evaluator(space, genome)
    assert evaluation.metrics["confidence"][0] == pytest.approx(0.6)
    return float(evaluation.metrics["judged_ttft_p99_ms"][0]), float(evaluation.violations["max_ttft_ms"][0])


def test_a_low_confidence_config_is_judged_at_the_pessimistic_end_of_its_interval() -> None:
    point, _ = _evaluate(caution=None, max_ttft_ms=1e6)
    pessimistic, _ = _evaluate(caution=0.7, max_ttft_ms=1e6)
    assert pessimistic > point * 1.2
    # A target between the two: met by the point, missed where the model is not trusted.
    target = (point + pessimistic) / 2
    assert _evaluate(caution=None, max_ttft_ms=target)[1] == 0.0
    assert _evaluate(caution=0.7, max_ttft_ms=target)[1] > 0.0


def test_a_population_of_mixed_confidence_is_judged_in_one_vectorised_call(regressor: ResidualRegressor) -> None:
    """Only the low-confidence rows are re-predicted at their pessimistic end; the call must not fall back to scoring
    row by row (`scoring.score` would hide a failure that way, at 50x the cost)."""
    arch = factories.arch(LLAMA_70B)
    options = [ClusterOption(catalog_cluster(GPUS[name], 8), name) for name in ("H100-SXM", "L40S")]
    space = build_space(arch, options, [Dtype.BF16, Dtype.FP8], max_model_len=4096)
    genomes = np.random.default_rng(0).integers(0, space.sizes, size=(200, len(space.sizes)))
    evaluation = ServingEvaluator(arch, CHAT, Engine.VLLM, Targets(), regressor)(space, genomes)
    confidence = evaluation.metrics["confidence"]
    judged, point = evaluation.metrics["judged_output_tokens_per_s"], evaluation.metrics["output_tokens_per_s"]
    low = (confidence < 0.7) & (point > 0)
    assert low.any()
    assert (~low & (point > 0)).any()
    assert np.all(judged[low] < point[low])
    np.testing.assert_array_equal(judged[~low & (point > 0)], point[~low & (point > 0)])


def test_a_cautious_search_reports_the_target_as_judged_when_none_meets_it(regressor: ResidualRegressor) -> None:
    """The binding target's `achieved` is the value the target was judged on, so the miss is explained."""
    arch = factories.arch(LLAMA_70B)
    options = [ClusterOption(catalog_cluster(GPUS["L40S"], 8), "l40s")]  # unmeasured: low confidence
    problem = OptimizationProblem(arch, tuple(options), (Dtype.BF16,), CHAT, Engine.VLLM, Method.REGRESSOR,
                                  Targets(max_ttft_ms=1.0), Constraints(),
                                  SearchSettings(population=16, generations=4, seed=0))  # fmt: skip
    outcome = search_deployment(problem, regressor=regressor)
    assert not outcome.meets_targets
    assert outcome.best is not None
    assert outcome.best.interval is not None
    binding = next(b for b in outcome.binding if b.target == "max_ttft_ms")
    assert binding.achieved == pytest.approx(outcome.best.interval.p90.ttft_p99_ms, rel=1e-3)
