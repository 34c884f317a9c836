"""Recording and listing measured benchmark runs, the regressor's user-supplied training data.

A bad row here does not fail one request, it skews every prediction after the next retrain, so the checks go beyond
ranges to the relations any real measurement satisfies (each one stated where it is checked).
"""

from collections.abc import Sequence
from dataclasses import asdict, astuple, dataclass, replace

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from budsim.core import imports
from budsim.core.catalog.gpus import GPUS, find_gpu
from budsim.core.imports import BenchmarkFormat
from budsim.core.measurements import MeasuredMetrics
from budsim.core.types import Dtype as DtypeKind
from budsim.core.types import Engine as EngineKind
from budsim.db import queries
from budsim.db.models import THROUGHPUT_PER_CONCURRENCY_TPOT, BenchmarkRunRow
from budsim.resolvers import validation as check
from budsim.resolvers.auth import Scope, require
from budsim.resolvers.context import Context
from budsim.resolvers.errors import Invalid, NotFound
from budsim.resolvers.pagination import check_first, decode_time_id_cursor, encode_cursor, page_info, query_id
from budsim.schema.inputs import DeploymentConfigInput, RecordBenchmarkInput, WorkloadInput
from budsim.schema.types.benchmark import BenchmarkRun, BenchmarkRunConnection, BenchmarkRunEdge, RecordedBenchmarkRuns

MAX_GPUS = 4096
MAX_PARALLEL = 1024
MAX_TOKENS = 1 << 20
MAX_CONCURRENCY = 100_000
MAX_LATENCY_MS = 86_400_000.0  # a day: anything slower is a unit mistake, not a benchmark
MAX_TOKENS_PER_S = 1e9
MAX_REQUESTS_PER_S = 1e7
MAX_REQUEST_RATE = 1e7
# One request's worth: 500 runs is a whole sweep of every concurrency, TP degree and dtype of several models, and
# checks, looks up and writes in well under a second; more is a bulk load that belongs in several calls.
MAX_BATCH = 500
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


def _parallelism(data: RecordBenchmarkInput, at: str) -> tuple[int, int, int]:
    gpu_count = check.integer(data.gpu_count, f"{at}.gpuCount", minimum=1, maximum=MAX_GPUS)
    tp = check.integer(data.tensor_parallel_size, f"{at}.tensorParallelSize", minimum=1, maximum=MAX_PARALLEL)
    pp = check.integer(data.pipeline_parallel_size, f"{at}.pipelineParallelSize", minimum=1, maximum=MAX_PARALLEL)
    if tp > gpu_count:
        raise Invalid(f"{at}.tensorParallelSize", f"{tp} ranks need {tp} GPUs, more than gpuCount {gpu_count}")
    if tp * pp > gpu_count:
        raise Invalid(f"{at}.pipelineParallelSize", f"TP {tp} x PP {pp} needs {tp * pp} GPUs, more than {gpu_count}")
    if gpu_count % (tp * pp):
        raise Invalid(
            f"{at}.gpuCount", f"must be whole data-parallel copies of the {tp * pp}-GPU TP x PP group, got {gpu_count}"
        )
    return gpu_count, tp, pp


@dataclass(frozen=True, slots=True)
class Load:
    """A run's request shape and its load: `concurrency` (closed loop) or `request_rate` (open loop), never both."""

    input_tokens: int
    output_tokens: int
    concurrency: int | None
    request_rate: float | None


