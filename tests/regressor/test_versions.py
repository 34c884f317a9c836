"""Regressor versions as stored: the model survives the database unchanged, a first start learns the runs recorded
before it, processes starting together agree on one version, and a process follows a version activated elsewhere."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from budsim.core.predictors import FEATURE_NAMES, ActiveRegressor, ResidualRegressor
from budsim.db import regressor_versions
from budsim.db.base import utcnow
from budsim.db.models import BenchmarkRunRow, ModelRow, RegressorVersionRow
from budsim.db.session import create_engine, create_sessionmaker
from budsim.jobs.news import JobNews
from budsim.jobs.retrain import Retrainer
from budsim.regressor.following import RegressorFollower
from budsim.regressor.training import read_model
from budsim.regressor.versions import decode, encode, prepare_regressor
from budsim.runtime.events import EventBus
from budsim.settings import Settings
from tests.conftest import BACKENDS, migrated_database
from tests.training import write_slice

# Llama-3.1-8B on one H100 at 16 in flight, as vLLM's benchmark_serving reports it (tests/api/test_benchmarks.py).
TTFT_MS, TPOT_MS, TOKENS_PER_S = 48.2, 9.6, 1633.8


@pytest.fixture(scope="module")
def training_slice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_slice(tmp_path_factory.mktemp("data"))


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with migrated_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def sessions(database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database)
    yield create_sessionmaker(engine)
    await engine.dispose()


def settings(database: str, training_slice: tuple[Path, Path], model_path: Path | None = None) -> Settings:
    return Settings(database_url=database, training_data=training_slice[0], model_path=model_path or training_slice[1])


async def record_run(sessions: async_sessionmaker[AsyncSession]) -> str:
    async with sessions() as session:
        model = await session.scalar(select(ModelRow).where(ModelRow.name == "meta-llama/Llama-3.1-8B-Instruct"))
        assert model is not None
        run = BenchmarkRunRow(
            model_id=model.id, gpu_type="H100-SXM", gpu_count=1, tensor_parallel=1, pipeline_parallel=1,
            weight_dtype="BF16", engine="VLLM", input_tokens=1000, output_tokens=200, concurrency=16,
            ttft_ms=TTFT_MS, tpot_ms=TPOT_MS, output_tokens_per_s=TOKENS_PER_S, source="measured in staging",
        )  # fmt: skip
        session.add(run)
        await session.commit()
        return str(run.id)


def test_a_model_comes_back_from_its_bytes_predicting_exactly_as_before(regressor: ResidualRegressor) -> None:
    features = np.random.default_rng(0).uniform(0.5, 2.0, (16, len(FEATURE_NAMES)))
    stored = encode(regressor)
    back = decode(stored)
    assert len(stored) < len(b"".join(regressor.saved.values())) / 3  # compressed: megabytes become hundreds of kB
    assert np.array_equal(back.log_scales(features).mean, regressor.log_scales(features).mean)
    assert back.coverage == regressor.coverage


async def test_the_first_start_stores_what_it_serves_as_active_version_1(
    database: str, sessions: async_sessionmaker[AsyncSession], training_slice: tuple[Path, Path]
) -> None:
    active = await prepare_regressor(settings(database, training_slice))
    again = await prepare_regressor(settings(database, training_slice))  # a restart: the stored version, not a file
    async with sessions() as session:
        [row] = (await session.scalars(select(RegressorVersionRow))).all()
    assert (active.version, again.version) == (1, 1)
    assert (row.status, row.active, row.origin, row.run_ids) == ("TRAINED", True, "START_UP", [])
    assert row.dataset_sha256 == read_model(training_slice[1]).info["dataset_sha256"]  # the file, reused as is


async def test_a_first_start_learns_the_runs_recorded_before_it_not_a_model_file_trained_without_them(
    database: str, sessions: async_sessionmaker[AsyncSession], training_slice: tuple[Path, Path], tmp_path: Path
) -> None:
    built_in = tmp_path / "image.json"  # what an image ships: trained on the CSV alone
    built_in.write_bytes(training_slice[1].read_bytes())
    run_id = await record_run(sessions)
    active = await prepare_regressor(settings(database, training_slice, built_in))
    async with sessions() as session:
        row = await regressor_versions.get(session, 1)
    assert row is not None
    assert row.run_ids == [run_id]
    assert active.regressor is not None
    assert active.regressor.info["rows"] == read_model(training_slice[1]).info["rows"] + 1  # the recorded run too
    assert read_model(built_in).info["dataset_sha256"] == row.dataset_sha256  # the file was retrained, not trusted


async def test_processes_starting_together_agree_on_one_version(
    database: str, sessions: async_sessionmaker[AsyncSession], training_slice: tuple[Path, Path]
) -> None:
    started = await asyncio.gather(*(prepare_regressor(settings(database, training_slice)) for _ in range(3)))
    async with sessions() as session:
        rows = (await session.scalars(select(RegressorVersionRow))).all()
    assert len(rows) == 1
    assert {active.version for active in started} == {rows[0].id}


async def test_a_database_that_cannot_be_read_leaves_model_path_unversioned(
    tmp_path: Path, training_slice: tuple[Path, Path]
) -> None:
    never_migrated = f"sqlite+aiosqlite:///{tmp_path / 'absent.db'}"
    active = await prepare_regressor(settings(never_migrated, training_slice))
    assert active.version is None
    assert active.regressor is not None
    assert not (tmp_path / "absent.db").exists()  # not created where `migrate` should make it


async def test_a_process_follows_a_version_activated_elsewhere(
    database: str, sessions: async_sessionmaker[AsyncSession], training_slice: tuple[Path, Path]
) -> None:
    first = await prepare_regressor(settings(database, training_slice))
    follower = RegressorFollower(sessions, first, poll_seconds=600)
    switched: list[ActiveRegressor] = []

    async def record(active: ActiveRegressor) -> None:
        switched.append(active)

    follower.on_switch.append(record)
    assert await follower.check() is False  # already on the active version
    async with sessions() as session:
        second = await regressor_versions.start_training(session, forced=True, api_key_id=None)
        assert first.regressor is not None
        ended = await regressor_versions.finish(
            session, second.id, activate=True, model=encode(first.regressor), rows=1, groups=1, run_ids=[],
            dataset_sha256="x", metrics={}, progress={},
        )  # fmt: skip
    assert ended is True
    assert await follower.check() is True
    assert [active.version for active in switched] == [second.id]
    assert follower.current.version == second.id
    async with sessions() as session:
        actives = (await session.scalars(select(RegressorVersionRow.id).where(RegressorVersionRow.active))).all()
    assert actives == [second.id]


async def test_one_version_trains_at_a_time_and_a_silent_one_is_declared_failed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        training = await regressor_versions.start_training(session, forced=False, api_key_id=None)
    with pytest.raises(IntegrityError):
        async with sessions() as session:
            await regressor_versions.start_training(session, forced=False, api_key_id=None)
    async with sessions() as session:
        assert await regressor_versions.fail_abandoned(session, utcnow() - timedelta(minutes=10)) == 0  # alive
        assert await regressor_versions.fail_abandoned(session, utcnow() + timedelta(seconds=1)) == 1
        row = await regressor_versions.get(session, training.id)
        assert row is not None
        await session.refresh(row)
        assert row.status == "FAILED"
        assert "stopped" in (row.error or "")
        # Too late: a version declared dead keeps its verdict, and its result is dropped.
        late = await regressor_versions.finish(
            session, training.id, activate=True, model=b"x", rows=1, groups=1, run_ids=[], dataset_sha256="x",
            metrics={}, progress={},
        )  # fmt: skip
    assert late is False


async def test_a_retrain_that_cannot_train_ends_failed_with_its_reason(
    database: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    broken = Settings(database_url=database, training_data=tmp_path / "missing.csv")
    retrainer = Retrainer(broken, sessions, JobNews(EventBus()))
    version = await retrainer.start(force=False, api_key_id=None)
    for _ in range(600):
        async with sessions() as session:
            row = await regressor_versions.get(session, version.id)
        assert row is not None
        if row.status != "TRAINING":
            break
        await asyncio.sleep(0.1)
    await retrainer.close()
    assert row.status == "FAILED"
    assert "missing.csv" in (row.error or "")
    assert row.active is False
