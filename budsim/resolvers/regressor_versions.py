"""Regressor versions: listing them, `retrainRegressor`, and following a retrain until it ends."""

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from budsim.core.predictors.evaluation import Evaluation
from budsim.core.types import VersionOrigin, VersionStatus
from budsim.db import regressor_versions as store
from budsim.db.models import RegressorVersionRow
from budsim.jobs.news import retrain_topic
from budsim.jobs.retrain import RetrainInProgress
from budsim.resolvers.auth import Scope, caller_key_id, require
from budsim.resolvers.context import Context
from budsim.resolvers.errors import BadUserInput, Conflict
from budsim.resolvers.pagination import check_first
from budsim.schema.types.regressor import (
    MetricAccuracy,
    RegressorMetrics,
    RegressorVersion,
    RetrainProgress,
)

RECHECK_S = 15.0  # a subscriber re-reads the row this often when it hears nothing (news can be lost)


def metrics(evaluation: Evaluation) -> RegressorMetrics:
    return RegressorMetrics(
        folds=evaluation.folds,
        rows=evaluation.rows,
        user_rows=evaluation.user_rows,
        not_worse=evaluation.not_worse(),
        metrics=[
            MetricAccuracy(
                metric=m.metric,
                median_ape=m.median_ape,
                p90_ape=m.p90_ape,
                active_median_ape=m.active_median_ape,
                active_p90_ape=m.active_p90_ape,
                user_median_ape=m.user_median_ape,
                active_user_median_ape=m.active_user_median_ape,
            )
            for m in evaluation.metrics
        ],
    )


def _progress(document: dict[str, Any] | None) -> RetrainProgress | None:
    if not document:
        return None
    return RetrainProgress(stage=str(document["stage"]), done=int(document["done"]), total=int(document["total"]))


def version(row: RegressorVersionRow) -> RegressorVersion:
    return RegressorVersion(
        id=row.id,
        status=VersionStatus(row.status),
        active=row.active,
        forced=row.forced,
        origin=VersionOrigin(row.origin),
        created_at=row.created_at,
        finished_at=row.finished_at,
        activated_at=row.activated_at,
        rows=row.rows,
        groups=row.groups,
        user_runs=len(row.run_ids),
        metrics=metrics(Evaluation.from_document(row.metrics)) if row.metrics else None,
        progress=_progress(row.progress),
        error=row.error,
    )


async def list_versions(ctx: Context, first: int, before: int | None) -> list[RegressorVersion]:
    require(ctx, Scope.READ)
    async with ctx.reader() as session:
        rows = await store.listed(session, check_first(first), before)
    return [version(row) for row in rows]


async def get_version(ctx: Context, id: int) -> RegressorVersion | None:
    require(ctx, Scope.READ)
    async with ctx.reader() as session:
        row = await store.get(session, id)
    return version(row) if row else None


async def retrain(ctx: Context, force: bool) -> RegressorVersion:
    """Start a retrain (admin: it changes every answer the service gives once activated)."""
    require(ctx, Scope.ADMIN)
    try:
        row = await ctx.retrainer.start(force=force, api_key_id=caller_key_id(ctx))
    except RetrainInProgress as busy:
        raise Conflict(
            "force", f"regressor version {busy.version_id} is training; follow it with retrainProgress, then retry"
        ) from None
    return version(row)


async def follow(ctx: Context, id: int) -> AsyncGenerator[RegressorVersion, None]:
    """The version as it stands, again after each stage or fold, and last as it ended."""
    require(ctx, Scope.READ)
    async with ctx.events.subscribe(retrain_topic(id)) as queue:  # before reading the row: nothing falls between
        async with ctx.reader() as session:
            row = await store.get(session, id)
        if row is None:
            raise BadUserInput("versionId", f"RegressorVersion {id} does not exist")
        ctx.started()
        yield version(row)
        seen = (row.status, row.progress)
        while row.status == VersionStatus.TRAINING.value:
            try:
                async with asyncio.timeout(RECHECK_S):
                    await queue.get()
            except TimeoutError:
                pass
            async with ctx.reader() as session:
                fresh = await store.get(session, id)
            if fresh is None:
                return
            row = fresh
            if (row.status, row.progress) != seen:
                seen = (row.status, row.progress)
                yield version(row)