def _workload(data: WorkloadInput, field: str) -> Load:
    input_tokens = check.integer(data.input_tokens, f"{field}.inputTokens", minimum=1, maximum=MAX_TOKENS)
    output_tokens = check.integer(data.output_tokens, f"{field}.outputTokens", minimum=1, maximum=MAX_TOKENS)
    if output_tokens < 2:
        raise Invalid(f"{field}.outputTokens", "must be at least 2: a one-token run has no time per output token")
    if data.concurrency is None and data.request_rate is None:
        raise Invalid(
            f"{field}.concurrency",
            "is required, or requestRate: a run is a closed loop of this many requests in flight, or an open loop "
            "at requestRate requests/s",
        )
    if data.concurrency is not None and data.request_rate is not None:
        raise Invalid(f"{field}.requestRate", "must be omitted with concurrency: a run has one load, not both")
    if data.concurrency is not None:
        concurrency = check.whole_number(data.concurrency, f"{field}.concurrency", minimum=1, maximum=MAX_CONCURRENCY)
        return Load(input_tokens, output_tokens, concurrency, None)
    assert data.request_rate is not None
    rate = check.number(
        data.request_rate, f"{field}.requestRate", minimum=0, maximum=MAX_REQUEST_RATE, exclusive_minimum=True
    )
    return Load(input_tokens, output_tokens, None, rate)


def _positive(value: float | None, field: str, maximum: float) -> float | None:
    return None if value is None else check.number(value, field, minimum=0, maximum=maximum, exclusive_minimum=True)


def _metrics(data: RecordBenchmarkInput, at: str) -> MeasuredMetrics:
    metrics = MeasuredMetrics(
        ttft_ms=_positive(data.ttft_ms, f"{at}.ttftMs", MAX_LATENCY_MS),
        ttft_p50_ms=_positive(data.ttft_p50_ms, f"{at}.ttftP50Ms", MAX_LATENCY_MS),
        ttft_p99_ms=_positive(data.ttft_p99_ms, f"{at}.ttftP99Ms", MAX_LATENCY_MS),
        tpot_ms=_positive(data.tpot_ms, f"{at}.tpotMs", MAX_LATENCY_MS),
        output_tokens_per_s=_positive(data.output_tokens_per_s, f"{at}.outputTokensPerS", MAX_TOKENS_PER_S),
        requests_per_s=_positive(data.requests_per_s, f"{at}.requestsPerS", MAX_REQUESTS_PER_S),
        e2e_latency_ms=_positive(data.e2e_latency_ms, f"{at}.e2eLatencyMs", MAX_LATENCY_MS),
        e2e_p99_ms=_positive(data.e2e_p99_ms, f"{at}.e2eP99Ms", MAX_LATENCY_MS),
    )
    if all(value is None for value in astuple(metrics)):
        # One figure is the least a run can be of use with: a prediction can be checked against it
        # (`validateSimulation`). Training needs three (TTFT, TPOT, output tokens/s) and skips the rest.
        raise Invalid(
            f"{at}.ttftMs",
            "a run must carry at least one measured metric (ttftMs, ttftP50Ms, ttftP99Ms, tpotMs, outputTokensPerS, "
            "requestsPerS, e2eLatencyMs, e2eP99Ms)",
        )
    return metrics


