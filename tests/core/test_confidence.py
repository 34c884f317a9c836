"""Confidence that explains itself: every penalty the score applies is one reason, with the factor it applied.

The factors are `budsim.core.predictors.confidence`'s constants, so a reason's factor is exactly what lowered the
number; the bands are the user guide's (>= 0.9, 0.7-0.9, < 0.7), drawn in one place.
"""

import math
from typing import Any

import numpy as np
import pytest

from budsim.core.architecture import parse_hf_config
from budsim.core.calibration import (
    ANALYTICAL_CONFIDENCE_MEASURED,
    ANALYTICAL_CONFIDENCE_UNMEASURED,
    MEASURED_GPUS,
    analytical_breakdown,
    measured_gpus,
)
from budsim.core.catalog.fabrics import catalog_cluster
from budsim.core.catalog.gpus import GPUS
from budsim.core.catalog.models import CATALOG_BY_ID
from budsim.core.deployment import Cluster, Workload
from budsim.core.heuristic import PartialConfig
from budsim.core.methods import optimize_deployment
from budsim.core.optimization import OptimizationProblem, SearchSettings
from budsim.core.predictors import (
    ConfidenceBreakdown,
    ConfidenceLevel,
    Coverage,
    ReasonKind,
    ResidualRegressor,
    confidence,
    confidence_breakdown,
    confidence_level,
)
from budsim.core.predictors.confidence import (
    CONCURRENCY_DECAY,
    SIZE_DECAY,
    UNSEEN_FAMILY,
    UNSEEN_GPU,
    UNSEEN_PAIR,
    UNSEEN_PP,
    UNSEEN_TP,
)
from budsim.core.search import ClusterOption, Targets
from budsim.core.simulation import simulate
from budsim.core.types import Dtype, Engine, Interconnect, Method

LLAMA_70B = math.log(70.6e9)
COVERAGE = Coverage(
    gpus=frozenset({"H100-SXM", "B200"}),
    families=frozenset({"llama", "qwen2"}),
    pairs=frozenset({("H100-SXM", "llama"), ("B200", "qwen2")}),
    log_params=(LLAMA_70B,),
    tps=frozenset({1, 2, 4, 8}),
    log_concurrency_range=(0.0, math.log(256)),
)


def breakdown(
    gpu: str = "H100-SXM",
    family: str = "llama",
    log_params: float = LLAMA_70B,
    tp: int = 4,
    concurrency: float = 32.0,
    spread: float = 0.0,
    pp: int = 1,
) -> ConfidenceBreakdown:
    """One candidate, fully covered by COVERAGE unless a keyword says otherwise."""
    return confidence_breakdown(COVERAGE, gpu, family, log_params, tp, math.log(concurrency), spread, pp)


def kinds(scored: ConfidenceBreakdown) -> list[ReasonKind]:
    return [reason.kind for reason in scored.reasons(0)]


def test_a_fully_covered_config_has_no_reason_and_full_confidence() -> None:
    scored = breakdown()
    assert scored.score[0] == 1.0
    assert scored.reasons(0) == ()


@pytest.mark.parametrize(
    ("changes", "kind", "factor"),
    [
        ({"gpu": "L40S"}, ReasonKind.UNSEEN_GPU, UNSEEN_GPU),
        ({"family": "mistral"}, ReasonKind.UNSEEN_MODEL_FAMILY, UNSEEN_FAMILY),
        ({"gpu": "B200"}, ReasonKind.UNSEEN_GPU_MODEL_PAIR, UNSEEN_PAIR),
        ({"tp": 16}, ReasonKind.TENSOR_PARALLEL_OUTSIDE_MEASURED, UNSEEN_TP),
        ({"pp": 2}, ReasonKind.PIPELINE_PARALLEL_UNMEASURED, UNSEEN_PP),
        ({"concurrency": 256 * math.e}, ReasonKind.CONCURRENCY_OUTSIDE_MEASURED, math.exp(-CONCURRENCY_DECAY)),
        ({"log_params": LLAMA_70B + 1.0}, ReasonKind.MODEL_SIZE_OUTSIDE_MEASURED, math.exp(-SIZE_DECAY)),
        ({"spread": 0.15}, ReasonKind.ENSEMBLE_DISAGREEMENT, 0.5),  # SPREAD_SCALE halves it
    ],
)
def test_each_gap_in_the_data_is_one_reason_with_the_factor_the_score_applied(
    changes: dict[str, Any], kind: ReasonKind, factor: float
) -> None:
    scored = breakdown(**changes)
    (reason,) = scored.reasons(0)
    assert reason.kind == kind
    assert reason.factor == pytest.approx(factor, abs=1e-4)
    assert scored.score[0] == pytest.approx(factor)
    assert reason.message
    assert reason.measure


