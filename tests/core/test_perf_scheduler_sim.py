"""Specification of the step-level scheduler simulation, and of the serving approximation against it.

The last test is the contract between `serving.predict` (the vectorised hot path) and `scheduler_sim.simulate` (the
reference): over a grid of five models (dense, MoE, sliding-window, MLA), three engines, three request shapes and
four loads, the approximation stays within these bounds of the simulation (relative error per scenario, and the
median over the grid's 20 scenarios):

    metric                 open loop (Poisson)   closed loop                     median over the grid
    output throughput      6%                    20%                             2%
    TPOT                   25%                   20%                             8%
    TTFT mean              30%                   60%                             20%
    TTFT p99               30%                   (not held)                      -
    E2E p50                20%                   20%                             5%
    E2E p99                45%                   50%                             15%

Closed-loop clients start staggered over 5 s and resubmit after an exponential jitter of one decode step: with fixed
request lengths and no jitter the loop phase-locks (requests that finish together come back together), and its TTFT
then depends on how it started rather than on the configuration. Two regimes outside the grid are known to diverge
and are left to the residual model: vLLM under KV pressure, where recompute preemptions inflate TTFT up to 50x, and
SGLang closed loops saturated by long prompts, where bursts of prompts queue behind each other (TTFT 3-10x). Since every
GEMM pays a fixed latency, an SGLang prompt step costs nearly as much with one prompt as with two, and its closed loops
bunch prompts (requests ending in the same decode step come back together) more than the approximation counts: 16% on
throughput for the MoE at 64 clients, hence 20% there.
"""

from dataclasses import replace

import numpy as np
import pytest

from budsim.core.architecture import ModelArchitecture
from budsim.core.catalog.gpus import GPUS
from budsim.core.deployment import Cluster, ConfigBatch, ServingConfig, Workload
from budsim.core.perf.engines import engine_profile
from budsim.core.perf.scheduler_sim import simulate
from budsim.core.perf.serving import predict_one
from budsim.core.perf.step import ReplicaCost, chunk_pairs, decode_load, prefill_load, replica_cost, step_time
from budsim.core.types import Dtype, Engine, Interconnect
from tests.factories import arch


def setup(
    hf_id: str, gpu: str, tp: int, weights: Dtype, engine: Engine, budget: int = 8192, seqs: int = 256
) -> tuple[ModelArchitecture, Cluster, ServingConfig, ReplicaCost]:
    spec = GPUS[gpu]
    cluster = Cluster(spec, 8, 1, Interconnect.NVLINK, spec.interconnect_gbs, 100.0, spec.cost_per_hour)
    config = ServingConfig(tp, 1, seqs, budget, 0.9, 32768, 1, weights, Dtype.BF16)
    model = arch(hf_id)
    cost = replica_cost(model, cluster, ConfigBatch.single(config), engine_profile(engine)).at(0)
    return model, cluster, config, cost


LLAMA_8B = ("meta-llama/Llama-3.1-8B-Instruct", "H100-SXM", 1, Dtype.BF16)


def seconds(cost: ReplicaCost, *loads: tuple[str, float, float]) -> float:
    """Sum of step times: ("prefill", tokens, offset) or ("decode", batch, context)."""
    total = 0.0
    for kind, a, b in loads:
        load = prefill_load(a, b) if kind == "prefill" else decode_load(a, b)
        total += float(step_time(cost, load).total_s)
    return total


def test_a_lone_request_costs_its_front_end_latency_one_prefill_step_and_one_decode_step_per_token() -> None:
    *_, cost = setup(*LLAMA_8B, Engine.VLLM)
    result = simulate(cost, engine_profile(Engine.VLLM), max_num_seqs=256, max_num_batched_tokens=8192,
                      kv_tokens=100_000, input_tokens=512, output_tokens=8, concurrency=1, num_requests=3,
                      warmup_requests=1)  # fmt: skip
    front_end = engine_profile(Engine.VLLM).request_overhead_s
    prefill = seconds(cost, ("prefill", 512.0, 0.0))
    decodes = seconds(cost, *(("decode", 1.0, 512.0 + k) for k in range(1, 8)))  # contexts 513..519
    assert result.ttft_s == pytest.approx([front_end + prefill] * 2)
    assert result.e2e_s == pytest.approx([front_end + prefill + decodes] * 2)
    assert result.tpot_s == pytest.approx([decodes / 7] * 2)