def _check_consistency(output_tokens: int, concurrency: int | None, m: MeasuredMetrics, at: str) -> None:
    """Relations every measurement obeys, each checked where its figures are present; each failure points at the
    figure most likely wrong. The database repeats them (`BenchmarkRunRow`'s checks)."""
    ttft, tpot, tokens_per_s, e2e = m.ttft_ms, m.tpot_ms, m.output_tokens_per_s, m.e2e_latency_ms
    if e2e is not None and ttft is not None and ttft >= e2e:
        raise Invalid(f"{at}.ttftMs", f"the first token ({ttft:g} ms) cannot take as long as the request ({e2e:g} ms)")
    if e2e is not None and tpot is not None and tpot * (output_tokens - 1) > e2e:
        decode = tpot * (output_tokens - 1)
        raise Invalid(
            f"{at}.tpotMs",
            f"{output_tokens - 1} gaps of {tpot:g} ms take {decode:g} ms, longer than the request ({e2e:g} ms)",
        )
    if m.ttft_p50_ms is not None and m.ttft_p99_ms is not None and m.ttft_p50_ms > m.ttft_p99_ms:
        raise Invalid(
            f"{at}.ttftP50Ms",
            f"the median ({m.ttft_p50_ms:g} ms) cannot exceed the 99th percentile ({m.ttft_p99_ms:g})",
        )
    # Each request's first token precedes its last, so every quantile of TTFT is below the same quantile of E2E.
    if m.ttft_p99_ms is not None and m.e2e_p99_ms is not None and m.ttft_p99_ms >= m.e2e_p99_ms:
        raise Invalid(
            f"{at}.ttftP99Ms",
            f"the 99th percentile first token ({m.ttft_p99_ms:g} ms) cannot come after the 99th percentile request "
            f"end ({m.e2e_p99_ms:g} ms)",
        )
    # Each request in flight emits at most one token per TPOT; 10% slack for TPOT spread (see the models' constant).
    if concurrency is None or tokens_per_s is None or tpot is None:
        return
    if tokens_per_s * tpot > THROUGHPUT_PER_CONCURRENCY_TPOT * concurrency:
        ceiling = THROUGHPUT_PER_CONCURRENCY_TPOT * concurrency / tpot
        raise Invalid(
            f"{at}.outputTokensPerS",
            f"{concurrency} requests emitting one token per {tpot:g} ms deliver at most {ceiling:.0f} output "
            f"tokens/s (with 10% slack), not {tokens_per_s:g}; was input + output throughput given?",
        )


@dataclass(frozen=True, slots=True)
class Checked:
    """A run that passed every check that needs no database; the model and profile are looked up together."""

    row: BenchmarkRunRow
    at: str  # the input's path, `input` or `input[3]`, for the checks that follow
    model_id_text: str


def check_run(data: RecordBenchmarkInput, at: str) -> Checked:
    """Every check that needs no database, before any write: a rejected run leaves no trace."""
    model_id = check.parse_id(data.model_id, f"{at}.modelId")
    profile_id = None
    gpu_name = ""
    if data.hardware_profile_id is not None:
        profile_id = check.parse_id(data.hardware_profile_id, f"{at}.hardwareProfileId")
        if data.gpu_type is not None:
            raise Invalid(f"{at}.gpuType", "must be omitted with hardwareProfileId: the profile names the GPU")
    elif data.gpu_type is None:
        raise Invalid(f"{at}.gpuType", "is required, or hardwareProfileId: the GPU the run used")
    else:
        gpu = find_gpu(check.text(data.gpu_type, f"{at}.gpuType", max_length=100))
        if gpu is None:
            raise Invalid(
                f"{at}.gpuType",
                f"{data.gpu_type!r} is not a catalog GPU; use one of {', '.join(GPUS)}, or a hardwareProfileId",
            )
        gpu_name = gpu.name
    gpu_count, tp, pp = _parallelism(data, at)
    engine_version = (
        None
        if data.engine_version is None
        else check.text(data.engine_version, f"{at}.engineVersion", max_length=MAX_ENGINE_VERSION_LENGTH)
    )
    load = _workload(data.workload, f"{at}.workload")
    metrics = _metrics(data, at)
    _check_consistency(load.output_tokens, load.concurrency, metrics, at)
    row = BenchmarkRunRow(
        model_id=model_id,
        gpu_type=gpu_name,  # a profile's GPU is filled in when the profile is read
        hardware_profile_id=profile_id,
        gpu_count=gpu_count,
        tensor_parallel=tp,
        pipeline_parallel=pp,
        weight_dtype=data.weight_dtype.value,
        kv_cache_dtype=data.kv_cache_dtype.value if data.kv_cache_dtype else None,
        engine=data.engine.value,
        engine_version=engine_version,
        input_tokens=load.input_tokens,
        output_tokens=load.output_tokens,
        concurrency=load.concurrency,
        request_rate=load.request_rate,
        source=check.text(data.source, f"{at}.source", max_length=MAX_SOURCE_LENGTH),
        **asdict(metrics),
    )
    return Checked(row, at, str(data.model_id))


