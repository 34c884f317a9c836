"""Specification of the engine profiles: scheduling traits from the engines' defaults, speeds from paired benchmarks."""

import pytest

from budsim.core.perf.engines import ENGINES, engine_profile
from budsim.core.types import Engine


def test_every_engine_has_a_profile() -> None:
    assert set(ENGINES) == set(Engine)
    assert all(engine_profile(engine).engine == engine for engine in Engine)


def test_vllm_is_the_kernel_speed_reference_and_the_others_follow_the_paired_benchmarks() -> None:
    speeds = {e: (engine_profile(e).decode_kernel_factor, engine_profile(e).prefill_kernel_factor) for e in Engine}
    assert speeds[Engine.VLLM] == (1.0, 1.0)
    assert speeds[Engine.TRTLLM] == (0.90, 0.94)  # TensorRT-LLM/vLLM TPOT and TTFT ratio medians, 304 pairs
    assert speeds[Engine.SGLANG] == (pytest.approx(0.903 * 1.052, abs=0.005), 1.0)  # chained through TensorRT-LLM


def test_only_sglang_runs_prompt_steps_apart_from_decode_steps() -> None:
    assert [e for e in Engine if not engine_profile(e).mixes_prefill_with_decode] == [Engine.SGLANG]


def test_engines_that_reserve_kv_at_admission_hold_more_of_each_output() -> None:
    vllm, sglang, trt = (engine_profile(e) for e in (Engine.VLLM, Engine.SGLANG, Engine.TRTLLM))
    assert not vllm.reserves_kv_at_admission
    assert vllm.kv_reserved_output_fraction == 0.5  # grown on demand: half the output on average
    assert (sglang.reserves_kv_at_admission, sglang.kv_reserved_output_fraction) == (True, 0.7)
    assert (trt.reserves_kv_at_admission, trt.kv_reserved_output_fraction) == (True, 1.0)


def test_default_budgets_are_the_engines_own_defaults_on_80gb_class_gpus() -> None:
    assert [engine_profile(e).default_max_num_batched_tokens for e in Engine] == [8192, 8192, 8192]
    assert engine_profile(Engine.VLLM).default_max_num_seqs == 1024
    assert engine_profile(Engine.TRTLLM).default_max_num_seqs == 2048


def test_front_end_latency_is_tens_of_milliseconds_for_vllm_and_more_for_the_others() -> None:
    # Medians of the measured TTFT in excess of the analytical one at low load (concurrency <= 8, one budget of
    # prompt tokens or less, tensor parallelism only) over the aiconfigurator benchmarks.
    latencies = {e: engine_profile(e).request_overhead_s for e in Engine}
    assert latencies == {Engine.VLLM: 0.041, Engine.SGLANG: 0.233, Engine.TRTLLM: 0.111}
