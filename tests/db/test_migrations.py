"""The one migration chain runs up, down and up again on both backends, and matches the ORM models exactly."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import delete, insert, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from budsim.db import migrate
from budsim.db.base import Base, utcnow
from budsim.db.models import (
    BenchmarkRunRow,
    EndpointDeploymentRow,
    EndpointProfileRow,
    EndpointRow,
    HardwareProfileRow,
    ModelRow,
    OptimizationJobRow,
)
from budsim.db.session import create_engine
from tests.conftest import postgres_or_skip

TABLES = {
    "hardware_profiles",
    "models",
    "simulations",
    "benchmark_runs",
    "optimization_jobs",
    "api_keys",
    "endpoints",
    "endpoint_profiles",
    "endpoint_deployments",
    "regressor_versions",
}
ENDPOINT_TABLES = {"endpoints", "endpoint_profiles", "endpoint_deployments"}
VERSION_TABLES = {"regressor_versions"}


@pytest.fixture(params=["postgresql", "sqlite"])
async def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "postgresql":
        databases = await postgres_or_skip()
        url = await databases.create()
        engine = create_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()
            await databases.drop(url)
    else:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/migrations.db")
        yield engine
        await engine.dispose()


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    return set(names) - {"alembic_version"}


async def test_upgrade_downgrade_upgrade_round_trips(empty_engine: AsyncEngine) -> None:
    assert await tables(empty_engine) == set()

    await migrate.upgrade(empty_engine)
    assert await tables(empty_engine) >= TABLES
    assert await migrate.current_revision(empty_engine) == migrate.head_revision()

    await migrate.downgrade(empty_engine, "base")
    assert await tables(empty_engine) == set()
    assert await migrate.current_revision(empty_engine) is None

    await migrate.upgrade(empty_engine)
    assert await tables(empty_engine) >= TABLES


async def test_migrated_schema_matches_the_orm_models(empty_engine: AsyncEngine) -> None:
    """Autogenerate finds nothing to add: a model change without a migration fails here."""
    await migrate.upgrade(empty_engine)
    async with empty_engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata)
        )
    assert diff == []


async def test_postgresql_stores_documents_as_jsonb() -> None:
    databases = await postgres_or_skip()
    url = await databases.create()
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            columns = await connection.run_sync(lambda sync: inspect(sync).get_columns("simulations"))
        types = {c["name"]: type(c["type"]).__name__ for c in columns}
        assert types["input_config"] == types["result"] == "JSONB"
    finally:
        await engine.dispose()
        await databases.drop(url)


@pytest.mark.parametrize(
    ("revision", "dropped"),
    [
        ("0008", VERSION_TABLES),
        ("0007", VERSION_TABLES),  # 0008 changes benchmark_runs' columns only
        ("0006", ENDPOINT_TABLES | VERSION_TABLES),
        ("0004", {"api_keys", *ENDPOINT_TABLES, *VERSION_TABLES}),
        ("0003", {"api_keys", "optimization_jobs", *ENDPOINT_TABLES, *VERSION_TABLES}),
        ("0002", {"api_keys", "optimization_jobs", "benchmark_runs", *ENDPOINT_TABLES, *VERSION_TABLES}),
    ],
)
async def test_downgrading_drops_only_the_later_tables(
    empty_engine: AsyncEngine, revision: str, dropped: set[str]
) -> None:
    await migrate.upgrade(empty_engine)
    await migrate.downgrade(empty_engine, revision)
    assert await tables(empty_engine) == TABLES - dropped
    await migrate.upgrade(empty_engine)
    assert await tables(empty_engine) == TABLES


# A run as vLLM's benchmark_serving reports it: Llama-3.1-8B on one H100, 1000 in / 200 out at 16 in flight.
MEASURED_RUN = {
    "gpu_type": "H100-SXM",
    "gpu_count": 1,
    "tensor_parallel": 1,
    "pipeline_parallel": 1,
    "weight_dtype": "BF16",
    "kv_cache_dtype": None,
    "engine": "VLLM",
    "engine_version": "0.6.3",
    "input_tokens": 1000,
    "output_tokens": 200,
    "concurrency": 16,
    "ttft_ms": 45.0,
    "tpot_ms": 9.5,
    "output_tokens_per_s": 1600.0,
    "e2e_latency_ms": 1936.0,
    "source": "measured by the platform team, vllm benchmark_serving.py on a Lambda 1x H100 instance",
}


@pytest.mark.parametrize(
    "change",
    [
        {"gpu_count": 0},
        {"tensor_parallel": 2},  # two ranks on one GPU
        {"gpu_count": 6, "tensor_parallel": 4},  # not whole copies of the TP group
        {"pipeline_parallel": 0},
        {"weight_dtype": "FP4"},
        {"kv_cache_dtype": "FP32"},
        {"engine": "OLLAMA"},
        {"input_tokens": 0},
        {"output_tokens": 1},
        {"concurrency": 0},
        {"ttft_ms": 0.0},
        {"tpot_ms": -1.0},
        {"output_tokens_per_s": 0.0},
        {"output_tokens_per_s": 16 * 1000 / 9.5 * 1.2},  # faster than 16 streams at 9.5 ms/token can emit
        {"e2e_latency_ms": 0.0},
        {"e2e_latency_ms": 40.0},  # shorter than the first token
        {"e2e_latency_ms": 1000.0},  # shorter than 199 gaps of 9.5 ms
        {"source": "   "},
        # Migration 0008: open-loop runs and partial metrics, still refused where nonsense
        {"concurrency": None},  # no load at all
        {"request_rate": 8.0},  # both loads
        {"concurrency": None, "request_rate": 0.0},
        {"ttft_ms": None, "tpot_ms": None, "output_tokens_per_s": None, "e2e_latency_ms": None},  # nothing measured
        {"ttft_p50_ms": 60.0, "ttft_p99_ms": 50.0},  # the median above the 99th percentile
        {"ttft_p99_ms": 0.0},
        {"ttft_p99_ms": 2500.0, "e2e_p99_ms": 2400.0},  # a first token after the same quantile's last
        {"requests_per_s": 0.0},
        {"e2e_p99_ms": -1.0},
        {"tpot_ms": None, "e2e_latency_ms": 20.0},  # the TTFT check holds without TPOT
        {"e2e_latency_ms": None, "ttft_ms": None, "output_tokens_per_s": 2000.0},  # the decode bound without TTFT
    ],
    ids=lambda change: ",".join(f"{k}={v}" for k, v in change.items()),
)
async def test_migrated_benchmark_runs_refuse_what_the_api_refuses(
    empty_engine: AsyncEngine, change: dict[str, Any]
) -> None:
    """Autogenerate does not compare check constraints, so the migration's own ones are exercised here."""
    await migrate.upgrade(empty_engine)
    async with empty_engine.begin() as connection:
        model_id = await connection.scalar(select(ModelRow.id).limit(1))
    row = {"id": uuid.uuid4(), "model_id": model_id, "created_at": utcnow(), **MEASURED_RUN}

    async with empty_engine.begin() as connection:
        await connection.execute(insert(BenchmarkRunRow), [row])  # the run itself is fine
    with pytest.raises(IntegrityError):
        async with empty_engine.begin() as connection:
            await connection.execute(insert(BenchmarkRunRow), [row | change | {"id": uuid.uuid4()}])