async def store_runs(
    sessionmaker: async_sessionmaker[AsyncSession], checked: list[Checked], *, batch: bool
) -> list[BenchmarkRunRow]:
    """Look up every run's model and profile, then write them all in one transaction, or none.

    A missing model or profile is a NotFoundError for a single run (`recordBenchmark`, as it always answered) and a
    ValidationError naming the row (`input[3].modelId`) in a batch, where the id alone would not say which row."""
    rows = [c.row for c in checked]
    async with sessionmaker() as session:
        models = await queries.models_by_ids(session, [r.model_id for r in rows])
        profile_ids = [r.hardware_profile_id for r in rows if r.hardware_profile_id is not None]
        profiles = await queries.hardware_profiles_by_ids(session, profile_ids) if profile_ids else {}
        for c in checked:
            row = c.row
            if row.model_id not in models:
                if not batch:
                    raise NotFound("Model", c.model_id_text)
                raise Invalid(f"{c.at}.modelId", f"no model has id {row.model_id}")
            if row.hardware_profile_id is not None:
                profile = profiles.get(row.hardware_profile_id)
                if profile is None:
                    if not batch:
                        raise NotFound("HardwareProfile", str(row.hardware_profile_id))
                    raise Invalid(f"{c.at}.hardwareProfileId", f"no hardware profile has id {row.hardware_profile_id}")
                total = profile.gpu_count * profile.node_count
                if row.gpu_count > total:
                    raise Invalid(
                        f"{c.at}.gpuCount",
                        f"the profile {profile.name!r} has {total} GPUs, fewer than the run's {row.gpu_count}",
                    )
                catalog = find_gpu(profile.gpu_type)
                row.gpu_type = catalog.name if catalog else profile.gpu_type
        session.add_all(rows)
        await session.commit()
    return rows


async def record(ctx: Context, data: RecordBenchmarkInput) -> BenchmarkRun:
    require(ctx, Scope.WRITE)
    [row] = await store_runs(ctx.sessionmaker, [check_run(data, "input")], batch=False)
    return BenchmarkRun.from_row(row)


def check_batch(runs: Sequence[RecordBenchmarkInput], field: str = "input") -> list[Checked]:
    if not runs:
        raise Invalid(field, "must hold at least one run")
    if len(runs) > MAX_BATCH:
        raise Invalid(field, f"must hold at most {MAX_BATCH} runs, got {len(runs)}; send them in several calls")
    return [check_run(data, f"{field}[{index}]") for index, data in enumerate(runs)]


async def record_many(ctx: Context, runs: Sequence[RecordBenchmarkInput]) -> RecordedBenchmarkRuns:
    """All the runs or none: every row is checked before the one transaction that writes them."""
    require(ctx, Scope.WRITE)
    rows = await store_runs(ctx.sessionmaker, check_batch(runs), batch=True)
    return RecordedBenchmarkRuns(runs=[BenchmarkRun.from_row(row) for row in rows], count=len(rows))


@dataclass(frozen=True, slots=True)
class ImportSettings:
    """What a result file does not say about the deployment it measured, given by whoever imports it."""

    hardware_profile_id: str
    model_id: str | None = None  # None: the file's model, found by its registered name
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    replicas: int = 1
    weight_dtype: DtypeKind = DtypeKind.BF16
    kv_cache_dtype: DtypeKind | None = None
    engine: EngineKind | None = None  # None: the tool's engine (vLLM, SGLang; VLLM for GuideLLM)
    source: str | None = None


FORMAT_ENGINES = {BenchmarkFormat.VLLM: EngineKind.VLLM, BenchmarkFormat.SGLANG: EngineKind.SGLANG}


