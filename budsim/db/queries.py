"""Queries shaped for the API: keyset pages for lists, one `IN (...)` per DataLoader batch for nested fields."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import Select, and_, bindparam, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from budsim.db.models import (
    BenchmarkRunRow,
    EndpointDeploymentRow,
    EndpointProfileRow,
    EndpointRow,
    HardwareProfileRow,
    ModelRow,
    OptimizationJobRow,
    SimulationRow,
)

T = TypeVar("T")
TimeIdRow = TypeVar("TimeIdRow", SimulationRow, BenchmarkRunRow, OptimizationJobRow, EndpointRow)
PerEndpointRow = TypeVar("PerEndpointRow", OptimizationJobRow, EndpointDeploymentRow)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    rows: list[T]
    has_next_page: bool
    total_count: int


async def _page(session: AsyncSession, stmt: Select[T], keyset: Select[T], first: int) -> Page[T]:
    """Fetch one extra row to learn whether another page follows, and count the filtered set once."""
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = list((await session.scalars(keyset.limit(first + 1))).all())
    return Page(rows=rows[:first], has_next_page=len(rows) > first, total_count=int(total or 0))


async def _newest_first(
    session: AsyncSession,
    table: type[TimeIdRow],
    stmt: Select[TimeIdRow],
    after: tuple[datetime, uuid.UUID] | None,
    first: int,
) -> Page[TimeIdRow]:
    """Keyset page on (created_at, id) descending: the id breaks ties between rows stored in the same instant."""
    keyset = stmt
    if after is not None:
        created_at, row_id = after
        keyset = stmt.where(or_(table.created_at < created_at, and_(table.created_at == created_at, table.id < row_id)))
    return await _page(session, stmt, keyset.order_by(table.created_at.desc(), table.id.desc()), first)


async def list_hardware_profiles(
    session: AsyncSession, *, first: int, after_name: str | None, gpu_type: str | None
) -> Page[HardwareProfileRow]:
    stmt = select(HardwareProfileRow)
    if gpu_type is not None:
        stmt = stmt.where(HardwareProfileRow.gpu_type == gpu_type)
    keyset = stmt if after_name is None else stmt.where(HardwareProfileRow.name > after_name)
    return await _page(session, stmt, keyset.order_by(HardwareProfileRow.name), first)


async def list_simulations(
    session: AsyncSession,
    *,
    first: int,
    after: tuple[datetime, uuid.UUID] | None,
    model_id: uuid.UUID | None,
    hardware_profile_id: uuid.UUID | None,
    method: str | None,
) -> Page[SimulationRow]:
    stmt = select(SimulationRow)
    if model_id is not None:
        stmt = stmt.where(SimulationRow.model_id == model_id)
    if hardware_profile_id is not None:
        stmt = stmt.where(SimulationRow.hardware_profile_id == hardware_profile_id)
    if method is not None:
        stmt = stmt.where(SimulationRow.method == method)
    return await _newest_first(session, SimulationRow, stmt, after, first)


async def list_benchmark_runs(
    session: AsyncSession, *, first: int, after: tuple[datetime, uuid.UUID] | None, model_id: uuid.UUID | None
) -> Page[BenchmarkRunRow]:
    stmt = select(BenchmarkRunRow)
    if model_id is not None:
        stmt = stmt.where(BenchmarkRunRow.model_id == model_id)
    return await _newest_first(session, BenchmarkRunRow, stmt, after, first)


async def list_optimization_jobs(
    session: AsyncSession,
    *,
    first: int,
    after: tuple[datetime, uuid.UUID] | None,
    status: str | None = None,
    endpoint_id: uuid.UUID | None = None,
) -> Page[OptimizationJobRow]:
    stmt = select(OptimizationJobRow)
    if status is not None:
        stmt = stmt.where(OptimizationJobRow.status == status)
    if endpoint_id is not None:
        stmt = stmt.where(OptimizationJobRow.endpoint_id == endpoint_id)
    return await _newest_first(session, OptimizationJobRow, stmt, after, first)


async def benchmark_runs_for_training(session: AsyncSession) -> list[tuple[BenchmarkRunRow, ModelRow]]:
    """Every stored run with the model it ran, oldest first so that a retrain sees the rows in a stable order."""
    stmt = (
        select(BenchmarkRunRow, ModelRow)
        .join(ModelRow, BenchmarkRunRow.model_id == ModelRow.id)
        .order_by(BenchmarkRunRow.created_at, BenchmarkRunRow.id)
    )
    return [(run, model) for run, model in (await session.execute(stmt)).all()]


async def hardware_profiles_by_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, HardwareProfileRow]:
    rows = await session.scalars(select(HardwareProfileRow).where(HardwareProfileRow.id.in_(set(ids))))
    return {row.id: row for row in rows}


# Built once: every `simulate` and `optimize` runs it, and built per call (the join, the comparisons, the IN list) it
# cost 0.76-0.79 ms of CPU rather than 0.59-0.61 (PostgreSQL, four profiles).
_MODEL_WITH_PROFILES = (
    select(ModelRow, HardwareProfileRow)
    .join(HardwareProfileRow, true())
    .where(ModelRow.id == bindparam("model_id"), HardwareProfileRow.id.in_(bindparam("profile_ids", expanding=True)))
)


async def model_with_profiles(
    session: AsyncSession, model_id: uuid.UUID, profile_ids: Sequence[uuid.UUID]
) -> tuple[ModelRow | None, dict[uuid.UUID, HardwareProfileRow]]:
    """The model and those of the profiles that exist, in one round trip when the model and any profile exist; a
    second only when none of the profiles does, to tell whether the model exists.

    Every await is a trip through the event loop's queue: behind a burst of websocket opens or job submissions each
    one waited several milliseconds (bench/load.py), so a request that makes fewer of them waits less.
    """
    ids = {"model_id": model_id, "profile_ids": list(set(profile_ids))}
    pairs = (await session.execute(_MODEL_WITH_PROFILES, ids)).all()
    if pairs:
        return pairs[0][0], {profile.id: profile for _, profile in pairs}
    return await session.get(ModelRow, model_id), {}


async def models_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ModelRow]:
    rows = await session.scalars(select(ModelRow).where(ModelRow.id.in_(set(ids))))
    return {row.id: row for row in rows}


async def model_ids_by_names(session: AsyncSession, names: Sequence[str]) -> dict[str, uuid.UUID]:
    """Registered models' ids by their exact names; a name no model has is left out."""
    rows = await session.execute(select(ModelRow.name, ModelRow.id).where(ModelRow.name.in_(set(names))))
    return {name: model_id for name, model_id in rows.all()}