def test_reasons_come_worst_first_and_multiply_to_the_score() -> None:
    scored = breakdown(gpu="L40S", family="mistral", tp=16, concurrency=1000.0)
    reasons = scored.reasons(0)
    assert [r.kind for r in reasons] == [
        ReasonKind.CONCURRENCY_OUTSIDE_MEASURED,  # (256 / 1000) ** 0.2 = 0.76
        ReasonKind.UNSEEN_GPU,  # 0.8
        ReasonKind.UNSEEN_MODEL_FAMILY,  # 0.85
        ReasonKind.TENSOR_PARALLEL_OUTSIDE_MEASURED,  # 0.93
    ]
    assert reasons[0].factor == pytest.approx((256 / 1000) ** CONCURRENCY_DECAY, abs=1e-4)
    assert math.prod(r.factor for r in reasons) == pytest.approx(scored.score[0], abs=1e-3)


def test_a_reason_names_what_is_unseen_and_what_to_record() -> None:
    (gpu,) = breakdown(gpu="L40S").reasons(0)
    assert gpu.message == "No measured run on L40S"
    assert gpu.measure == "Record a run of this model on L40S with recordBenchmark"
    (tp,) = breakdown(tp=16).reasons(0)
    assert tp.message == "No measured run at tensor parallel 16 (measured: 1, 2, 4, 8)"
    (load,) = breakdown(concurrency=1000.0).reasons(0)
    assert load.message == "1000 requests in service is outside the measured range 1-256"
    assert load.measure == "Record a run at concurrency 1000 with recordBenchmark"


def test_the_breakdown_is_vectorized_and_its_score_is_confidences() -> None:
    """A search scores a population in one call: each row keeps its own factors."""
    tp = np.array([4, 16, 8])
    concurrency = np.log([32.0, 32.0, 4096.0])
    scored = confidence_breakdown(COVERAGE, "H100-SXM", "llama", LLAMA_70B, tp, concurrency, 0.0)
    assert np.array_equal(scored.score, confidence(COVERAGE, "H100-SXM", "llama", LLAMA_70B, tp, concurrency, 0.0))
    assert kinds_at(scored, 0) == []
    assert kinds_at(scored, 1) == [ReasonKind.TENSOR_PARALLEL_OUTSIDE_MEASURED]
    assert kinds_at(scored, 2) == [ReasonKind.CONCURRENCY_OUTSIDE_MEASURED]


def kinds_at(scored: ConfidenceBreakdown, row: int) -> list[ReasonKind]:
    return [reason.kind for reason in scored.reasons(row)]


def test_a_config_that_cannot_serve_scores_0_but_keeps_its_factors() -> None:
    scored = breakdown(gpu="L40S").masked(np.array([False]))
    assert scored.score[0] == 0.0
    assert kinds(scored) == [ReasonKind.UNSEEN_GPU]


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (1.0, ConfidenceLevel.PRODUCTION_READY),
        (0.9, ConfidenceLevel.PRODUCTION_READY),  # the guide's ">= 0.9"
        (0.8999, ConfidenceLevel.VALIDATE_IN_STAGING),
        (0.7, ConfidenceLevel.VALIDATE_IN_STAGING),  # "0.7-0.9"
        (0.6999, ConfidenceLevel.NEEDS_MORE_DATA),  # "< 0.7"
        (0.0, ConfidenceLevel.NEEDS_MORE_DATA),
    ],
)
def test_levels_are_the_guides_bands(score: float, level: ConfidenceLevel) -> None:
    assert confidence_level(score) == level


def cluster(gpu: str) -> Cluster:
    return Cluster(GPUS[gpu], 8, 1, Interconnect.NVLINK, 900.0, 50.0, GPUS[gpu].cost_per_hour)


def test_without_a_regressor_the_analytical_confidence_is_its_reasons() -> None:
    measured = analytical_breakdown(cluster("H100-SXM"), "llama", 2)
    assert measured.score.tolist() == [ANALYTICAL_CONFIDENCE_MEASURED] * 2
    assert kinds(measured) == [ReasonKind.NO_REGRESSOR]
    assert measured.reasons(0)[0].measure.startswith("Use the REGRESSOR method with a trained regressor")
    unmeasured = analytical_breakdown(cluster("L40S"), "llama", 1)
    assert unmeasured.score[0] == pytest.approx(ANALYTICAL_CONFIDENCE_UNMEASURED)
    assert kinds(unmeasured) == [ReasonKind.NO_REGRESSOR, ReasonKind.UNSEEN_GPU]  # 0.6, then 0.75
    assert math.prod(r.factor for r in unmeasured.reasons(0)) == pytest.approx(ANALYTICAL_CONFIDENCE_UNMEASURED)


