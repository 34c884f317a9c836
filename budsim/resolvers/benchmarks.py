"""Recording and listing measured benchmark runs, the regressor's user-supplied training data.

A bad row here does not fail one request, it skews every prediction after the next retrain, so the checks go beyond
ranges to the relations any real measurement satisfies (each one stated where it is checked).
"""

import strawberry

from budsim.core.catalog.gpus import GPUS, find_gpu
from budsim.db import queries
from budsim.db.models import THROUGHPUT_PER_CONCURRENCY_TPOT, BenchmarkRunRow, ModelRow
from budsim.resolvers import validation as check
from budsim.resolvers.auth import Scope, require
from budsim.resolvers.context import Context
from budsim.resolvers.errors import Invalid, NotFound
from budsim.resolvers.pagination import check_first, decode_time_id_cursor, encode_cursor, page_info, query_id
from budsim.schema.inputs import RecordBenchmarkInput, WorkloadInput
from budsim.schema.types.benchmark import BenchmarkRun, BenchmarkRunConnection, BenchmarkRunEdge

MAX_GPUS = 4096
MAX_PARALLEL = 1024
MAX_TOKENS = 1 << 20
MAX_CONCURRENCY = 100_000
MAX_LATENCY_MS = 86_400_000.0  # a day: anything slower is a unit mistake, not a benchmark
MAX_TOKENS_PER_S = 1e9
MAX_SOURCE_LENGTH = 2000
MAX_ENGINE_VERSION_LENGTH = 100


def _cursor(row: BenchmarkRunRow) -> str:
    return encode_cursor(row.created_at.isoformat(), row.id)


async def list_runs(
    ctx: Context, first: int, after: str | None, model_id: strawberry.ID | None
) -> BenchmarkRunConnection:
    async with ctx.reader() as session:
        page = await queries.list_benchmark_runs(
            session,
            first=check_first(first),
            after=decode_time_id_cursor(after) if after else None,
            model_id=query_id(model_id, "modelId") if model_id else None,
        )
    edges = [BenchmarkRunEdge(cursor=_cursor(r), node=BenchmarkRun.from_row(r)) for r in page.rows]
    return BenchmarkRunConnection(
        edges=edges,
        page_info=page_info([edge.cursor for edge in edges], page.has_next_page, after),
        total_count=page.total_count,
    )


def _parallelism(data: RecordBenchmarkInput) -> tuple[int, int, int]:
    gpu_count = check.integer(data.gpu_count, "input.gpuCount", minimum=1, maximum=MAX_GPUS)
    tp = check.integer(data.tensor_parallel_size, "input.tensorParallelSize", minimum=1, maximum=MAX_PARALLEL)
    pp = check.integer(data.pipeline_parallel_size, "input.pipelineParallelSize", minimum=1, maximum=MAX_PARALLEL)
    if tp > gpu_count:
        raise Invalid("input.tensorParallelSize", f"{tp} ranks need {tp} GPUs, more than gpuCount {gpu_count}")
    if tp * pp > gpu_count:
        raise Invalid("input.pipelineParallelSize", f"TP {tp} x PP {pp} needs {tp * pp} GPUs, more than {gpu_count}")
    if gpu_count % (tp * pp):
        raise Invalid(
            "input.gpuCount", f"must be whole data-parallel copies of the {tp * pp}-GPU TP x PP group, got {gpu_count}"
        )
    return gpu_count, tp, pp


def _workload(data: WorkloadInput, field: str = "input.workload") -> tuple[int, int, int]:
    input_tokens = check.integer(data.input_tokens, f"{field}.inputTokens", minimum=1, maximum=MAX_TOKENS)
    output_tokens = check.integer(data.output_tokens, f"{field}.outputTokens", minimum=1, maximum=MAX_TOKENS)
    if output_tokens < 2:
        raise Invalid(f"{field}.outputTokens", "must be at least 2: a one-token run has no time per output token")
    if data.concurrency is None:
        raise Invalid(
            f"{field}.concurrency",
            "is required: a benchmark run is a closed loop of this many requests in flight (open-loop runs at a "
            "requestRate are not stored)",
        )
    if data.request_rate is not None:
        raise Invalid(f"{field}.requestRate", "must be omitted: a benchmark run is closed-loop, given by concurrency")
    concurrency = check.whole_number(data.concurrency, f"{field}.concurrency", minimum=1, maximum=MAX_CONCURRENCY)
    return input_tokens, output_tokens, concurrency


