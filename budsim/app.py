"""The ASGI application: Starlette routes around the Strawberry GraphQL app, resources owned by the lifespan."""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from graphql import GraphQLError
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from budsim import __version__
from budsim.admission import SCOPE_KEY, WebSocketTurns
from budsim.context import Context
from budsim.core.predictors import ResidualRegressor
from budsim.db import migrate
from budsim.db.session import create_engine, create_reader, create_sessionmaker, warm_pool
from budsim.events import EventBus
from budsim.jobs.news import job_news
from budsim.jobs.worker import Worker
from budsim.predictions import Predictions
from budsim.schema import build_schema
from budsim.settings import Settings
from budsim.stored_runs import StoredRuns, fetch_stored_runs

log = logging.getLogger("budsim")


def _error_code(error: GraphQLError) -> str:
    """Apollo-style codes let clients tell a malformed request from a server fault without parsing messages."""
    if error.extensions and "code" in error.extensions:
        return str(error.extensions["code"])
    if error.original_error is None:
        return "GRAPHQL_PARSE_FAILED" if error.message.startswith("Syntax Error") else "GRAPHQL_VALIDATION_FAILED"
    if isinstance(error.original_error, GraphQLError):  # a variable's value failed to coerce to its declared type
        return "BAD_USER_INPUT"
    return "INTERNAL_SERVER_ERROR"


class BudSimGraphQL(GraphQL[Context, None]):
    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Context:
        state = request.app.state
        return Context(
            settings=state.settings,
            sessionmaker=state.sessionmaker,
            reader=state.reader,
            events=state.events,
            news=state.news,
            regressor=state.regressor,
            predictions=state.predictions,
            bulk=state.bulk,
            turn=request.scope.get(SCOPE_KEY),
        )

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        processed = await super().process_result(request, result)
        for error, formatted in zip(result.errors or [], processed.get("errors") or [], strict=False):
            formatted.setdefault("extensions", {})["code"] = _error_code(error)  # type: ignore[index]
        return processed


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__})


async def readyz(request: Request) -> JSONResponse:
    engine = request.app.state.engine
    head = migrate.head_revision()
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        current = await migrate.current_revision(engine)
    except Exception as error:  # any driver error means "not ready", and says why
        return JSONResponse({"status": "unavailable", "database": "unreachable", "error": type(error).__name__}, 503)
    ready = current == head
    body = {"status": "ok" if ready else "unavailable", "database": "ok", "migration": current, "head": head}
    return JSONResponse(body, status_code=200 if ready else 503)


def load_regressor(model_path: Path, stored: StoredRuns | None = None) -> ResidualRegressor | None:
    """MODEL_PATH, trained first if absent (seconds) from data/benchmarks.csv plus the `stored` runs; None if
    neither works.

    Without a regressor the service still answers: REGRESSOR requests fall back to the analytical model and say so
    in their confidence and warnings, which beats refusing to start over a missing or corrupt model file.
    """
    from budsim.training import load_or_train  # numpy/xgboost-heavy; only the server process needs it

    try:
        if not model_path.exists():
            log.info("no regressor at %s: training one from data/benchmarks.csv", model_path)
        regressor = load_or_train(model_path, stored=stored)
    except Exception:
        log.exception("regressor unavailable (MODEL_PATH=%s); REGRESSOR falls back to the analytical model", model_path)
        return None
    log.info("regressor loaded from %s (%s)", model_path, regressor.info)
    _ = regressor.saved  # serialised now, off the event loop, for the child processes that will need a copy
    return regressor


async def prepare_regressor(settings: Settings) -> ResidualRegressor | None:
    """`load_regressor` for MODEL_PATH, off the event loop, with the stored runs to train on when the file is absent."""
    stored = None if settings.model_path.exists() else await fetch_stored_runs(settings.async_database_url)
    return await asyncio.to_thread(load_regressor, settings.model_path, stored)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(settings.async_database_url, processes=settings.api_processes)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.reader = create_reader(engine)
        if engine.dialect.name == "postgresql":
            await warm_pool(engine)
        app.state.events = EventBus()
        app.state.bulk = asyncio.Semaphore(settings.bulk_concurrency)
        app.state.regressor = await prepare_regressor(settings)
        app.state.predictions = Predictions(app.state.regressor, settings.simulate_processes)
        await app.state.predictions.start()
        app.state.news = job_news(app.state.events, engine, settings.async_database_url)
        await app.state.news.start()
        app.state.worker = None
        worker_task = None
        if settings.run_worker:
            app.state.worker = Worker(settings, app.state.sessionmaker, app.state.news, app.state.regressor)
            worker_task = asyncio.create_task(app.state.worker.run(), name="budsim-worker")
        elif engine.dialect.name == "sqlite":
            log.warning("no worker and SQLite: optimization jobs stay QUEUED (only PostgreSQL reaches other processes)")
        # What start-up built (schema, catalogs, regressor: ~140k objects) lives as long as the process. Frozen, the
        # collector stops re-scanning it on every full collection, which otherwise stalled the event loop for tens of
        # milliseconds at a time under load (bench/load.py).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if worker_task is not None:
                worker_task.cancel()
                await asyncio.gather(worker_task, return_exceptions=True)
            await app.state.news.close()
            app.state.predictions.close()
            await engine.dispose()

    graphql = BudSimGraphQL(build_schema())
    openings = asyncio.Semaphore(settings.bulk_concurrency)  # websocket openings' turns (budsim.admission)
    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", WebSocketTurns(graphql, openings)),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.openings = openings
    return app
