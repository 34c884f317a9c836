"""Benchmark runs users recorded through the API (`recordBenchmark`), as training input for the residual regressor.

`budsim train` and start-up training learn from data/benchmarks.csv plus these rows, so a team's own measurements
sharpen the corrections (and the confidence) for the models and GPUs they actually run.
"""

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from budsim.core.measurements import MeasuredRun
from budsim.core.types import Engine
from budsim.db import queries
from budsim.db.models import BenchmarkRunRow, ModelRow
from budsim.db.session import create_engine, create_sessionmaker

log = logging.getLogger("budsim")


@dataclass(frozen=True, slots=True)
class StoredRuns:
    """Runs mapped onto `MeasuredRun`, and the architecture (HF config) of every model they name."""

    runs: tuple[MeasuredRun, ...]
    architectures: dict[str, dict[str, Any]]


def measured_run(run: BenchmarkRunRow, model: ModelRow) -> MeasuredRun:
    """One replica's view of a stored run: data-parallel copies split the concurrency and the throughput.

    The regressor learns per-replica behaviour (the CSV's runs are single replicas); a run of `gpu_count` GPUs in
    groups of TP x PP is that many copies each serving its share of the clients. Pipeline stages are folded into the
    replica's GPU count, as `core.measurements` treats every GPU of a replica as one parallel group.
    """
    group = run.tensor_parallel * run.pipeline_parallel
    copies = max(run.gpu_count // group, 1)
    return MeasuredRun(
        model=model.name,
        gpu=run.gpu_type,
        gpu_count=group,
        tp=run.tensor_parallel,
        attention_dp=1,
        moe_ep=1,
        precision=run.weight_dtype,
        kv_dtype=run.kv_cache_dtype or "",
        engine=Engine(run.engine),
        input_tokens=run.input_tokens,
        output_tokens=run.output_tokens,
        concurrency=max(math.ceil(run.concurrency / copies), 1),
        static_batch=False,
        ttft_ms=run.ttft_ms,
        tpot_ms=run.tpot_ms,
        output_tokens_per_s=run.output_tokens_per_s / copies,
        source=f"benchmark_runs/{run.id}: {run.source}",
    )


def _sqlite_file_missing(database_url: str) -> bool:
    url = make_url(database_url)
    return url.get_backend_name() == "sqlite" and bool(url.database) and not Path(str(url.database)).exists()


async def fetch_stored_runs(database_url: str) -> StoredRuns:
    """Every stored run; none (with a log line saying why) when the database is missing, unreachable or unmigrated."""
    if _sqlite_file_missing(database_url):
        return StoredRuns((), {})  # connecting would create an empty file where `migrate` should make the database
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            pairs = await queries.benchmark_runs_for_training(session)
    except (OperationalError, ProgrammingError, DBAPIError, OSError) as error:
        log.warning("no stored benchmark runs used (%s: %s)", type(error).__name__, str(error).splitlines()[0])
        return StoredRuns((), {})
    finally:
        await engine.dispose()
    return StoredRuns(
        tuple(measured_run(run, model) for run, model in pairs),
        {model.name: dict(model.architecture) for _, model in pairs},
    )
