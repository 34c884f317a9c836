"""Measured benchmark runs: what was deployed, the load offered (closed or open loop), what was measured, and who
says so."""

import uuid
from datetime import datetime
from typing import Any

import strawberry

from budsim.core.imports import BenchmarkFormat as BenchmarkFormatKind
from budsim.core.types import Dtype as DtypeKind
from budsim.core.types import Engine as EngineKind
from budsim.schema.types.model import Model
from budsim.schema.types.pagination import PageInfo
from budsim.schema.types.prediction import Dtype, Engine

strawberry.enum(
    BenchmarkFormatKind,
    description="A benchmark tool's result file: VLLM (`vllm bench serve --save-result` JSON), SGLANG "
    "(`python -m sglang.bench_serving --output-file` JSONL), GUIDELLM (a `guidellm benchmark` JSON report).",
)
BenchmarkFormat = BenchmarkFormatKind  # the same class, registered: annotations can name it


@strawberry.type(
    description="One measured serving run of a model, recorded with its provenance; the regressor trains on these "
    "alongside the repository's data/benchmarks.csv."
)
class BenchmarkRun:
    id: strawberry.ID
    gpu_type: str = strawberry.field(
        description="The GPU it ran on: a catalog name (see `gpuTypes`) or its hardware profile's custom GPU."
    )
    gpu_count: int = strawberry.field(description="GPUs the run used: whole copies of the TP x PP group.")
    tensor_parallel_size: int
    pipeline_parallel_size: int
    weight_dtype: Dtype
    kv_cache_dtype: Dtype | None = strawberry.field(
        description="Null where the source did not record it (the engine's default)."
    )
    engine: Engine
    engine_version: str | None
    input_tokens: int = strawberry.field(description="Mean prompt tokens per request.")
    output_tokens: int = strawberry.field(description="Mean output tokens per request.")
    concurrency: int | None = strawberry.field(description="Requests kept in flight (closed loop); null: open loop.")
    request_rate: float | None = strawberry.field(description="Requests/s offered (open loop); null: closed loop.")
    ttft_ms: float | None = strawberry.field(description="Mean time to first token, where measured.")
    ttft_p50_ms: float | None = strawberry.field(description="Median time to first token, where measured.")
    ttft_p99_ms: float | None = strawberry.field(description="99th percentile time to first token, where measured.")
    tpot_ms: float | None = strawberry.field(description="Mean time per output token after the first, where measured.")
    output_tokens_per_s: float | None = strawberry.field(description="Output tokens/s of the whole run, all GPUs.")
    requests_per_s: float | None = strawberry.field(description="Completed requests/s of the whole run.")
    e2e_latency_ms: float | None = strawberry.field(description="Mean end-to-end request latency, where measured.")
    e2e_p99_ms: float | None = strawberry.field(description="99th percentile end-to-end latency, where measured.")
    hardware_profile_id: strawberry.ID | None = strawberry.field(
        description="The hardware profile it ran on, where one was named (null once that profile is deleted)."
    )
    simulation_id: strawberry.ID | None = strawberry.field(
        description="The stored prediction this run measured (`validateSimulation`), if any."
    )
    source: str = strawberry.field(description="Provenance: a URL, or who measured it and how.")
    created_at: datetime
    model_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def model(self, info: strawberry.Info) -> Model:
        row = await info.context.loaders.model.load(self.model_id)
        if row is None:  # the foreign key is ON DELETE RESTRICT, so this is a broken database, not a client error
            raise LookupError(f"benchmark run {self.id} references missing model {self.model_id}")
        return Model.from_row(row)

    @classmethod
    def from_row(cls, row: Any) -> "BenchmarkRun":
        return cls(
            id=strawberry.ID(str(row.id)),
            gpu_type=row.gpu_type,
            gpu_count=row.gpu_count,
            tensor_parallel_size=row.tensor_parallel,
            pipeline_parallel_size=row.pipeline_parallel,
            weight_dtype=DtypeKind(row.weight_dtype),
            kv_cache_dtype=DtypeKind(row.kv_cache_dtype) if row.kv_cache_dtype else None,
            engine=EngineKind(row.engine),
            engine_version=row.engine_version,
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
            concurrency=row.concurrency,
            request_rate=row.request_rate,
            ttft_ms=row.ttft_ms,
            ttft_p50_ms=row.ttft_p50_ms,
            ttft_p99_ms=row.ttft_p99_ms,
            tpot_ms=row.tpot_ms,
            output_tokens_per_s=row.output_tokens_per_s,
            requests_per_s=row.requests_per_s,
            e2e_latency_ms=row.e2e_latency_ms,
            e2e_p99_ms=row.e2e_p99_ms,
            hardware_profile_id=_id(row.hardware_profile_id),
            simulation_id=_id(row.simulation_id),
            source=row.source,
            created_at=row.created_at,
            model_id=row.model_id,
        )


def _id(value: uuid.UUID | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


@strawberry.type(description="Runs stored together, in the order given.")
class RecordedBenchmarkRuns:
    runs: list[BenchmarkRun]
    count: int = strawberry.field(description="How many runs were stored (all of those given).")


@strawberry.type(description="One metric of a stored prediction against what was measured.")
class MetricComparison:
    metric: str = strawberry.field(description="The measured input's field: ttftMs, ttftP99Ms, tpotMs, ...")
    predicted: float | None = strawberry.field(description="The prediction; null where it is unbounded or unknown.")
    measured: float
    error_percent: float | None = strawberry.field(
        description="(predicted - measured) / measured x 100: positive where the prediction was too high."
    )
    within_interval: bool | None = strawberry.field(
        description="Whether the measurement lies within the prediction's p10-p90 interval; null where the "
        "prediction stored none."
    )


@strawberry.type
class BenchmarkRunEdge:
    cursor: str
    node: BenchmarkRun


@strawberry.type
class BenchmarkRunConnection:
    edges: list[BenchmarkRunEdge]
    page_info: PageInfo
    total_count: int
