"""Residual regressor (`core.predictors`): service-time scales that the forward model turns into accurate metrics,
confidence, clamp, persistence.

Cross-validation here is 4 folds of whole model x GPU groups (cheaper than the full leave-one-group-out of
`budsim.regressor.training`, and stricter: a quarter of the pairs is held out at once) with 2-member ensembles.
"""

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from budsim.core.architecture import ModelArchitecture, parse_hf_config
from budsim.core.calibration import calibrate
from budsim.core.catalog.gpus import find_gpu
from budsim.core.catalog.models import CATALOG_BY_ID
from budsim.core.deployment import Cluster, ConfigBatch, ServingConfig, Workload
from budsim.core.measurements import measured_cluster
from budsim.core.memory import memory_breakdown
from budsim.core.perf.serving import ServingMetrics, predict
from budsim.core.predictors import (
    BENCHMARK_ROUNDS,
    CLAMP,
    FEATURE_NAMES,
    PRODUCTION_READY,
    TARGETS,
    ResidualRegressor,
    benchmark_ttft_ms,
    confidence,
    feature_matrix,
    train,
)
from budsim.core.predictors.forest import FEW_ROWS
from budsim.core.types import Dtype, Engine
from budsim.regressor.training import (
    DEFAULT_CSV,
    UNEXPRESSIBLE_TP,
    CrossValidation,
    Dataset,
    cross_validate,
    load_dataset,
    load_or_train,
    read_model,
    write_model,
)

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


def _llama_70b() -> ModelArchitecture:
    entry = CATALOG_BY_ID["meta-llama/Llama-3.1-70B-Instruct"]
    return parse_hf_config(entry.config)


def _a100_configs(arch: ModelArchitecture) -> tuple[Cluster, ConfigBatch, np.ndarray]:
    gpu = find_gpu("A100-80GB-SXM")
    assert gpu is not None
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
    return measured_cluster(gpu, 8), batch, memory_breakdown(arch, gpu.usable_memory_gb, batch).kv_tokens


def _column(metrics: ServingMetrics, name: str) -> np.ndarray:
    return np.asarray(getattr(metrics, name), dtype=np.float64).reshape(-1)


def test_features_are_finite_named_and_cover_the_dataset(data: Dataset) -> None:
    assert data.features.shape == (len(data.groups), len(FEATURE_NAMES))
    assert np.isfinite(data.features).all()
    assert len(data.groups) > 3000
    assert np.unique(data.groups).size > 30


def test_runs_budsim_cannot_express_are_left_out_and_counted(data: Dataset) -> None:
    # 16- and 64-GPU wide expert-parallel runs and GB200 runs on 12-72 GPUs: no tensor-parallel size BudSim generates.
    assert data.skipped[UNEXPRESSIBLE_TP] == 409
    assert all(run.gpu_count <= 8 or run.gpu.startswith("GB") for run in data.runs)
    # Expert/attention-DP runs inside a node and FP4 runs stay, described by their features.
    assert sum(run.ep_or_dp for run in data.runs) > 400
    assert sum(run.fp4 for run in data.runs) > 1000


def test_regressor_beats_the_analytical_baseline_on_held_out_groups(data: Dataset, cv: CrossValidation) -> None:
    summary = cv.summary(data)
    ttft, tpot = summary["ttft_ms"], summary["tpot_ms"]
    assert ttft["corrected_median_ape"] < 0.7 * ttft["analytical_median_ape"]
    assert tpot["corrected_median_ape"] < tpot["analytical_median_ape"]
    assert (
        summary["output_tokens_per_s"]["corrected_median_ape"] < summary["output_tokens_per_s"]["analytical_median_ape"]
    )


def test_held_out_throughput_follows_littles_law_from_the_corrected_latencies(
    data: Dataset, cv: CrossValidation
) -> None:
    # Closed loop: each client keeps one request in flight, so tokens/s = concurrency x output / (TTFT + (O-1) TPOT).
    concurrency = np.array([run.concurrency for run in data.runs], dtype=np.float64)
    output = np.array([run.output_tokens for run in data.runs], dtype=np.float64)
    cycle_s = (cv.corrected[:, 1] + (output - 1.0) * cv.corrected[:, 2]) / 1e3
    np.testing.assert_allclose(cv.corrected[:, 0], concurrency * output / cycle_s, rtol=1e-9)


