"""Specification of the vectorised serving model: queueing, KV and slot limits, throughput, cost, and speed."""

import numpy as np
import pytest

from budsim.core.architecture import parse_hf_config
from budsim.core.catalog.gpus import GPUS
from budsim.core.catalog.models import CATALOG_BY_ID
from budsim.core.deployment import Cluster, ConfigBatch, ServingConfig, Workload
from budsim.core.errors import CoreError
from budsim.core.perf.engines import engine_profile
from budsim.core.perf.serving import ServingMetrics, predict, predict_one
from budsim.core.types import Dtype, Engine, Interconnect

LLAMA_70B = parse_hf_config(CATALOG_BY_ID["meta-llama/Llama-3.1-70B-Instruct"].config)
H200 = GPUS["H200-SXM"]
CLUSTER = Cluster(H200, 8, 4, Interconnect.NVLINK, 900.0, 100.0, 3.99)
KV = 400_000  # tokens of KV cache per replica, ample unless a test says otherwise


def fp8_config(tp: int = 4, pp: int = 1, replicas: int = 1, seqs: int = 256, budget: int = 8192) -> ServingConfig:
    return ServingConfig(tp, pp, seqs, budget, 0.9, 16384, replicas, Dtype.FP8, Dtype.BF16)


def predict_70b(
    workload: Workload, cfg: ServingConfig | None = None, kv: int = KV, engine: Engine = Engine.VLLM
) -> ServingMetrics:
    return predict_one(LLAMA_70B, CLUSTER, cfg or fp8_config(), workload, engine, kv)


def test_a_closed_loop_obeys_littles_law() -> None:
    metrics = predict_70b(Workload(1024, 256, concurrency=48))
    # Each of the 48 clients has one request in flight for e2e seconds: requests/s x e2e = 48.
    assert metrics.requests_per_s * metrics.e2e_mean_ms / 1e3 == pytest.approx(48, rel=0.02)
    assert metrics.output_tokens_per_s == pytest.approx(metrics.requests_per_s * 256)
    assert metrics.total_tokens_per_s == pytest.approx(metrics.requests_per_s * (1024 + 256))


def test_e2e_latency_is_ttft_plus_a_tpot_per_further_token() -> None:
    metrics = predict_70b(Workload(2048, 500, concurrency=16))
    assert metrics.e2e_mean_ms == pytest.approx(metrics.ttft_mean_ms + 499 * metrics.tpot_ms)


def test_cost_counts_every_gpu_of_every_replica() -> None:
    metrics = predict_70b(Workload(1024, 256, concurrency=64), fp8_config(tp=4, pp=2, replicas=3))
    assert metrics.cost_per_hour == pytest.approx(4 * 2 * 3 * 3.99)
    per_million = metrics.cost_per_hour / (metrics.output_tokens_per_s * 3600) * 1e6
    assert metrics.cost_per_million_tokens == pytest.approx(per_million)


def test_requests_spread_evenly_over_replicas() -> None:
    two = predict_70b(Workload(1024, 256, concurrency=64), fp8_config(replicas=2))
    single = predict_70b(Workload(1024, 256, concurrency=32), fp8_config(replicas=1))
    assert two.ttft_mean_ms == pytest.approx(single.ttft_mean_ms)
    assert two.tpot_ms == pytest.approx(single.tpot_ms)
    assert two.output_tokens_per_s == pytest.approx(2 * single.output_tokens_per_s)