def _problem(method: Method, targets: Targets, gpu: str = "H100-SXM") -> OptimizationProblem:
    return OptimizationProblem(
        arch=parse_hf_config(CATALOG_BY_ID["meta-llama/Llama-3.1-8B-Instruct"].config),
        clusters=(ClusterOption(catalog_cluster(GPUS[gpu], 8), gpu),),
        precisions=(Dtype.BF16,),
        workload=Workload(1024, 256, concurrency=32),
        engine=Engine.VLLM,
        method=method,
        targets=targets,
        settings=SearchSettings(population=8, generations=2, seed=0),
    )


@pytest.mark.parametrize("method", [Method.HEURISTIC, Method.REGRESSOR])
def test_a_missed_target_keeps_the_nearest_misss_own_confidence(method: Method) -> None:
    """Whether a pick meets the targets is meets_targets' to say; how far to trust its numbers is confidence's."""
    met = optimize_deployment(_problem(method, Targets()))
    missed = optimize_deployment(_problem(method, Targets(max_ttft_ms=0.001)))
    assert met.meets_targets
    assert not missed.meets_targets
    assert missed.binding
    assert missed.best is not None
    # without a regressor both are the analytical model on a measured GPU: 0.6, for the same reason
    assert missed.confidence == met.confidence == ANALYTICAL_CONFIDENCE_MEASURED
    assert [r.kind for r in missed.confidence_reasons] == [ReasonKind.NO_REGRESSOR]


def test_an_answer_on_an_unmeasured_gpu_names_it() -> None:
    answer = optimize_deployment(_problem(Method.HEURISTIC, Targets(), gpu="L40S"))
    assert answer.confidence == ANALYTICAL_CONFIDENCE_UNMEASURED
    assert [r.kind for r in answer.confidence_reasons] == [ReasonKind.NO_REGRESSOR, ReasonKind.UNSEEN_GPU]
    assert answer.confidence_reasons[1].message == "No measured run on L40S"


def test_the_measured_gpus_are_the_loaded_regressors_and_without_one_the_shipped_datas() -> None:
    """A user who recorded runs on a new GPU and retrained sees it measured by both methods: the analytical
    confidence takes the measured GPUs from the loaded regressor's coverage, as the regressor's own confidence does."""
    retrained = ResidualRegressor({}, coverage=COVERAGE)
    assert measured_gpus(retrained) == COVERAGE.gpus
    assert measured_gpus(None) == measured_gpus(ResidualRegressor({})) == MEASURED_GPUS
    no_coverage = analytical_breakdown(cluster("B200"), "llama", 1, measured_gpus(ResidualRegressor({})))
    assert kinds(no_coverage) == [ReasonKind.NO_REGRESSOR]  # B200 is in data/benchmarks.csv
    l40s = Coverage(frozenset({"L40S"}), frozenset({"llama"}), frozenset(), (), frozenset(), (0.0, 1.0))
    recorded = analytical_breakdown(cluster("L40S"), "llama", 1, measured_gpus(ResidualRegressor({}, coverage=l40s)))
    assert recorded.score[0] == ANALYTICAL_CONFIDENCE_MEASURED
    assert kinds(recorded) == [ReasonKind.NO_REGRESSOR]


def test_heuristic_answers_take_the_measured_gpus_of_the_loaded_regressor() -> None:
    arch = parse_hf_config(CATALOG_BY_ID["meta-llama/Llama-3.1-8B-Instruct"].config)
    workload = Workload(1024, 256, concurrency=32)
    l40s = cluster("L40S")
    shipped = simulate(arch, l40s, workload, PartialConfig(), Engine.VLLM)
    recorded = simulate(arch, l40s, workload, PartialConfig(), Engine.VLLM, measured_gpus=frozenset({"L40S"}))
    assert shipped.confidence == ANALYTICAL_CONFIDENCE_UNMEASURED
    assert recorded.confidence == ANALYTICAL_CONFIDENCE_MEASURED
    # An optimization job hands the loaded regressor to the strategy, which a HEURISTIC answer does not correct with
    # but takes the measured GPUs from.
    coverage = Coverage(frozenset({"L40S"}), frozenset({"llama"}), frozenset(), (), frozenset(), (0.0, 1.0))
    answer = optimize_deployment(
        _problem(Method.HEURISTIC, Targets(), gpu="L40S"), ResidualRegressor({}, coverage=coverage)
    )
    assert answer.confidence == ANALYTICAL_CONFIDENCE_MEASURED
    assert [r.kind for r in answer.confidence_reasons] == [ReasonKind.NO_REGRESSOR]
