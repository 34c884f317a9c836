"""Benchmark result files people already have, read into typed runs: pure functions, no I/O.

Three formats, each read by the field names its tool writes (checked against the tools' sources):

- `VLLM`: the JSON object `vllm bench serve --save-result` writes (vllm-project/vllm, vllm/benchmarks/serve.py:
  `benchmark()`'s `result` dict plus the run's arguments that `main` adds). Read: `model_id`, `max_concurrency`,
  `request_rate` (a number, or the string "inf"), `completed`, `total_input_tokens`, `total_output_tokens`,
  `request_throughput`, `output_throughput`, `mean_ttft_ms`, `median_ttft_ms`, `p99_ttft_ms`, `mean_tpot_ms`,
  `mean_e2el_ms`, `p99_e2el_ms` (the `p99_*` keys exist when 99 is among `--metric-percentiles`, its default).
- `SGLANG`: the JSONL `python -m sglang.bench_serving --output-file` appends, one result object a line
  (sgl-project/sglang, python/sglang/bench_serving.py, `benchmark()`'s `result` dict). Read: `request_rate`
  (`Infinity` when unbounded), `max_concurrency`, `completed`, `total_input_tokens`, `total_output_tokens`,
  `request_throughput`, `output_throughput`, `mean_e2e_latency_ms`, `p99_e2e_latency_ms`, `mean_ttft_ms`,
  `median_ttft_ms`, `p99_ttft_ms`, `mean_tpot_ms`; the model from `model_id` or `model` where a version writes one.
- `GUIDELLM`: a GuideLLM report (`guidellm benchmark --output-path report.json`): `{"benchmarks": [...]}`, each
  benchmark with `config.strategy` (older reports: `args.strategy`) of `type_` `synchronous`, `concurrent`
  (`streams`), `constant` or `poisson` (`rate`), and `metrics` of distribution summaries whose `successful` part has
  `mean`, `median` and `percentiles.p99` (vllm-project/guidellm, src/guidellm/benchmark/schemas/generative/
  metrics.py, `GenerativeMetrics`): `time_to_first_token_ms`, `inter_token_latency_ms` (the gap between output
  tokens after the first: what vLLM and SGLang call TPOT; GuideLLM's own `time_per_output_token_ms` spreads the first
  token's wait over every token, so it is not read), `request_latency` (seconds), `output_tokens_per_second`,
  `requests_per_second`, `prompt_token_count`, `output_token_count`. The model from the report's `args.model`.

The load: a finite request rate is an open loop at that rate; otherwise `max_concurrency` (or GuideLLM's `streams`,
or 1 for `synchronous`) is a closed loop. A run with neither (every prompt sent at once) is refused: it measured a
burst, not a load a deployment serves.
"""

import json
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from budsim.core.errors import CoreError
from budsim.core.measurements import MeasuredMetrics


class BenchmarkFormat(StrEnum):
    VLLM = "VLLM"
    SGLANG = "SGLANG"
    GUIDELLM = "GUIDELLM"


MAX_CONTENT_CHARS = 20_000_000  # a GuideLLM report with its sampled requests; far more is not a result file
MAX_RUNS = 500  # as many as one `recordBenchmarks` call stores


@dataclass(frozen=True, slots=True)
class ImportedRun:
    """One measured run as the file gives it; `where` says where in the file (`line 3`, `benchmarks[1]`)."""

    where: str
    model: str | None
    input_tokens: int
    output_tokens: int
    concurrency: int | None
    request_rate: float | None
    metrics: MeasuredMetrics


