"""Specification of the REGRESSOR method's forward model (`core.calibration`): corrections act on service times.

The regressor's scales multiply decode steps, prompt work and the front end; queueing, TTFT and throughput are then
derived from the corrected capacity. So a closed loop far beyond max_num_seqs reports that capacity and no more, the
step-level scheduler simulation run with the same scales agrees, and `fit_log_scales` inverts the forward model.
"""

from dataclasses import replace

import numpy as np
import pytest

from budsim.core.architecture import ModelArchitecture
from budsim.core.calibration import calibrate, corrected_metrics, fit_log_scales
from budsim.core.catalog.fabrics import catalog_cluster
from budsim.core.catalog.gpus import GPUS
from budsim.core.deployment import Cluster, ConfigBatch, ServingConfig, Workload
from budsim.core.memory import memory_breakdown
from budsim.core.perf.engines import engine_profile
from budsim.core.perf.scheduler_sim import simulate
from budsim.core.perf.serving import ServingMetrics, predict
from budsim.core.perf.step import replica_cost
from budsim.core.predictors import ResidualRegressor
from budsim.core.types import Dtype, Engine, IntArray
from tests import factories

LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"


def _setup(seqs: int, weights: Dtype = Dtype.FP8) -> tuple[ModelArchitecture, Cluster, ConfigBatch, IntArray]:
    arch, cluster = factories.arch(LLAMA_8B), catalog_cluster(GPUS["H100-SXM"], 8)
    batch = ConfigBatch.single(ServingConfig(1, 1, seqs, 8192, 0.9, 8192, 1, weights, Dtype.BF16))
    return arch, cluster, batch, memory_breakdown(arch, cluster.gpu.usable_memory_gb, batch).kv_tokens


def _value(metrics: ServingMetrics, name: str) -> float:
    return float(np.asarray(getattr(metrics, name)).reshape(-1)[0])


def test_a_closed_loop_far_beyond_the_batch_limit_serves_the_corrected_capacity_and_no_more(
    regressor: ResidualRegressor,
) -> None:
    arch, cluster, batch, kv = _setup(seqs=256)
    rates = []
    for clients in (256, 1024, 2048):
        workload = Workload(2048, 128, concurrency=clients)
        analytical = predict(arch, cluster, batch, workload, Engine.TRTLLM, kv)
        corrected = calibrate(regressor, arch, cluster, batch, workload, Engine.TRTLLM, analytical, kv).metrics
        rates.append(_value(corrected, "requests_per_s"))
        assert _value(corrected, "running_batch") <= 256
        # Little's law over the clients' whole cycle: the extra clients wait, they are not served faster.
        assert rates[-1] * _value(corrected, "e2e_mean_ms") / 1e3 == pytest.approx(clients)
    assert rates[2] == pytest.approx(rates[1], rel=0.02)
    assert rates[2] <= rates[0] * 1.05


def test_the_corrected_forward_model_agrees_with_the_scheduler_simulated_on_the_same_scaled_times() -> None:
    """Beyond max_num_seqs the clients queue for a slot; the simulation replays that step by step on the step
    times the scales correct, and the vectorised model must agree with it."""
    arch, cluster, batch, kv = _setup(seqs=64)
    workload = Workload(1024, 128, concurrency=512)
    log_scales = np.log(np.array([[1.3, 0.8, 1.5]]))
    corrected = corrected_metrics(arch, cluster, batch, workload, Engine.VLLM, kv, log_scales)
    profile = engine_profile(Engine.VLLM)
    cost = replica_cost(arch, cluster, batch, profile).with_scales(1.3, 0.8).at(0)
    scaled_profile = replace(profile, request_overhead_s=profile.request_overhead_s * 1.5)
    sim = simulate(cost, scaled_profile, max_num_seqs=64, max_num_batched_tokens=8192, kv_tokens=int(kv[0]),
                   input_tokens=1024, output_tokens=128, concurrency=512, num_requests=3000, warmup_requests=600,
                   stagger_s=5.0, jitter_s=_value(corrected, "decode_step_ms") / 1e3)  # fmt: skip
    assert _value(corrected, "output_tokens_per_s") == pytest.approx(sim.output_tokens_per_s, rel=0.10)
    assert _value(corrected, "tpot_ms") == pytest.approx(sim.tpot_s.mean() * 1e3, rel=0.15)
    assert _value(corrected, "ttft_mean_ms") == pytest.approx(sim.ttft_s.mean() * 1e3, rel=0.15)


def test_scales_speed_up_service_only_as_far_as_the_hardware_allows() -> None:
    arch, cluster, batch, kv = _setup(seqs=256)
    workload = Workload(4096, 16, concurrency=256)
    physical = corrected_metrics(arch, cluster, batch, workload, Engine.VLLM, kv, np.zeros((1, 3)))
    fastest = corrected_metrics(arch, cluster, batch, workload, Engine.VLLM, kv, np.full((1, 3), -5.0))
    # 100x faster steps asked; the compute limit allows a fraction more than the analytical kernels reach.
    gain = _value(fastest, "total_tokens_per_s") / _value(physical, "total_tokens_per_s")
    assert 1.0 < gain < 2.0


def test_fitting_the_scales_reproduces_the_measurements_they_came_from() -> None:
    """Two measurements do not pin three scales, so the fit is judged by what it reproduces, not by the scales."""
    arch, cluster, _, _ = _setup(seqs=256)
    configs = [ServingConfig(tp, 1, 256, 8192, 0.9, 4096, 1, Dtype.BF16, Dtype.BF16) for tp in (1, 2, 4)]
    batch = ConfigBatch.from_configs(configs)
    kv = memory_breakdown(arch, cluster.gpu.usable_memory_gb, batch).kv_tokens
    workload = Workload(2048, 256, concurrency=16)
    truth = np.log(np.array([[1.2, 0.9, 1.6], [0.9, 1.1, 0.7], [1.05, 1.3, 1.0]]))
    measured = corrected_metrics(arch, cluster, batch, workload, Engine.TRTLLM, kv, truth)
    ttft, tpot = np.asarray(measured.ttft_mean_ms), np.asarray(measured.tpot_ms)
    fitted = fit_log_scales(arch, cluster, batch, workload, Engine.TRTLLM, kv, ttft, tpot)
    again = corrected_metrics(arch, cluster, batch, workload, Engine.TRTLLM, kv, fitted)
    np.testing.assert_allclose(np.asarray(again.tpot_ms), tpot, rtol=0.01)
    np.testing.assert_allclose(np.asarray(again.ttft_mean_ms), ttft, rtol=0.03)


def test_a_run_the_model_sees_waiting_for_a_slot_teaches_only_the_decode_scale() -> None:
    arch, cluster, batch, kv = _setup(seqs=16, weights=Dtype.BF16)
    workload = Workload(1024, 128, concurrency=256)
    measured = corrected_metrics(arch, cluster, batch, workload, Engine.VLLM, kv, np.zeros((1, 3)))
    fitted = fit_log_scales(
        arch, cluster, batch, workload, Engine.VLLM, kv, np.asarray(measured.ttft_mean_ms) / 3, measured.tpot_ms
    )
    assert np.isfinite(fitted[0, 0])
    assert np.isnan(fitted[0, 1:]).all()