async def simulations_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, SimulationRow]:
    rows = await session.scalars(select(SimulationRow).where(SimulationRow.id.in_(set(ids))))
    return {row.id: row for row in rows}


async def search_models(session: AsyncSession, search: str | None, limit: int) -> list[ModelRow]:
    stmt = select(ModelRow).order_by(ModelRow.name).limit(limit)
    if search:
        escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(func.lower(ModelRow.name).like(f"%{escaped}%", escape="\\"))
    return list((await session.scalars(stmt)).all())


async def hardware_profile_name_taken(session: AsyncSession, name: str, except_id: uuid.UUID | None = None) -> bool:
    stmt = select(HardwareProfileRow.id).where(HardwareProfileRow.name == name)
    if except_id is not None:
        stmt = stmt.where(HardwareProfileRow.id != except_id)
    return (await session.scalar(stmt.limit(1))) is not None


async def model_name_taken(session: AsyncSession, name: str) -> bool:
    return (await session.scalar(select(ModelRow.id).where(ModelRow.name == name).limit(1))) is not None


async def simulations_using_profile(session: AsyncSession, profile_id: uuid.UUID) -> int:
    stmt = select(func.count()).select_from(SimulationRow).where(SimulationRow.hardware_profile_id == profile_id)
    return int(await session.scalar(stmt) or 0)


# ---------------------------------------------------------------- endpoints


async def list_endpoints(
    session: AsyncSession, *, first: int, after: tuple[datetime, uuid.UUID] | None
) -> Page[EndpointRow]:
    return await _newest_first(session, EndpointRow, select(EndpointRow), after, first)


async def endpoints_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, EndpointRow]:
    rows = await session.scalars(select(EndpointRow).where(EndpointRow.id.in_(set(ids))))
    return {row.id: row for row in rows}


async def endpoint_name_taken(session: AsyncSession, name: str) -> bool:
    return (await session.scalar(select(EndpointRow.id).where(EndpointRow.name == name).limit(1))) is not None


async def endpoint_profiles(
    session: AsyncSession, endpoint_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[HardwareProfileRow]]:
    """Each endpoint's hardware profiles in the order it named them, for all `endpoint_ids` in one query."""
    stmt = (
        select(EndpointProfileRow.endpoint_id, HardwareProfileRow)
        .join(HardwareProfileRow, HardwareProfileRow.id == EndpointProfileRow.hardware_profile_id)
        .where(EndpointProfileRow.endpoint_id.in_(set(endpoint_ids)))
        .order_by(EndpointProfileRow.endpoint_id, EndpointProfileRow.position)
    )
    found: dict[uuid.UUID, list[HardwareProfileRow]] = {endpoint_id: [] for endpoint_id in endpoint_ids}
    for endpoint_id, profile in (await session.execute(stmt)).all():
        found[endpoint_id].append(profile)
    return found