def test_the_kv_cache_caps_the_running_batch_and_the_other_clients_wait_for_a_slot() -> None:
    # vLLM holds a request's prompt plus, on average, half its output: 10,000 / (1,000 + 500) = 6 requests.
    metrics = predict_70b(Workload(1000, 1000, concurrency=24), kv=10_000)
    assert metrics.batch_limit == 6
    assert metrics.running_batch == pytest.approx(6)
    assert metrics.kv_pressure == pytest.approx(24 * 1500 / 10_000)
    # 18 clients are not served: requests/s x the front end's latency of them are in the front end, the others wait
    # for a slot, draining at the completion rate (Little's law over the whole client cycle).
    rate, front_end = metrics.requests_per_s, engine_profile(Engine.VLLM).request_overhead_s
    assert metrics.slot_wait_ms == pytest.approx((18 - rate * front_end) / rate * 1e3)
    assert metrics.queue_wait_ms >= metrics.slot_wait_ms
    assert metrics.ttft_mean_ms > metrics.queue_wait_ms
    assert rate * metrics.e2e_mean_ms / 1e3 == pytest.approx(24)


def test_max_num_seqs_caps_the_running_batch() -> None:
    assert predict_70b(Workload(512, 128, concurrency=64), fp8_config(seqs=16)).running_batch == pytest.approx(16)


def test_trtllm_reserves_the_whole_output_so_fewer_requests_fit_its_cache() -> None:
    vllm = predict_70b(Workload(1000, 1000, concurrency=100), kv=60_000, engine=Engine.VLLM)
    trt = predict_70b(Workload(1000, 1000, concurrency=100), kv=60_000, engine=Engine.TRTLLM)
    assert (vllm.batch_limit, trt.batch_limit) == (40, 30)


def test_a_request_that_cannot_fit_the_kv_cache_or_max_model_len_is_reported_unusable() -> None:
    metrics = predict_70b(Workload(1000, 1000, concurrency=4), kv=1500)
    assert not metrics.fits
    assert metrics.ttft_mean_ms == np.inf
    assert metrics.output_tokens_per_s == 0.0
    assert metrics.cost_per_million_tokens == np.inf
    shorter_model_len = ServingConfig(4, 1, 256, 8192, 0.9, 1024, 1, Dtype.FP8, Dtype.BF16)
    assert not predict_70b(Workload(1000, 1000, concurrency=4), shorter_model_len).fits


def test_an_open_loop_beyond_capacity_is_saturated() -> None:
    capacity = predict_70b(Workload(1024, 256, request_rate=0.1)).capacity_requests_per_s
    over = predict_70b(Workload(1024, 256, request_rate=capacity * 1.2))
    assert over.saturated
    assert over.ttft_p99_ms == np.inf
    assert over.requests_per_s == pytest.approx(capacity)
    assert not predict_70b(Workload(1024, 256, request_rate=capacity * 0.8)).saturated


def test_open_loop_latency_and_its_tail_grow_with_load() -> None:
    capacity = predict_70b(Workload(4096, 256, request_rate=0.1)).capacity_requests_per_s
    light, heavy = (predict_70b(Workload(4096, 256, request_rate=capacity * load)) for load in (0.3, 0.9))
    assert light.requests_per_s == pytest.approx(capacity * 0.3)
    assert heavy.ttft_mean_ms > light.ttft_mean_ms
    assert heavy.tpot_ms > light.tpot_ms
    assert heavy.e2e_p99_ms > heavy.e2e_p50_ms


def test_the_p99_comes_from_queueing_not_from_a_fixed_multiple_of_the_median() -> None:
    capacity = predict_70b(Workload(4096, 256, request_rate=0.1)).capacity_requests_per_s
    ttft_ratios = [
        m.ttft_p99_ms / m.ttft_p50_ms
        for m in (predict_70b(Workload(4096, 256, request_rate=capacity * load)) for load in (0.2, 0.6, 0.95))
    ]
    assert ttft_ratios == sorted(ttft_ratios)
    assert ttft_ratios[-1] > 1.5 * ttft_ratios[0]


def test_sglang_pauses_decodes_for_prefill_so_long_prompts_inflate_its_tpot_more() -> None:
    def inflation(engine: Engine) -> float:
        short = predict_70b(Workload(256, 256, concurrency=32), engine=engine)
        long = predict_70b(Workload(8192, 256, concurrency=32), engine=engine)
        return long.tpot_ms / long.decode_step_ms - short.tpot_ms / short.decode_step_ms

    assert inflation(Engine.SGLANG) > inflation(Engine.VLLM) > 0


