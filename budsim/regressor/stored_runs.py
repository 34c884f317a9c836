"""Benchmark runs users recorded through the API (`recordBenchmark(s)`, `importBenchmarkResults`), as training input
for the residual regressor.

`budsim train` and start-up training learn from data/benchmarks.csv plus these rows, so a team's own measurements
sharpen the corrections (and the confidence) for the models and GPUs they actually run.

Not every stored run can be learned from; these are skipped, each reason logged once per fetch with its count:
- open-loop runs (`request_rate`, no `concurrency`): the regressor's features and the CSV's rows are closed loops of
  N requests in flight, and an offered rate does not say how many were in flight;
- runs without all three of mean TTFT, TPOT and output tokens/s: those are the regressor's three targets, and a row
  must carry each of them (the others, p50/p99 and E2E, serve `validateSimulation` only);
- runs on a custom profile GPU (not in `core.catalog.gpus`): `core.measurements` and the training features are built
  from a catalog `GpuSpec` (`find_gpu`), which a profile's free-form specs cannot stand in for yet.
"""

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from budsim.core.catalog.gpus import find_gpu
from budsim.core.measurements import MeasuredRun
from budsim.core.types import Engine
from budsim.db import queries
from budsim.db.models import BenchmarkRunRow, ModelRow
from budsim.db.session import create_engine, create_sessionmaker

log = logging.getLogger("budsim")


@dataclass(frozen=True, slots=True)
class StoredRuns:
    """Runs mapped onto `MeasuredRun`, the architecture (HF config) of every model they name, and each run's id
    (`BenchmarkRunRow.id`, parallel to `runs`), by which a regressor version records the runs it trained on.

    `ids` may be left empty (runs built in memory): each run is then named by its position, "#0", "#1", ...
    """

    runs: tuple[MeasuredRun, ...]
    architectures: dict[str, dict[str, Any]]
    ids: tuple[str, ...] = ()  # each run's `benchmark_runs.id`, in the order of `runs`

    def __post_init__(self) -> None:
        if self.ids and len(self.ids) != len(self.runs):
            raise ValueError(f"{len(self.ids)} ids for {len(self.runs)} stored runs")

    def run_ids(self) -> tuple[str, ...]:
        """Each run's id, in the order of `runs`."""
        return self.ids or tuple(f"#{index}" for index in range(len(self.runs)))


def measured_run(run: BenchmarkRunRow, model: ModelRow) -> MeasuredRun:
    """One replica's view of a stored run: data-parallel copies split the concurrency and the throughput.

    The regressor learns per-replica behaviour (the CSV's runs are single replicas); a run of `gpu_count` GPUs in
    groups of TP x PP is that many copies each serving its share of the clients. Pipeline stages are folded into the
    replica's GPU count, as `core.measurements` treats every GPU of a replica as one parallel group.
    """
    concurrency, ttft, tpot, tokens_per_s = run.concurrency, run.ttft_ms, run.tpot_ms, run.output_tokens_per_s
    if concurrency is None or ttft is None or tpot is None or tokens_per_s is None:
        raise ValueError(f"benchmark run {run.id} cannot be trained on: {skip_reason(run)}")
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
        concurrency=max(math.ceil(concurrency / copies), 1),
        static_batch=False,
        ttft_ms=ttft,
        tpot_ms=tpot,
        output_tokens_per_s=tokens_per_s / copies,
        source=f"benchmark_runs/{run.id}: {run.source}",
    )


def skip_reason(run: BenchmarkRunRow) -> str | None:
    """Why training cannot use this run (see the module's docstring), or None when it can."""
    if run.concurrency is None:
        return "open-loop runs (a request rate, not requests in flight)"
    if run.ttft_ms is None or run.tpot_ms is None or run.output_tokens_per_s is None:
        return "runs without all of mean TTFT, TPOT and output tokens/s (the regressor's three targets)"
    if find_gpu(run.gpu_type) is None:
        return "runs on a custom profile GPU (training features need a catalog GPU's specs)"
    return None


def _usable(pairs: list[tuple[BenchmarkRunRow, ModelRow]]) -> list[tuple[BenchmarkRunRow, ModelRow]]:
    """The pairs training can use; each skipped kind is logged once, with its count."""
    skipped: dict[str, int] = {}
    kept = []
    for run, model in pairs:
        reason = skip_reason(run)
        if reason is None:
            kept.append((run, model))
        else:
            skipped[reason] = skipped.get(reason, 0) + 1
    for reason, count in skipped.items():
        log.info("%d stored benchmark run(s) not used for training: %s", count, reason)
    return kept


# What reading a database can fail with when there is none yet, it is unreachable, or it is not migrated.
UNREADABLE = (OperationalError, ProgrammingError, DBAPIError, OSError)


def sqlite_file_missing(database_url: str) -> bool:
    """True for a SQLite URL whose file does not exist: connecting would create an empty file where `migrate` should
    make the database."""
    url = make_url(database_url)
    return url.get_backend_name() == "sqlite" and bool(url.database) and not Path(str(url.database)).exists()


async def fetch_stored_runs(database_url: str) -> StoredRuns:
    """Every stored run; none (with a log line saying why) when the database is missing, unreachable or unmigrated."""
    if sqlite_file_missing(database_url):
        return StoredRuns((), {})
    engine = create_engine(database_url)
    try:
        return await stored_runs(create_sessionmaker(engine))
    except UNREADABLE as error:
        log.warning("no stored benchmark runs used (%s: %s)", type(error).__name__, str(error).splitlines()[0])
        return StoredRuns((), {})
    finally:
        await engine.dispose()


async def stored_runs(sessionmaker: async_sessionmaker[AsyncSession]) -> StoredRuns:
    """Every stored run training can use, read through a process's own sessions."""
    async with sessionmaker() as session:
        pairs = _usable(await queries.benchmark_runs_for_training(session))
    return StoredRuns(
        tuple(measured_run(run, model) for run, model in pairs),
        {model.name: dict(model.architecture) for _, model in pairs},
        tuple(str(run.id) for run, _ in pairs),
    )