def test_the_fitted_scales_reproduce_the_measurements_they_were_fitted_to(data: Dataset) -> None:
    """The training targets invert the forward model: at them, it meets the measured TPOT of (nearly) every run and
    the measured TTFT of most; runs it sees waiting for a slot teach the decode scale only."""
    fitted = data.corrected(np.where(np.isfinite(data.targets), data.targets, 0.0))
    tpot_error = np.abs(fitted[:, 2] / data.measured[:, 2] - 1.0)
    ttft_error = np.abs(fitted[:, 1] / data.measured[:, 1] - 1.0)
    assert np.median(tpot_error) < 0.005
    assert np.percentile(tpot_error, 90) < 0.03
    assert np.median(ttft_error) < 0.02
    assert np.isfinite(data.targets[:, 0]).all()
    slot_bound = ~np.isfinite(data.targets[:, 1])
    assert 0 < slot_bound.sum() < 0.1 * len(data.groups)
    np.testing.assert_array_equal(slot_bound, ~np.isfinite(data.targets[:, 2]))


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


def test_a_benchmark_ttft_weighs_in_the_waves_its_engine_keeps_in_step() -> None:
    arch = _llama_70b()
    cluster, batch, kv_tokens = _a100_configs(arch)
    closed, open_loop = Workload(2048, 512, concurrency=64), Workload(2048, 512, request_rate=2.0)
    for engine, share in ((Engine.SGLANG, 1.0), (Engine.VLLM, 1 / BENCHMARK_ROUNDS), (Engine.TRTLLM, 0.1)):
        metrics = predict(arch, cluster, batch, closed, engine, kv_tokens)
        steady, wave = _column(metrics, "ttft_mean_ms"), _column(metrics, "synchronized_ttft_ms")
        # Where clients queue for slots the steady state is already the longer wait (A100 TP2 here): no wave added.
        expected = steady + share * np.maximum(wave - steady, 0.0)
        np.testing.assert_allclose(benchmark_ttft_ms(metrics, engine, True), expected)
        assert np.all(benchmark_ttft_ms(metrics, engine, True) >= steady)
        poisson = predict(arch, cluster, batch, open_loop, engine, kv_tokens)
        np.testing.assert_array_equal(benchmark_ttft_ms(poisson, engine, False), _column(poisson, "ttft_mean_ms"))


def test_budsims_own_configs_get_the_neutral_deployment_features() -> None:
    arch = _llama_70b()
    cluster, batch, kv_tokens = _a100_configs(arch)
    workload = Workload(2048, 512, concurrency=16)
    metrics = predict(arch, cluster, batch, workload, Engine.VLLM, kv_tokens)
    plain = feature_matrix(arch, cluster, batch, workload, Engine.VLLM, metrics)
    neutral = feature_matrix(
        arch, cluster, batch, workload, Engine.VLLM, metrics, expert_parallel=1, attention_dp=1, fp4_weights=0
    )
    np.testing.assert_array_equal(plain, neutral)
    wide = feature_matrix(arch, cluster, batch, workload, Engine.VLLM, metrics, expert_parallel=np.array([2, 4, 8]))
    assert wide[:, FEATURE_NAMES.index("log2_expert_parallel")].tolist() == [1.0, 2.0, 3.0]


def test_unmeasured_gpu_stays_within_the_clamp_of_the_physical_base(model: ResidualRegressor) -> None:
    arch = _llama_70b()
    cluster, batch, kv_tokens = _a100_configs(arch)
    assert cluster.gpu.name not in (model.coverage.gpus if model.coverage else ())
    for workload in (Workload(2048, 512, concurrency=c) for c in (1, 16, 256)):
        metrics = predict(arch, cluster, batch, workload, Engine.VLLM, kv_tokens)
        corrected = calibrate(model, arch, cluster, batch, workload, Engine.VLLM, metrics, kv_tokens)
        scales = corrected.scales.mean
        assert scales.shape == (3, len(TARGETS))
        assert np.all(np.abs(scales) <= np.array(CLAMP) + 1e-12)
        # Throughput follows from the corrected latencies: each client keeps one request in flight.
        cycle_s = (_column(corrected.metrics, "ttft_mean_ms") + 511 * _column(corrected.metrics, "tpot_ms")) / 1e3
        served = _column(corrected.metrics, "output_tokens_per_s")
        np.testing.assert_allclose(served, (workload.concurrency or 0) * 512 / cycle_s)