def test_the_analytical_terms_are_exposed_for_the_residual_model() -> None:
    metrics = predict_70b(Workload(4096, 512, concurrency=32))
    assert metrics.decode_memory_ms > metrics.decode_compute_ms  # decode streams weights and KV
    assert metrics.prefill_compute_ms > metrics.prefill_memory_ms  # a 4k prompt is compute-bound
    assert metrics.comm_ms > 0
    assert metrics.overhead_ms > 0
    assert 0 < metrics.prefill_step_share < 1
    assert metrics.synchronized_ttft_ms > metrics.ttft_mean_ms


def test_a_wave_of_prompts_that_fit_one_step_costs_the_front_end_and_that_one_step() -> None:
    # 4 clients x 1024 tokens fit the 8192-token budget: one step prefills all four, reading the weights once.
    metrics = predict_70b(Workload(1024, 256, concurrency=4))
    wave = metrics.synchronized_ttft_ms - engine_profile(Engine.VLLM).request_overhead_s * 1e3
    assert metrics.prefill_step_ms < wave < 4 * metrics.prefill_step_ms


def test_beyond_the_budget_a_wave_queues_in_full_steps() -> None:
    # 64 and 128 clients x 1024 tokens are 8 and 16 budgets: the k-th prompt is done after k/8 full steps, so the
    # wave's mean wait is (waves + 1) / 2 full steps.
    frontend = engine_profile(Engine.VLLM).request_overhead_s * 1e3
    eight = predict_70b(Workload(1024, 256, concurrency=64)).synchronized_ttft_ms - frontend
    sixteen = predict_70b(Workload(1024, 256, concurrency=128)).synchronized_ttft_ms - frontend
    assert sixteen / eight == pytest.approx((16 + 1) / (8 + 1), rel=1e-9)


@pytest.mark.parametrize("engine", list(Engine))
def test_every_engine_prices_a_wave_as_prefill_steps_above_its_steady_state(engine: Engine) -> None:
    # Short prompts at high concurrency make SGLang's decode step longer than its prefill-only step; a wave is still
    # its front end plus at least one prefill step.
    for workload in (Workload(256, 1024, concurrency=256), Workload(4096, 512, concurrency=32)):
        metrics = predict_70b(workload, engine=engine)
        assert metrics.synchronized_ttft_ms > engine_profile(engine).request_overhead_s * 1e3 + metrics.prefill_step_ms
        assert metrics.synchronized_ttft_ms > metrics.ttft_mean_ms


def test_ttft_includes_the_engines_front_end_latency() -> None:
    metrics = predict_70b(Workload(128, 64, concurrency=1))
    assert metrics.ttft_mean_ms > engine_profile(Engine.VLLM).request_overhead_s * 1e3 + metrics.prefill_step_ms


def test_predict_one_matches_the_batched_prediction() -> None:
    configs = [fp8_config(tp=tp) for tp in (2, 4, 8)]
    batched = predict(LLAMA_70B, CLUSTER, ConfigBatch.from_configs(configs), Workload(1024, 256, concurrency=32),
                      Engine.TRTLLM, np.array([KV] * 3))  # fmt: skip
    single = predict_one(LLAMA_70B, CLUSTER, configs[1], Workload(1024, 256, concurrency=32), Engine.TRTLLM, KV)
    assert single.tpot_ms == pytest.approx(float(batched.tpot_ms[1]))
    assert single.ttft_p99_ms == pytest.approx(float(batched.ttft_p99_ms[1]))


def test_a_workload_needs_exactly_one_of_concurrency_or_request_rate() -> None:
    with pytest.raises(CoreError, match="exactly one"):
        predict_70b(Workload(1024, 256))
    with pytest.raises(CoreError, match="exactly one"):
        predict_70b(Workload(1024, 256, concurrency=8, request_rate=1.0))