def _positive(value: float, field: str, maximum: float) -> float:
    return check.number(value, field, minimum=0, maximum=maximum, exclusive_minimum=True)


def _check_consistency(
    output_tokens: int, concurrency: int, ttft: float, tpot: float, tokens_per_s: float, e2e: float | None
) -> None:
    """Relations every closed-loop measurement obeys; each failure points at the figure most likely wrong."""
    if e2e is not None:
        if ttft >= e2e:
            raise Invalid(
                "input.ttftMs", f"the first token ({ttft:g} ms) cannot take as long as the request ({e2e:g} ms)"
            )
        decode = tpot * (output_tokens - 1)
        if decode > e2e:
            raise Invalid(
                "input.tpotMs",
                f"{output_tokens - 1} gaps of {tpot:g} ms take {decode:g} ms, longer than the request ({e2e:g} ms)",
            )
    # Each request in flight emits at most one token per TPOT; 10% slack for TPOT spread (see the models' constant).
    if tokens_per_s * tpot > THROUGHPUT_PER_CONCURRENCY_TPOT * concurrency:
        ceiling = THROUGHPUT_PER_CONCURRENCY_TPOT * concurrency / tpot
        raise Invalid(
            "input.outputTokensPerS",
            f"{concurrency} requests emitting one token per {tpot:g} ms deliver at most {ceiling:.0f} output "
            f"tokens/s (with 10% slack), not {tokens_per_s:g}; was input + output throughput given?",
        )


def _row(data: RecordBenchmarkInput) -> BenchmarkRunRow:
    """Every check before any write: a rejected run leaves no trace."""
    model_id = check.parse_id(data.model_id, "input.modelId")
    gpu = find_gpu(check.text(data.gpu_type, "input.gpuType", max_length=100))
    if gpu is None:
        raise Invalid("input.gpuType", f"{data.gpu_type!r} is not a catalog GPU; use one of {', '.join(GPUS)}")
    gpu_count, tp, pp = _parallelism(data)
    engine_version = (
        None
        if data.engine_version is None
        else check.text(data.engine_version, "input.engineVersion", max_length=MAX_ENGINE_VERSION_LENGTH)
    )
    input_tokens, output_tokens, concurrency = _workload(data.workload)
    ttft = _positive(data.ttft_ms, "input.ttftMs", MAX_LATENCY_MS)
    tpot = _positive(data.tpot_ms, "input.tpotMs", MAX_LATENCY_MS)
    tokens_per_s = _positive(data.output_tokens_per_s, "input.outputTokensPerS", MAX_TOKENS_PER_S)
    e2e = None if data.e2e_latency_ms is None else _positive(data.e2e_latency_ms, "input.e2eLatencyMs", MAX_LATENCY_MS)
    _check_consistency(output_tokens, concurrency, ttft, tpot, tokens_per_s, e2e)
    return BenchmarkRunRow(
        model_id=model_id,
        gpu_type=gpu.name,
        gpu_count=gpu_count,
        tensor_parallel=tp,
        pipeline_parallel=pp,
        weight_dtype=data.weight_dtype.value,
        kv_cache_dtype=data.kv_cache_dtype.value if data.kv_cache_dtype else None,
        engine=data.engine.value,
        engine_version=engine_version,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        concurrency=concurrency,
        ttft_ms=ttft,
        tpot_ms=tpot,
        output_tokens_per_s=tokens_per_s,
        e2e_latency_ms=e2e,
        source=check.text(data.source, "input.source", max_length=MAX_SOURCE_LENGTH),
    )


async def record(ctx: Context, data: RecordBenchmarkInput) -> BenchmarkRun:
    require(ctx, Scope.WRITE)
    row = _row(data)
    async with ctx.sessionmaker() as session:
        if await session.get(ModelRow, row.model_id) is None:
            raise NotFound("Model", data.model_id)
        session.add(row)
        await session.commit()
    return BenchmarkRun.from_row(row)
