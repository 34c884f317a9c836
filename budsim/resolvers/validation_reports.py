"""`validateSimulation`: a stored prediction against a measurement of the deployment it predicted.

The guide's "validate predictions in staging", made a loop: the measurement is stored as a benchmark run of the
simulation's model, hardware profile, config, engine and workload (tied to the simulation by `simulation_id`), so it
also joins the regressor's training data where training can use it (`budsim.regressor.stored_runs`).
"""

import strawberry

from budsim.core.deployment import Workload
from budsim.core.results import Interval, Metrics
from budsim.core.types import Engine as EngineKind
from budsim.db.documents import UnreadableDocument, read_simulation
from budsim.db.models import SimulationRow
from budsim.resolvers import validation as check
from budsim.resolvers.answers import simulation as simulation_answer
from budsim.resolvers.auth import Scope, require
from budsim.resolvers.benchmarks import check_run, store_runs
from budsim.resolvers.context import Context
from budsim.resolvers.errors import Invalid, NotFound
from budsim.schema.inputs import MeasuredMetricsInput, RecordBenchmarkInput, WorkloadInput
from budsim.schema.types.benchmark import BenchmarkRun, MetricComparison
from budsim.schema.types.simulation import ValidationReport

# The measured input's field, its attribute, and the prediction's `Metrics` attribute it is compared with.
COMPARED = (
    ("ttftMs", "ttft_ms", "ttft_mean_ms"),
    ("ttftP50Ms", "ttft_p50_ms", "ttft_p50_ms"),
    ("ttftP99Ms", "ttft_p99_ms", "ttft_p99_ms"),
    ("tpotMs", "tpot_ms", "tpot_ms"),
    ("outputTokensPerS", "output_tokens_per_s", "output_tokens_per_s"),
    ("requestsPerS", "requests_per_s", "requests_per_s"),
    ("e2eLatencyMs", "e2e_latency_ms", "e2e_latency_mean_ms"),
    ("e2eP99Ms", "e2e_p99_ms", "e2e_latency_p99_ms"),
)


def _within(measured: float, low: float | None, high: float | None) -> bool:
    """Inside [p10, p90]; a None end is unbounded (a queue that could grow without limit)."""
    if low is not None and high is not None:
        low, high = min(low, high), max(low, high)
    return (low is None or measured >= low) and (high is None or measured <= high)


def compare(measured: MeasuredMetricsInput, predicted: Metrics, interval: Interval | None) -> list[MetricComparison]:
    """Each measured metric against its prediction, in `COMPARED`'s order."""
    comparisons = []
    for name, measured_attr, predicted_attr in COMPARED:
        value: float | None = getattr(measured, measured_attr)
        if value is None:
            continue
        guess: float | None = getattr(predicted, predicted_attr)
        within = None
        if interval is not None:
            within = _within(value, getattr(interval.p10, predicted_attr), getattr(interval.p90, predicted_attr))
        comparisons.append(
            MetricComparison(
                metric=name,
                predicted=guess,
                measured=value,
                error_percent=None if guess is None else round((guess - value) / value * 100, 2),
                within_interval=within,
            )
        )
    return comparisons


def _concurrency(workload: Workload) -> tuple[int | None, float | None]:
    if workload.concurrency is not None and workload.concurrency != int(workload.concurrency):
        raise Invalid(
            "simulationId",
            f"its workload keeps {workload.concurrency:g} requests in flight; a measured run needs a whole number",
        )
    return (None if workload.concurrency is None else int(workload.concurrency)), workload.request_rate


async def validate(ctx: Context, simulation_id: strawberry.ID, measured: MeasuredMetricsInput) -> ValidationReport:
    require(ctx, Scope.WRITE)
    sim_id = check.parse_id(simulation_id, "simulationId")
    async with ctx.reader() as session:
        row = await session.get(SimulationRow, sim_id)
    if row is None:
        raise NotFound("Simulation", str(simulation_id))
    try:
        stored = read_simulation(row.result, row.optimal_config)
    except (UnreadableDocument, KeyError, ValueError) as error:
        raise Invalid("simulationId", f"its stored answer cannot be read ({error})") from None
    if stored.config is None or stored.workload is None or stored.metrics is None:
        raise Invalid("simulationId", "holds no single deployment's prediction (config, workload and metrics) to check")
    config, workload = stored.config, stored.workload
    concurrency, rate = _concurrency(workload)
    run = RecordBenchmarkInput(
        model_id=strawberry.ID(str(row.model_id)),
        hardware_profile_id=strawberry.ID(str(row.hardware_profile_id)),
        gpu_count=config.tensor_parallel * config.pipeline_parallel * config.replicas,
        tensor_parallel_size=config.tensor_parallel,
        pipeline_parallel_size=config.pipeline_parallel,
        weight_dtype=config.weight_dtype,
        kv_cache_dtype=config.kv_cache_dtype,
        engine=stored.engine or EngineKind.VLLM,
        engine_version=measured.engine_version,
        workload=WorkloadInput(
            input_tokens=workload.input_tokens,
            output_tokens=workload.output_tokens,
            concurrency=concurrency,
            request_rate=rate,
        ),
        ttft_ms=measured.ttft_ms,
        ttft_p50_ms=measured.ttft_p50_ms,
        ttft_p99_ms=measured.ttft_p99_ms,
        tpot_ms=measured.tpot_ms,
        output_tokens_per_s=measured.output_tokens_per_s,
        requests_per_s=measured.requests_per_s,
        e2e_latency_ms=measured.e2e_latency_ms,
        e2e_p99_ms=measured.e2e_p99_ms,
        source=measured.source,
    )
    checked = check_run(run, "measured")
    checked.row.simulation_id = sim_id
    [stored_run] = await store_runs(ctx.sessionmaker, [checked], batch=False)
    return ValidationReport(
        simulation=simulation_answer(row),
        run=BenchmarkRun.from_row(stored_run),
        metrics=compare(measured, stored.metrics, stored.interval),
    )