def test_a_long_prompt_is_chunked_over_the_token_budget() -> None:
    *_, cost = setup(*LLAMA_8B, Engine.VLLM, budget=4096)
    result = simulate(cost, engine_profile(Engine.VLLM), max_num_seqs=256, max_num_batched_tokens=4096,
                      kv_tokens=100_000, input_tokens=10_000, output_tokens=2, concurrency=1, num_requests=2,
                      warmup_requests=1)  # fmt: skip
    front_end = engine_profile(Engine.VLLM).request_overhead_s
    # Two full chunks that sample nothing, then the 1,808-token tail whose step samples the first token.
    chunks = sum(float(step_time(cost, prefill_load(4096.0, offset, sampled=0.0)).total_s) for offset in (0.0, 4096.0))
    last = step_time(cost, prefill_load(1808.0, 8192.0))
    assert chunk_pairs(1808.0, 8192.0, None)[0] == 1808 * 8192 + 1808 * 1809 / 2
    assert result.ttft_s[0] == pytest.approx(front_end + chunks + float(last.total_s))


def test_sglang_pauses_decodes_for_prompts_trading_tpot_for_ttft() -> None:
    *_, cost = setup(*LLAMA_8B, Engine.SGLANG)
    sglang = engine_profile(Engine.SGLANG)
    mixing = replace(sglang, mixes_prefill_with_decode=True)  # the same engine, were it to mix
    runs = [
        simulate(cost, profile, max_num_seqs=256, max_num_batched_tokens=8192, kv_tokens=500_000,
                 input_tokens=4000, output_tokens=256, request_rate=4.0, num_requests=400, warmup_requests=100)
        for profile in (sglang, mixing)
    ]  # fmt: skip
    # Decodes sit out every prompt step instead of riding along in it, so TPOT rises by a decode step per prompt
    # step; prompts no longer share their steps with the decodes, so TTFT falls.
    assert runs[0].tpot_s.mean() > 1.03 * runs[1].tpot_s.mean()
    assert runs[0].ttft_s.mean() < runs[1].ttft_s.mean()


def test_vllm_preempts_the_newest_request_when_the_kv_cache_runs_out_and_still_serves_everyone() -> None:
    *_, cost = setup(*LLAMA_8B, Engine.VLLM)
    result = simulate(cost, engine_profile(Engine.VLLM), max_num_seqs=256, max_num_batched_tokens=8192,
                      kv_tokens=2000, input_tokens=100, output_tokens=400, concurrency=8, num_requests=60,
                      warmup_requests=10)  # fmt: skip
    assert result.preemptions > 0
    assert result.completed == 50
    assert result.output_tokens == 50 * 400


def test_engines_that_reserve_kv_at_admission_never_preempt() -> None:
    *_, cost = setup(*LLAMA_8B, Engine.TRTLLM)
    result = simulate(cost, engine_profile(Engine.TRTLLM), max_num_seqs=256, max_num_batched_tokens=8192,
                      kv_tokens=2000, input_tokens=100, output_tokens=400, concurrency=8, num_requests=60,
                      warmup_requests=10)  # fmt: skip
    assert result.preemptions == 0
    assert result.mean_running <= 2000 / 500 + 1e-9  # prompt + the whole output reserved: 4 at a time


def test_an_open_loop_below_capacity_completes_what_is_offered() -> None:
    *_, cost = setup(*LLAMA_8B, Engine.VLLM)
    result = simulate(cost, engine_profile(Engine.VLLM), max_num_seqs=256, max_num_batched_tokens=8192,
                      kv_tokens=500_000, input_tokens=1000, output_tokens=100, request_rate=5.0,
                      num_requests=1500, warmup_requests=200, seed=3)  # fmt: skip
    assert result.requests_per_s == pytest.approx(5.0, rel=0.06)


