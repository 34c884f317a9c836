"""Residual regressor (`core.predictors`): accuracy against measured runs, confidence, clamp, persistence.

Cross-validation here is 4 folds of whole model x GPU groups (cheaper than the full leave-one-group-out of
`budsim.training`, and stricter: a quarter of the pairs is held out at once) with 2-member ensembles.
"""

import math
from pathlib import Path

import numpy as np
import pytest

from budsim.core.architecture import parse_hf_config
from budsim.core.catalog.gpus import find_gpu
from budsim.core.catalog.models import CATALOG_MODELS
from budsim.core.deployment import ConfigBatch, ServingConfig, Workload
from budsim.core.measurements import measured_cluster
from budsim.core.memory import memory_breakdown
from budsim.core.perf.serving import predict
from budsim.core.predictors import (
    FEATURE_NAMES,
    PRODUCTION_READY,
    TARGETS,
    ResidualRegressor,
    confidence,
    feature_matrix,
    train,
)
from budsim.core.types import Dtype, Engine
from budsim.training import DEFAULT_CSV, CrossValidation, Dataset, cross_validate, load_dataset, read_model, write_model

pytestmark = pytest.mark.skipif(not DEFAULT_CSV.exists(), reason="data/benchmarks.csv not built")


@pytest.fixture(scope="module")
def data() -> Dataset:
    return load_dataset(DEFAULT_CSV)


@pytest.fixture(scope="module")
def cv(data: Dataset) -> CrossValidation:
    return cross_validate(data, folds=4, seed=0, ensemble=2)


@pytest.fixture(scope="module")
def model(data: Dataset) -> ResidualRegressor:
    return train(data.features, data.targets, data.groups, seed=0, ensemble=2, coverage=data.coverage())


def _median_ape(predicted: np.ndarray, measured: np.ndarray) -> float:
    return float(np.median(np.abs(predicted / measured - 1.0)) * 100)


def test_features_are_finite_named_and_cover_the_dataset(data: Dataset) -> None:
    assert data.features.shape == (len(data.groups), len(FEATURE_NAMES))
    assert len(data.groups) > 3000
    assert np.unique(data.groups).size > 30


def test_regressor_beats_the_analytical_baseline_on_held_out_groups(data: Dataset, cv: CrossValidation) -> None:
    summary = cv.summary(data)
    ttft, tpot = summary["ttft_ms"], summary["tpot_ms"]
    assert ttft["corrected_median_ape"] < 0.8 * ttft["analytical_median_ape"]
    assert tpot["corrected_median_ape"] < tpot["analytical_median_ape"]
    assert (
        summary["output_tokens_per_s"]["corrected_median_ape"] < summary["output_tokens_per_s"]["analytical_median_ape"]
    )


@pytest.mark.xfail(strict=True, reason="issue bar (TTFT <= 15%, TPOT <= 10% held-out median APE) not reached yet")
def test_issue_accuracy_bar_on_held_out_groups(data: Dataset, cv: CrossValidation) -> None:
    summary = cv.summary(data)
    assert summary["ttft_ms"]["corrected_median_ape"] <= 15.0
    assert summary["tpot_ms"]["corrected_median_ape"] <= 10.0


def test_unseen_gpu_or_pair_scores_lower_confidence_than_a_measured_one(data: Dataset) -> None:
    coverage = data.coverage()
    i = 0
    args = (data.log_params[i], data.tps[i], data.log_concurrency[i], 0.02)
    measured = confidence(coverage, data.gpus[i], data.families[i], *args)[0]
    unseen_gpu = confidence(coverage, "MI300X", data.families[i], *args)[0]
    unseen_both = confidence(coverage, "MI300X", "never_seen_family", *args)[0]
    assert measured > unseen_gpu > unseen_both
    assert measured >= PRODUCTION_READY
    other_gpu = next(g for g in coverage.gpus if (g, data.families[i]) not in coverage.pairs)
    assert confidence(coverage, other_gpu, data.families[i], *args)[0] < measured


def test_confidence_falls_with_ensemble_disagreement(data: Dataset) -> None:
    coverage = data.coverage()
    scores = confidence(coverage, data.gpus[0], data.families[0], data.log_params[0], 8, 3.0, np.array([0.0, 0.1, 0.5]))
    assert np.all(np.diff(scores) < 0)
    assert np.all((scores >= 0) & (scores <= 1))


def test_held_out_error_is_larger_where_confidence_is_lower(data: Dataset, cv: CrossValidation) -> None:
    ape = np.mean(np.abs(np.log(cv.corrected / data.measured)), axis=1)
    low = cv.confidence <= np.median(cv.confidence)
    assert np.median(ape[low]) > np.median(ape[~low])


def test_unmeasured_gpu_stays_within_the_clamp_of_the_analytical_prediction(model: ResidualRegressor) -> None:
    gpu = find_gpu("A100-80GB-SXM")
    assert gpu is not None
    assert gpu.name not in (model.coverage.gpus if model.coverage else ())
    entry = next(e for e in CATALOG_MODELS if e.hf_id == "meta-llama/Llama-3.1-70B-Instruct")
    arch = parse_hf_config(entry.config)
    cluster = measured_cluster(gpu, 8)
    configs = [
        ServingConfig(
            tensor_parallel=tp,
            pipeline_parallel=1,
            max_num_seqs=256,
            max_num_batched_tokens=8192,
            gpu_memory_utilization=0.9,
            max_model_len=4096,
            replicas=1,
            weight_dtype=Dtype.BF16,
            kv_cache_dtype=Dtype.BF16,
        )
        for tp in (2, 4, 8)
    ]
    batch = ConfigBatch.from_configs(configs)
    memory = memory_breakdown(arch, gpu.usable_memory_gb, batch)
    for concurrency in (1, 16, 256):
        workload = Workload(2048, 512, concurrency=concurrency)
        metrics = predict(arch, cluster, batch, workload, Engine.VLLM, memory.kv_tokens)
        features = feature_matrix(arch, cluster, batch, workload, Engine.VLLM, metrics)
        assert features.shape == (3, len(FEATURE_NAMES))
        corrected = model.correct(features, metrics)
        fits = np.asarray(metrics.fits, dtype=bool).reshape(-1)
        for name, base in (("ttft_ms", metrics.ttft_mean_ms), ("tpot_ms", metrics.tpot_ms)):
            ratio = getattr(corrected, name)[fits] / np.asarray(base, dtype=float).reshape(-1)[fits]
            assert np.all(ratio <= 3.0 + 1e-9)
            assert np.all(ratio >= 1 / 3 - 1e-9)
        assert all(np.all(np.abs(v) <= math.log(3.0) + 1e-12) for v in corrected.log_correction.values())


def test_save_load_round_trip_gives_identical_predictions(
    data: Dataset, model: ResidualRegressor, tmp_path: Path
) -> None:
    sample = data.features[:200]
    before, spread_before = model.log_corrections(sample)
    restored = ResidualRegressor.load(model.save())
    path = tmp_path / "residual.json"
    write_model(model, path)
    from_file = read_model(path)
    for other in (restored, from_file):
        after, spread_after = other.log_corrections(sample)
        for target in TARGETS:
            np.testing.assert_array_equal(before[target], after[target])
            np.testing.assert_array_equal(spread_before[target], spread_after[target])
    assert from_file.coverage == model.coverage