async def import_runs(
    sessionmaker: async_sessionmaker[AsyncSession], format: BenchmarkFormat, content: str, settings: ImportSettings
) -> list[BenchmarkRunRow]:
    """Parse a result file (`core.imports`) and store its runs as `recordBenchmarks` does: all or none, each bad run
    named `content[i].field` (its place in file order)."""
    profile_id = check.parse_id(settings.hardware_profile_id, "hardwareProfileId")
    model_id = check.parse_id(settings.model_id, "modelId") if settings.model_id is not None else None
    runs = imports.parse(format, content)
    async with sessionmaker() as session:
        if not await queries.hardware_profiles_by_ids(session, [profile_id]):
            raise NotFound("HardwareProfile", settings.hardware_profile_id)
        names = {run.model for run in runs if run.model is not None}
        by_name = await queries.model_ids_by_names(session, sorted(names)) if model_id is None else {}
    engine = settings.engine or FORMAT_ENGINES.get(format, EngineKind.VLLM)
    tp, pp, replicas = settings.tensor_parallel_size, settings.pipeline_parallel_size, settings.replicas
    inputs = []
    for run in runs:
        run_model = model_id
        if run_model is None:
            if run.model is None:
                raise Invalid("modelId", f"{run.where} names no model: give modelId")
            run_model = by_name.get(run.model)
            if run_model is None:
                raise Invalid(
                    "modelId", f"{run.where} is for {run.model!r}, not a registered model: register it or give modelId"
                )
        provenance = settings.source or f"imported from a {format.value} result file"
        inputs.append(
            RecordBenchmarkInput(
                model_id=strawberry.ID(str(run_model)),
                hardware_profile_id=strawberry.ID(str(profile_id)),
                gpu_count=tp * pp * replicas,
                tensor_parallel_size=tp,
                pipeline_parallel_size=pp,
                weight_dtype=settings.weight_dtype,
                kv_cache_dtype=settings.kv_cache_dtype,
                engine=engine,
                workload=WorkloadInput(
                    input_tokens=run.input_tokens,
                    output_tokens=run.output_tokens,
                    concurrency=run.concurrency,
                    request_rate=run.request_rate,
                ),
                **asdict(run.metrics),  # named as the input's metric fields
                source=f"{provenance} ({run.where})",
            )
        )
    return await store_runs(sessionmaker, check_batch(inputs, "content"), batch=True)


def _or_one(value: int | None) -> int:
    return 1 if value is None else value


async def import_results(
    ctx: Context,
    format: BenchmarkFormat,
    content: str,
    hardware_profile_id: strawberry.ID,
    model_id: strawberry.ID | None,
    config: DeploymentConfigInput | None,
    source: str | None,
    engine: EngineKind | None,
) -> RecordedBenchmarkRuns:
    require(ctx, Scope.WRITE)
    settings = ImportSettings(
        hardware_profile_id=str(hardware_profile_id),
        model_id=None if model_id is None else str(model_id),
        engine=engine,
        source=None if source is None else check.text(source, "source", max_length=MAX_SOURCE_LENGTH - 100),
    )
    if config is not None:
        settings = replace(
            settings,
            tensor_parallel_size=check.integer(
                _or_one(config.tensor_parallel_size), "config.tensorParallelSize", minimum=1, maximum=MAX_PARALLEL
            ),
            pipeline_parallel_size=check.integer(
                _or_one(config.pipeline_parallel_size), "config.pipelineParallelSize", minimum=1, maximum=MAX_PARALLEL
            ),
            replicas=check.integer(_or_one(config.replicas), "config.replicas", minimum=1, maximum=MAX_GPUS),
            weight_dtype=config.weight_dtype or DtypeKind.BF16,
            kv_cache_dtype=config.kv_cache_dtype,
        )
    rows = await import_runs(ctx.sessionmaker, format, content, settings)
    return RecordedBenchmarkRuns(runs=[BenchmarkRun.from_row(row) for row in rows], count=len(rows))