OPEN_LOOP_RUN = MEASURED_RUN | {"concurrency": None, "request_rate": 4.0, "ttft_ms": None, "ttft_p99_ms": 120.0}


async def test_migrated_benchmark_runs_take_open_loop_and_partial_runs_and_downgrading_drops_only_those(
    empty_engine: AsyncEngine,
) -> None:
    """0008 stores an open-loop run with a p99 TTFT and no mean; 0007's table cannot, so a downgrade deletes it and
    keeps the complete closed-loop run."""
    await migrate.upgrade(empty_engine)
    async with empty_engine.begin() as connection:
        model_id = await connection.scalar(select(ModelRow.id).limit(1))
        closed, opened = uuid.uuid4(), uuid.uuid4()
        for run_id, run in ((closed, MEASURED_RUN), (opened, OPEN_LOOP_RUN)):
            await connection.execute(
                insert(BenchmarkRunRow), [{"id": run_id, "model_id": model_id, "created_at": utcnow(), **run}]
            )
    await migrate.downgrade(empty_engine, "0007")
    async with empty_engine.begin() as connection:
        ids = (await connection.execute(sa.text("SELECT id FROM benchmark_runs"))).scalars().all()
    assert [uuid.UUID(str(i)) for i in ids] == [closed]
    await migrate.upgrade(empty_engine)


async def test_migrated_endpoints_hold_their_profiles_and_leave_their_jobs_when_deleted(
    empty_engine: AsyncEngine,
) -> None:
    """The foreign keys' ON DELETE rules, as the migration wrote them on each backend."""
    await migrate.upgrade(empty_engine)
    async with empty_engine.begin() as connection:
        model_id = await connection.scalar(select(ModelRow.id).limit(1))
        profile_id = await connection.scalar(select(HardwareProfileRow.id).limit(1))
        endpoint_id, job_id = uuid.uuid4(), uuid.uuid4()
        now = utcnow()
        await connection.execute(
            insert(EndpointRow),
            [
                {
                    "id": endpoint_id,
                    "name": "chat",
                    "model_id": model_id,
                    "method": "HEURISTIC",
                    "engine": "VLLM",
                    "settings": {},
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        await connection.execute(
            insert(EndpointProfileRow), [{"endpoint_id": endpoint_id, "hardware_profile_id": profile_id, "position": 0}]
        )
        job = {"id": job_id, "model_id": model_id, "method": "HEURISTIC", "request": {}, "status": "FAILED"}
        job |= {"attempts": 1, "max_attempts": 1, "cancel_requested": False, "created_at": now}
        await connection.execute(insert(OptimizationJobRow), [job | {"endpoint_id": endpoint_id}])
        deployment = {"id": uuid.uuid4(), "endpoint_id": endpoint_id, "job_id": job_id, "artifacts": {}}
        await connection.execute(insert(EndpointDeploymentRow), [deployment | {"created_at": now}])

    with pytest.raises(IntegrityError):  # a profile an endpoint names stays
        async with empty_engine.begin() as connection:
            await connection.execute(delete(HardwareProfileRow).where(HardwareProfileRow.id == profile_id))

    async with empty_engine.begin() as connection:
        await connection.execute(delete(EndpointRow).where(EndpointRow.id == endpoint_id))
        assert (await connection.execute(select(EndpointProfileRow))).all() == []
        assert (await connection.execute(select(EndpointDeploymentRow))).all() == []
        assert (
            await connection.scalar(select(OptimizationJobRow.endpoint_id).where(OptimizationJobRow.id == job_id))
            is None
        )