def test_an_open_loop_keeps_its_offered_throughput(model: ResidualRegressor) -> None:
    arch = _llama_70b()
    cluster, batch, kv_tokens = _a100_configs(arch)
    workload = Workload(2048, 512, request_rate=1.0)
    metrics = predict(arch, cluster, batch, workload, Engine.VLLM, kv_tokens)
    corrected = calibrate(model, arch, cluster, batch, workload, Engine.VLLM, metrics, kv_tokens)
    # TP 4 and 8 serve the offered request a second; TP 2 cannot, and serves its corrected capacity instead.
    served = _column(corrected.metrics, "output_tokens_per_s")
    np.testing.assert_allclose(served[1:], 512.0)
    assert served[0] < 512.0
    assert served[0] == pytest.approx(_column(corrected.metrics, "capacity_requests_per_s")[0] * 512)
    assert np.all(corrected.scales.mean != 0.0)
    # Saturated, its queue grows without bound: no finite latency is reported for it.
    np.testing.assert_array_equal(np.isfinite(_column(corrected.metrics, "tpot_ms")), [False, True, True])


def test_save_load_round_trip_gives_identical_predictions(
    data: Dataset, model: ResidualRegressor, tmp_path: Path
) -> None:
    sample = data.features[:200]
    before = model.log_scales(sample)
    restored = ResidualRegressor.load(model.save())
    path = tmp_path / "residual.json"
    write_model(model, path)
    from_file = read_model(path)
    for other in (restored, from_file):
        after = other.log_scales(sample)
        np.testing.assert_array_equal(before.mean, after.mean)
        np.testing.assert_array_equal(before.spread, after.spread)
    assert from_file.coverage == model.coverage
    assert from_file.clamp == model.clamp


def test_a_merged_forest_predicts_what_every_member_does_to_the_bit(data: Dataset, model: ResidualRegressor) -> None:
    """After `forest.merge()` a few rows take one XGBoost call (the leaf each row reaches in each tree) and a sum of
    leaf values: at every row count, missing features included, each member's prediction is XGBoost's own."""
    merged = ResidualRegressor.load(model.save())
    merged.forest.merge()
    assert merged.forest.merged
    assert not model.forest.merged
    rows = data.features[:40].copy()
    rows[::3, 5] = np.nan  # takes each split's default branch
    for count in (1, 2, FEW_ROWS, FEW_ROWS + 1, 40):
        matrix = xgb.DMatrix(rows[:count], feature_names=list(FEATURE_NAMES), nthread=1)
        got = merged.forest.predict(matrix)
        for target, members in model.boosters.items():
            np.testing.assert_array_equal(
                got[target], np.stack([m.predict(matrix) for m in members]).astype(np.float64)
            )
        corrected, expected = merged.log_scales(rows[:count]), model.log_scales(rows[:count])
        np.testing.assert_array_equal(corrected.mean, expected.mean)
        np.testing.assert_array_equal(corrected.spread, expected.spread)


def test_a_loaded_model_predicts_on_one_thread_like_a_trained_one(model: ResidualRegressor) -> None:
    """nthread is not saved with a model: a loaded one would predict on every core, which for the one-row predictions
    of `simulate` nearly doubled their CPU time (spinning OpenMP threads) without making them faster."""

    def threads(regressor: ResidualRegressor) -> set[str]:
        configs = [json.loads(b.save_config()) for members in regressor.boosters.values() for b in members]
        return {config["learner"]["generic_param"]["nthread"] for config in configs}

    assert threads(model) == {"1"}
    assert threads(ResidualRegressor.load(model.save())) == {"1"}


def test_a_model_file_from_another_budsim_is_retrained_not_misread(tmp_path: Path) -> None:
    sample = tmp_path / "sample.csv"
    with DEFAULT_CSV.open() as full:
        sample.write_text("".join(line for _, line in zip(range(121), full, strict=False)))
    path = tmp_path / "residual.json"
    path.write_text(json.dumps({"meta.json": {"format": "budsim-residual-regressor/1", "feature_names": ["tp"]}}))
    regressor = load_or_train(path, sample)
    assert regressor.feature_names == FEATURE_NAMES
    assert read_model(path).feature_names == FEATURE_NAMES


def test_a_regressor_pickles_as_its_saved_bytes_and_predicts_the_same_after(
    data: Dataset, model: ResidualRegressor
) -> None:
    """Child processes get their copy pickled: as bytes computed once, not booster by booster each time."""
    copy = pickle.loads(pickle.dumps(model))
    assert pickle.loads(pickle.dumps(model)).saved == model.saved
    sample = data.features[:50]
    np.testing.assert_array_equal(model.log_scales(sample).mean, copy.log_scales(sample).mean)
