"""Regressor versions as stored: a model as bytes in the database and back, and which one a process starts with.

The database is the one place every process (API servers, workers, on any host) agrees on which regressor serves:
the active version's model is in its row. The first process to start on a database with no version trains one (from
data/benchmarks.csv plus every stored run, so a build-time model file never hides runs recorded since) or reuses
MODEL_PATH when that file was trained on exactly this data, and stores it as version 1. Later versions come from
`retrainRegressor` (`budsim.jobs.retrain`).

Where the database cannot be read (none yet, unreachable, not migrated) the process runs with MODEL_PATH as before,
unversioned: an answer it gives then records no version.
"""

import asyncio
import json
import logging
import zlib

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from budsim.core.predictors import ActiveRegressor, ResidualRegressor
from budsim.db import regressor_versions
from budsim.db.session import create_engine, create_sessionmaker
from budsim.regressor.loading import load_regressor
from budsim.regressor.stored_runs import UNREADABLE, StoredRuns, sqlite_file_missing, stored_runs
from budsim.settings import Settings

log = logging.getLogger("budsim")


def encode(regressor: ResidualRegressor) -> bytes:
    """The saved blobs (xgboost native JSON per booster, and the meta) as one zlib-compressed JSON object: 5 MB of
    JSON becomes about a fifth of that in the row."""
    document = {name: blob.decode() for name, blob in regressor.saved.items()}
    return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), level=6)


def decode(model: bytes) -> ResidualRegressor:
    document = json.loads(zlib.decompress(model))
    return ResidualRegressor.load({name: text.encode() for name, text in document.items()})


async def load_version(sessionmaker: async_sessionmaker[AsyncSession], version_id: int) -> ActiveRegressor:
    """A stored version, parsed off the event loop (about a second of XGBoost parsing)."""
    async with sessionmaker() as session:
        row = await regressor_versions.with_model(session, version_id)
    if row is None or row.model is None:
        raise LookupError(f"regressor version {version_id} has no stored model")
    regressor = await asyncio.to_thread(decode, row.model)
    _ = regressor.saved  # serialised now, off the loop, for the child processes that will need a copy
    return ActiveRegressor(regressor, version_id)


async def _store_first(
    sessionmaker: async_sessionmaker[AsyncSession], regressor: ResidualRegressor, stored: StoredRuns
) -> ActiveRegressor:
    """Store a start-up model as the database's first version; where another process stored one meanwhile, use
    that one, so that every process serves the same."""
    info = regressor.info
    model = await asyncio.to_thread(encode, regressor)
    try:
        async with sessionmaker() as session:
            row = await regressor_versions.insert_active(
                session,
                model=model,
                rows=int(str(info.get("rows", 0))),
                groups=int(str(info.get("groups", 0))),
                run_ids=list(stored.ids),
                dataset_sha256=str(info.get("dataset_sha256", "")),
            )
    except IntegrityError:
        async with sessionmaker() as session:
            other = await regressor_versions.active_id(session)
        if other is None:
            raise
        return await load_version(sessionmaker, other)
    log.info("stored the start-up regressor as version %d", row.id)
    return ActiveRegressor(regressor, row.id)


async def _unversioned(settings: Settings) -> ActiveRegressor:
    """MODEL_PATH as it is (trained first if absent), for a process that cannot read the database's versions."""
    return ActiveRegressor(await asyncio.to_thread(load_regressor, settings.model_path, None, settings.training_data))


async def prepare_regressor(settings: Settings) -> ActiveRegressor:
    """The regressor this process starts with: the database's active version; else one trained (or MODEL_PATH, when
    trained on exactly this data) and stored as the first version; else, without a readable database, MODEL_PATH
    unversioned. None inside when none could be loaded at all."""
    url = settings.async_database_url
    if sqlite_file_missing(url):
        return await _unversioned(settings)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    try:
        try:
            async with sessionmaker() as session:
                active = await regressor_versions.active_id(session)
        except UNREADABLE as error:
            log.warning(
                "regressor versions unreadable (%s: %s): using MODEL_PATH unversioned",
                type(error).__name__,
                str(error).splitlines()[0],
            )
            return await _unversioned(settings)
        if active is not None:
            try:
                loaded = await load_version(sessionmaker, active)
            except Exception:
                log.exception("regressor version %d could not be loaded; REGRESSOR falls back", active)
                return ActiveRegressor(None, None)
            log.info("regressor version %d loaded (%s)", active, loaded.regressor.info if loaded.regressor else {})
            return loaded
        stored = await stored_runs(sessionmaker)  # the database just answered: no second engine for it
        regressor = await asyncio.to_thread(load_regressor, settings.model_path, stored, settings.training_data)
        if regressor is None:
            return ActiveRegressor(None, None)
        return await _store_first(sessionmaker, regressor, stored)
    finally:
        await engine.dispose()