# (model, gpu, tp, weights, engine, input, output, token budget)
GRID_SETUPS = [
    ("meta-llama/Llama-3.1-8B-Instruct", "H100-SXM", 1, Dtype.BF16, Engine.VLLM, 2048, 256, 2048),
    ("meta-llama/Llama-3.1-70B-Instruct", "H200-SXM", 4, Dtype.FP8, Engine.TRTLLM, 512, 128, 8192),
    ("Qwen/Qwen3-30B-A3B", "H100-SXM", 2, Dtype.BF16, Engine.SGLANG, 512, 128, 8192),
    ("openai/gpt-oss-120b", "H200-SXM", 2, Dtype.INT4, Engine.VLLM, 6000, 128, 8192),
    ("deepseek-ai/DeepSeek-V3", "H200-SXM", 8, Dtype.FP8, Engine.TRTLLM, 2048, 256, 2048),
]
LOADS = ("open 0.3", "open 0.7", "closed 8", "closed 64")
OPEN_LIMITS = {"throughput": 0.06, "tpot": 0.25, "ttft": 0.30, "ttft_p99": 0.30, "e2e_p50": 0.20, "e2e_p99": 0.45}
CLOSED_LIMITS = {"throughput": 0.20, "tpot": 0.20, "ttft": 0.60, "e2e_p50": 0.20, "e2e_p99": 0.50}
MEDIAN_LIMITS = {"throughput": 0.02, "tpot": 0.08, "ttft": 0.20, "e2e_p50": 0.05, "e2e_p99": 0.15}


def _grid_errors() -> list[tuple[str, dict[str, float]]]:
    rows = []
    for hf_id, gpu, tp, weights, engine, prompt, output, budget in GRID_SETUPS:
        model, cluster, config, cost = setup(hf_id, gpu, tp, weights, engine, budget=budget)
        kv = 400 * (prompt + output)
        capacity = predict_one(model, cluster, config, Workload(prompt, output, concurrency=10_000), engine, kv)
        for load in LOADS:
            kind, amount = load.split()
            if kind == "open":
                workload = Workload(prompt, output, request_rate=capacity.requests_per_s * float(amount))
                arrivals = {"request_rate": workload.request_rate}
            else:
                workload = Workload(prompt, output, concurrency=int(amount))
                arrivals = {"concurrency": int(amount), "stagger_s": 5.0, "jitter_s": capacity.decode_step_ms / 1e3}
            approx = predict_one(model, cluster, config, workload, engine, kv)
            sim = simulate(cost, engine_profile(engine), max_num_seqs=256, max_num_batched_tokens=budget,
                           kv_tokens=kv, input_tokens=prompt, output_tokens=output, num_requests=1000,
                           warmup_requests=200, seed=1, **arrivals)  # fmt: skip
            pairs = {
                "throughput": (approx.output_tokens_per_s, sim.output_tokens_per_s),
                "tpot": (approx.tpot_ms, sim.tpot_s.mean() * 1e3),
                "ttft": (approx.ttft_mean_ms, sim.ttft_s.mean() * 1e3),
                "ttft_p99": (approx.ttft_p99_ms, np.percentile(sim.ttft_s, 99) * 1e3),
                "e2e_p50": (approx.e2e_p50_ms, np.median(sim.e2e_s) * 1e3),
                "e2e_p99": (approx.e2e_p99_ms, np.percentile(sim.e2e_s, 99) * 1e3),
            }
            errors = {name: abs(a / s - 1.0) for name, (a, s) in pairs.items()}
            rows.append((f"{hf_id} {engine.value} {prompt}/{output} {load}", errors))
    return rows


def test_the_queueing_approximation_stays_within_stated_bounds_of_the_simulation() -> None:
    rows = _grid_errors()
    failures = []
    for name, errors in rows:
        limits = OPEN_LIMITS if " open " in name else CLOSED_LIMITS
        failures += [f"{name}: {m} off by {errors[m]:.0%} > {limit:.0%}" for m, limit in limits.items()
                     if errors[m] > limit]  # fmt: skip
    assert not failures
    for metric, limit in MEDIAN_LIMITS.items():
        assert np.median([errors[metric] for _, errors in rows]) <= limit, metric
