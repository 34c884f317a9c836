"""Result files read into runs: each tool's field names, its units, and its load, from small synthetic files in each
format (tests/fixtures/benchmarks: Llama-3.1-8B on one H100, 1000 prompt and 200 output tokens)."""

import json
from pathlib import Path

import pytest

from budsim.core.errors import CoreError
from budsim.core.imports import BenchmarkFormat, ImportedRun, parse
from budsim.core.measurements import MeasuredMetrics

FIXTURES = Path(__file__).parent.parent / "fixtures" / "benchmarks"
LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"


def read(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_a_vllm_save_result_file_is_one_closed_loop_run_with_its_model_and_every_metric() -> None:
    [run] = parse(BenchmarkFormat.VLLM, read("vllm_serve_c16.json"))
    assert run == ImportedRun(
        where="the file",
        model=LLAMA_8B,
        input_tokens=1000,  # 160000 prompt tokens over 160 completed requests
        output_tokens=200,
        concurrency=16,  # max_concurrency, at an unbounded request rate ("inf")
        request_rate=None,
        metrics=MeasuredMetrics(
            ttft_ms=48.2,
            ttft_p50_ms=46.9,
            ttft_p99_ms=88.4,
            tpot_ms=9.6,
            output_tokens_per_s=1633.8,
            requests_per_s=8.16,
            e2e_latency_ms=1958.6,
            e2e_p99_ms=2210.3,
        ),
    )


def test_sglang_jsonl_is_a_run_a_line_open_loop_at_its_rate_without_a_model() -> None:
    runs = parse(BenchmarkFormat.SGLANG, read("sglang_bench_serving.jsonl"))
    assert [(r.where, r.request_rate, r.concurrency, r.model) for r in runs] == [
        ("line 1", 4.0, None, None),
        ("line 2", 8.0, None, None),
    ]
    assert (runs[1].metrics.e2e_latency_ms, runs[1].metrics.e2e_p99_ms, runs[1].metrics.tpot_ms) == (
        1720.0,
        2380.0,
        8.4,
    )
    assert (runs[0].input_tokens, runs[0].output_tokens, runs[0].metrics.output_tokens_per_s) == (1000, 200, 796.0)


def test_a_guidellm_report_is_a_run_per_benchmark_with_itl_as_tpot_and_latency_in_ms() -> None:
    runs = parse(BenchmarkFormat.GUIDELLM, read("guidellm_report.json"))
    assert [(r.where, r.concurrency, r.request_rate, r.model) for r in runs] == [
        ("benchmarks[0]", 1, None, LLAMA_8B),  # synchronous: one request at a time
        ("benchmarks[1]", 8, None, LLAMA_8B),  # concurrent, 8 streams
    ]
    sync = runs[0]
    assert (sync.metrics.ttft_ms, sync.metrics.ttft_p50_ms, sync.metrics.ttft_p99_ms) == (14.1, 13.9, 19.5)
    assert sync.metrics.tpot_ms == 6.9  # inter_token_latency_ms, not time_per_output_token_ms
    assert sync.metrics.e2e_latency_ms == pytest.approx(1387.2)  # request_latency is in seconds
    assert sync.metrics.e2e_p99_ms == pytest.approx(1450.0)
    assert (sync.metrics.output_tokens_per_s, sync.metrics.requests_per_s) == (144.2, 0.72)


def test_a_guidellm_constant_rate_benchmark_is_open_loop() -> None:
    report = json.loads(read("guidellm_report.json"))
    report["benchmarks"][1]["config"]["strategy"] = {"type_": "poisson", "rate": 4.5}
    [_, poisson] = parse(BenchmarkFormat.GUIDELLM, json.dumps(report))
    assert (poisson.concurrency, poisson.request_rate) == (None, 4.5)


def vllm_with(**changes: object) -> str:
    return json.dumps(json.loads(read("vllm_serve_c16.json")) | changes)


@pytest.mark.parametrize(
    ("format", "content", "says"),
    [
        (BenchmarkFormat.VLLM, "{not json", "the file: not JSON"),
        (BenchmarkFormat.VLLM, "[1, 2]", "must be a JSON object"),
        (BenchmarkFormat.VLLM, vllm_with(max_concurrency=None), "a burst rather than a load"),
        (BenchmarkFormat.VLLM, vllm_with(completed=0), "finished no request"),
        (BenchmarkFormat.VLLM, vllm_with(mean_ttft_ms="fast"), "mean_ttft_ms must be a number"),
        (BenchmarkFormat.VLLM, vllm_with(max_concurrency=2.5), "max_concurrency must be a whole number"),
        (BenchmarkFormat.VLLM, vllm_with(request_rate=-1), "request_rate must be positive"),
        (BenchmarkFormat.VLLM, vllm_with(completed=1e-310), "no finite mean per request"),  # would overflow
        (BenchmarkFormat.SGLANG, "\n\n", "holds no run"),
        (BenchmarkFormat.SGLANG, '{"completed": 1}\nnope', "line 1: neither a request rate"),
        (BenchmarkFormat.GUIDELLM, '{"benchmarks": []}', "has no benchmarks list"),
        (BenchmarkFormat.GUIDELLM, '{"benchmarks": [{"metrics": {}}]}', "strategy None is neither"),
    ],
)
def test_a_file_that_is_not_a_run_names_where_it_is_wrong(format: BenchmarkFormat, content: str, says: str) -> None:
    with pytest.raises(CoreError) as error:
        parse(format, content)
    assert error.value.field == "content"
    assert says in error.value.message
