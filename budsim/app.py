"""The ASGI application, wired: routes, and the resources its lifespan owns (database, processes, worker)."""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route, WebSocketRoute

from budsim.db.session import create_engine, create_reader, create_sessionmaker, warm_pool
from budsim.jobs.news import job_news
from budsim.jobs.retrain import Retrainer
from budsim.jobs.worker import Worker
from budsim.regressor.following import RegressorFollower
from budsim.regressor.versions import prepare_regressor
from budsim.runtime.events import EventBus
from budsim.runtime.predictions import Predictions
from budsim.schema import build_schema
from budsim.schema.limits import QueryLimits
from budsim.settings import Settings
from budsim.web import pages, rest
from budsim.web.admission import WebSocketTurns
from budsim.web.auth import Authenticate
from budsim.web.body import BodyLimit
from budsim.web.graphql import BudSimGraphQL
from budsim.web.probes import healthz, readyz
from budsim.web.trusted import trusted_digests

log = logging.getLogger("budsim")


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(settings.async_database_url, processes=settings.api_processes)
        app.state.settings = settings
        if not settings.auth_enabled:
            log.warning(
                "AUTHENTICATION IS DISABLED: every request is answered as admin without an API key (%s). "
                "Set AUTH_DISABLED=false and create keys with `budsim create-api-key` before exposing this server.",
                "AUTH_DISABLED=true" if settings.auth_disabled else "SQLite database, AUTH_DISABLED unset",
            )
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.reader = create_reader(engine)
        if engine.dialect.name == "postgresql":
            await warm_pool(engine)
        app.state.events = EventBus()
        app.state.bulk = asyncio.Semaphore(settings.bulk_concurrency)
        active = await prepare_regressor(settings)
        regressors = RegressorFollower(app.state.sessionmaker, active, settings.regressor_poll_seconds)
        app.state.regressors = regressors
        app.state.predictions = Predictions(active, settings.simulate_processes)
        await app.state.predictions.start()
        regressors.on_switch.append(app.state.predictions.use)
        app.state.news = job_news(app.state.events, engine, settings.async_database_url)
        app.state.news.on_regressor.append(regressors.wake)
        await app.state.news.start()
        app.state.retrainer = Retrainer(settings, app.state.sessionmaker, app.state.news, regressors.check)
        app.state.worker = None
        worker_task = None
        if settings.run_worker:
            app.state.worker = Worker(settings, app.state.sessionmaker, app.state.news, active)
            regressors.on_switch.append(app.state.worker.use)
            worker_task = asyncio.create_task(app.state.worker.run(), name="budsim-worker")
        elif engine.dialect.name == "sqlite":
            log.warning("no worker and SQLite: optimization jobs stay QUEUED (only PostgreSQL reaches other processes)")
        await regressors.start()
        # What start-up built (schema, catalogs, regressor: ~140k objects) lives as long as the process. Frozen, the
        # collector stops re-scanning it on every full collection, which otherwise stalled the event loop for tens of
        # milliseconds at a time under load (bench/load.py).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await regressors.close()
            await app.state.retrainer.close()
            if worker_task is not None:
                worker_task.cancel()
                await asyncio.gather(worker_task, return_exceptions=True)
            await app.state.news.close()
            app.state.predictions.close()
            await engine.dispose()

    limits = QueryLimits(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_query_tokens,
        max_simulations=settings.max_simulations_per_request,
        introspection=settings.introspection,
        trusted_documents=trusted_digests() if settings.trusted_documents else None,
    )
    graphql = BudSimGraphQL(build_schema(limits), trusted_documents=settings.trusted_documents)
    openings = asyncio.Semaphore(settings.bulk_concurrency)  # websocket openings' turns (budsim.web.admission)
    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", WebSocketTurns(graphql, openings)),
        *rest.routes(),
        *pages.routes(),
    ]
    # Authentication before the body limit: a request without a key is refused before its body is read.
    middleware = [
        Middleware(Authenticate, enabled=settings.auth_enabled, rate_limit_per_minute=settings.rate_limit_per_minute),
        Middleware(BodyLimit, max_bytes=settings.max_request_bytes),
    ]
    if settings.cors_origin_list:
        # Outermost, so that a 401 or a 413 carries the headers too and the browser shows it to the page.
        cors = Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
        middleware.insert(0, cors)
    app = Starlette(
        routes=routes, middleware=middleware, exception_handlers={HTTPException: rest.http_error}, lifespan=lifespan
    )
    app.state.openings = openings
    return app