async def endpoints_using_profile(session: AsyncSession, profile_id: uuid.UUID) -> int:
    stmt = (
        select(func.count()).select_from(EndpointProfileRow).where(EndpointProfileRow.hardware_profile_id == profile_id)
    )
    return int(await session.scalar(stmt) or 0)


async def _newest_per_endpoint(
    session: AsyncSession, table: type[PerEndpointRow], endpoint_ids: Sequence[uuid.UUID], first: int
) -> dict[uuid.UUID, Page[PerEndpointRow]]:
    """The first page (newest first) of each endpoint's rows of `table`, for all `endpoint_ids` in one query: each
    row numbered within its endpoint by a window function, then cut at `first` + 1 (whether a next page follows)."""
    newest = (table.created_at.desc(), table.id.desc())
    inner = (
        select(
            table,
            func.row_number().over(partition_by=table.endpoint_id, order_by=newest).label("rank"),
            func.count().over(partition_by=table.endpoint_id).label("total"),
        )
        .where(table.endpoint_id.in_(set(endpoint_ids)))
        .subquery()
    )
    row = aliased(table, inner)
    stmt = select(row, inner.c.total).where(inner.c.rank <= first + 1).order_by(inner.c.endpoint_id, inner.c.rank)
    grouped: dict[uuid.UUID, list[PerEndpointRow]] = {}
    totals: dict[uuid.UUID, int] = {}
    for found, total in (await session.execute(stmt)).all():
        grouped.setdefault(found.endpoint_id, []).append(found)
        totals[found.endpoint_id] = int(total)
    return {
        endpoint_id: Page(
            rows=grouped.get(endpoint_id, [])[:first],
            has_next_page=len(grouped.get(endpoint_id, [])) > first,
            total_count=totals.get(endpoint_id, 0),
        )
        for endpoint_id in endpoint_ids
    }


async def endpoint_job_pages(
    session: AsyncSession, endpoint_ids: Sequence[uuid.UUID], first: int
) -> dict[uuid.UUID, Page[OptimizationJobRow]]:
    """Each endpoint's newest `first` jobs (its latest job with `first` 1)."""
    return await _newest_per_endpoint(session, OptimizationJobRow, endpoint_ids, first)


@dataclass(frozen=True, slots=True)
class Deployed:
    """An endpoint's latest deployment and the Simulation holding the answer it chose from."""

    row: EndpointDeploymentRow
    simulation_id: uuid.UUID | None


async def latest_deployments(session: AsyncSession, endpoint_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Deployed]:
    pages = await _newest_per_endpoint(session, EndpointDeploymentRow, endpoint_ids, 1)
    latest = {endpoint_id: page.rows[0] for endpoint_id, page in pages.items() if page.rows}
    if not latest:
        return {}
    jobs = select(OptimizationJobRow.id, OptimizationJobRow.simulation_id).where(
        OptimizationJobRow.id.in_({row.job_id for row in latest.values()})
    )
    simulations = {job_id: simulation_id for job_id, simulation_id in (await session.execute(jobs)).all()}
    return {endpoint_id: Deployed(row, simulations.get(row.job_id)) for endpoint_id, row in latest.items()}


async def newest_job_with_result(session: AsyncSession, endpoint_id: uuid.UUID) -> OptimizationJobRow | None:
    """The job a deploy defaults to: the endpoint's newest with an answer stored (SUCCEEDED, TIMED_OUT, CANCELLED)."""
    stmt = (
        select(OptimizationJobRow)
        .where(OptimizationJobRow.endpoint_id == endpoint_id, OptimizationJobRow.simulation_id.is_not(None))
        .order_by(OptimizationJobRow.created_at.desc(), OptimizationJobRow.id.desc())
        .limit(1)
    )
    return (await session.scalars(stmt)).first()


async def reruns_of(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[SimulationRow]]:
    """Each simulation's reruns (`resimulate`, `reoptimize`), newest first; one query for the batch."""
    stmt = (
        select(SimulationRow)
        .where(SimulationRow.rerun_of_id.in_(set(ids)))
        .order_by(SimulationRow.created_at.desc(), SimulationRow.id.desc())
    )
    found: dict[uuid.UUID, list[SimulationRow]] = {i: [] for i in ids}
    for row in await session.scalars(stmt):
        if row.rerun_of_id is not None:
            found[row.rerun_of_id].append(row)
    return found


async def job_of_simulation(session: AsyncSession, simulation_id: uuid.UUID) -> OptimizationJobRow | None:
    """The optimization job whose answer this Simulation is; None for a single prediction (`simulate`)."""
    stmt = select(OptimizationJobRow).where(OptimizationJobRow.simulation_id == simulation_id).limit(1)
    return (await session.scalars(stmt)).first()