def _number(record: dict[str, Any], key: str, where: str) -> float | None:
    """A figure the tool wrote, or None where it wrote none (or null, or a non-positive placeholder)."""
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CoreError("content", f"{where}: {key} must be a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def _rate(value: Any, where: str) -> float | None:
    """A request rate: None when unbounded (`inf`, "inf", `Infinity`) or absent."""
    if value is None or value in ("inf", "Infinity"):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CoreError("content", f"{where}: request_rate must be a number or inf, got {value!r}")
    if math.isinf(value):
        return None
    if not math.isfinite(value) or value <= 0:
        raise CoreError("content", f"{where}: request_rate must be positive, got {value!r}")
    return float(value)


def _concurrency(value: Any, where: str, key: str = "max_concurrency") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value // 1 or value < 1:
        raise CoreError("content", f"{where}: {key} must be a whole number of requests, got {value!r}")
    return int(value)


def _load(concurrency: int | None, rate: float | None, where: str) -> tuple[int | None, float | None]:
    if rate is not None:
        return None, rate
    if concurrency is not None:
        return concurrency, None
    raise CoreError(
        "content",
        f"{where}: neither a request rate nor a maximum concurrency: every prompt was sent at once, a burst rather "
        "than a load; rerun with --max-concurrency (closed loop) or --request-rate (open loop)",
    )


def _mean_tokens(record: dict[str, Any], key: str, completed: float, where: str) -> int:
    total = _number(record, key, where)
    if total is None:
        raise CoreError("content", f"{where}: {key} is missing or not positive")
    return _whole_tokens(total / completed, key, where)


def _whole_tokens(mean: float, key: str, where: str) -> int:
    """A mean token count as the whole number a run is stored with; the API bounds it (`MAX_TOKENS`)."""
    if not math.isfinite(mean):
        raise CoreError("content", f"{where}: {key} gives no finite mean per request")
    return max(round(mean), 1)


def _model(record: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = record.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _serving_run(record: Any, where: str, e2e_mean: str, e2e_p99: str) -> ImportedRun:
    """vLLM's and SGLang's result objects: the same summary keys, but for end-to-end latency."""
    if not isinstance(record, dict):
        raise CoreError("content", f"{where}: must be a JSON object, got {type(record).__name__}")
    completed = _number(record, "completed", where)
    if completed is None:
        raise CoreError("content", f"{where}: completed is missing or 0: the run finished no request")
    concurrency, rate = _load(
        _concurrency(record.get("max_concurrency"), where), _rate(record.get("request_rate"), where), where
    )
    return ImportedRun(
        where=where,
        model=_model(record, "model_id", "model"),
        input_tokens=_mean_tokens(record, "total_input_tokens", completed, where),
        output_tokens=_mean_tokens(record, "total_output_tokens", completed, where),
        concurrency=concurrency,
        request_rate=rate,
        metrics=MeasuredMetrics(
            ttft_ms=_number(record, "mean_ttft_ms", where),
            ttft_p50_ms=_number(record, "median_ttft_ms", where),
            ttft_p99_ms=_number(record, "p99_ttft_ms", where),
            tpot_ms=_number(record, "mean_tpot_ms", where),
            output_tokens_per_s=_number(record, "output_throughput", where),
            requests_per_s=_number(record, "request_throughput", where),
            e2e_latency_ms=_number(record, e2e_mean, where),
            e2e_p99_ms=_number(record, e2e_p99, where),
        ),
    )


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise CoreError("content", f"{where}: not JSON ({error})") from None


def parse_vllm(content: str) -> list[ImportedRun]:
    return [_serving_run(_json(content, "the file"), "the file", "mean_e2el_ms", "p99_e2el_ms")]


def parse_sglang(content: str) -> list[ImportedRun]:
    runs = []
    for number, line in enumerate(content.splitlines(), start=1):
        if line.strip():
            where = f"line {number}"
            runs.append(_serving_run(_json(line, where), where, "mean_e2e_latency_ms", "p99_e2e_latency_ms"))
    return runs


def _summary(metrics: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    summary = metrics.get(name)
    successful = summary.get("successful") if isinstance(summary, dict) else None
    return successful if isinstance(successful, dict) else {}


def _p99(summary: dict[str, Any], where: str) -> float | None:
    percentiles = summary.get("percentiles")
    return _number(percentiles, "p99", where) if isinstance(percentiles, dict) else None


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _guidellm_load(benchmark: dict[str, Any], where: str) -> tuple[int | None, float | None]:
    holder = benchmark.get("config") if isinstance(benchmark.get("config"), dict) else benchmark.get("args")
    strategy = holder.get("strategy") if isinstance(holder, dict) else None
    kind = strategy.get("type_") if isinstance(strategy, dict) else None
    assert strategy is None or isinstance(strategy, dict)
    if kind == "synchronous":
        return 1, None
    if kind == "concurrent" and strategy is not None:
        return _concurrency(strategy.get("streams"), where, "strategy.streams"), None
    if kind in ("constant", "poisson") and strategy is not None:
        rate = _rate(strategy.get("rate"), where)
        if rate is not None:
            return None, rate
    raise CoreError(
        "content",
        f"{where}: strategy {kind!r} is neither a fixed concurrency (synchronous, concurrent) nor a fixed rate "
        "(constant, poisson); a throughput or sweep search's own points are read when run as those",
    )


def parse_guidellm(content: str) -> list[ImportedRun]:
    report = _json(content, "the report")
    benchmarks = report.get("benchmarks") if isinstance(report, dict) else None
    if not isinstance(benchmarks, list) or not benchmarks:
        raise CoreError("content", "the report: has no benchmarks list")
    args = report.get("args")
    model = _model(args, "model") if isinstance(args, dict) else None
    runs = []
    for index, benchmark in enumerate(benchmarks):
        where = f"benchmarks[{index}]"
        if not isinstance(benchmark, dict) or not isinstance(benchmark.get("metrics"), dict):
            raise CoreError("content", f"{where}: has no metrics object")
        metrics = benchmark["metrics"]
        concurrency, rate = _guidellm_load(benchmark, where)
        ttft = _summary(metrics, "time_to_first_token_ms", where)
        itl = _summary(metrics, "inter_token_latency_ms", where)
        latency = _summary(metrics, "request_latency", where)  # seconds
        prompt = _number(_summary(metrics, "prompt_token_count", where), "mean", where)
        output = _number(_summary(metrics, "output_token_count", where), "mean", where)
        if prompt is None or output is None:
            raise CoreError("content", f"{where}: prompt_token_count or output_token_count has no successful mean")
        runs.append(
            ImportedRun(
                where=where,
                model=model,
                input_tokens=_whole_tokens(prompt, "prompt_token_count", where),
                output_tokens=_whole_tokens(output, "output_token_count", where),
                concurrency=concurrency,
                request_rate=rate,
                metrics=MeasuredMetrics(
                    ttft_ms=_number(ttft, "mean", where),
                    ttft_p50_ms=_number(ttft, "median", where),
                    ttft_p99_ms=_p99(ttft, where),
                    tpot_ms=_number(itl, "mean", where),
                    output_tokens_per_s=_number(_summary(metrics, "output_tokens_per_second", where), "mean", where),
                    requests_per_s=_number(_summary(metrics, "requests_per_second", where), "mean", where),
                    e2e_latency_ms=_scaled(_number(latency, "mean", where), 1000.0),
                    e2e_p99_ms=_scaled(_p99(latency, where), 1000.0),
                ),
            )
        )
    return runs


PARSERS = {
    BenchmarkFormat.VLLM: parse_vllm,
    BenchmarkFormat.SGLANG: parse_sglang,
    BenchmarkFormat.GUIDELLM: parse_guidellm,
}


def parse(format: BenchmarkFormat, content: str) -> list[ImportedRun]:
    """Every run in a result file, in file order; a CoreError on `content` saying where the file is wrong."""
    if len(content) > MAX_CONTENT_CHARS:
        raise CoreError("content", f"must be at most {MAX_CONTENT_CHARS} characters, got {len(content)}")
    runs = PARSERS[format](content)
    if not runs:
        raise CoreError("content", "holds no run")
    if len(runs) > MAX_RUNS:
        raise CoreError("content", f"holds {len(runs)} runs, more than the {MAX_RUNS} one import stores")
    return runs
