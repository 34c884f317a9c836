"""DataLoaders that turn N nested lookups into one query per batch, each batch in its own session.

The schema types resolve their nested fields through these (they may not import resolvers), so where a field needs
more than a row (an endpoint's staleness, its deployment with the config it chose) the loader returns the finished
schema value.
"""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from budsim.core.staleness import changed_since
from budsim.db import queries
from budsim.db.models import HardwareProfileRow, ModelRow, OptimizationJobRow, SimulationRow
from budsim.resolvers import answers
from budsim.resolvers.pagination import check_first, decode_time_id_cursor
from budsim.schema.types.endpoint import Endpoint, EndpointDeployment
from budsim.schema.types.hardware import HardwareProfile
from budsim.schema.types.optimization import OptimizationJob, OptimizationJobConnection, OptimizationResult
from budsim.schema.types.simulation import Simulation

Row = TypeVar("Row")
BatchQuery = Callable[[AsyncSession, Sequence[uuid.UUID]], Awaitable[dict[uuid.UUID, Row]]]
JobPageKey = tuple[uuid.UUID, int, str | None]  # endpoint, first, after


def _loader(
    sessionmaker: async_sessionmaker[AsyncSession], query: BatchQuery[Row]
) -> DataLoader[uuid.UUID, Row | None]:
    async def load(ids: list[uuid.UUID]) -> list[Row | None]:
        async with sessionmaker() as session:
            found = await query(session, ids)
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)


def stale_reasons(profiles: Sequence[HardwareProfile], latest_job: OptimizationJob | None) -> list[str]:
    """Why an endpoint's latest optimization may no longer hold (core.staleness): each of its profiles updated
    after that job was queued (from then on the job may have read either version). Never optimized: nothing."""
    if latest_job is None:
        return []
    return changed_since(
        ((profile.name, profile.updated_at) for profile in profiles),
        latest_job.created_at,
        "the latest optimization was queued",
    )


class Loaders:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self.model: DataLoader[uuid.UUID, ModelRow | None] = _loader(sessionmaker, queries.models_by_ids)
        self.hardware_profile: DataLoader[uuid.UUID, HardwareProfileRow | None] = _loader(
            sessionmaker, queries.hardware_profiles_by_ids
        )
        self.simulation: DataLoader[uuid.UUID, SimulationRow | None] = _loader(sessionmaker, queries.simulations_by_ids)
        self.simulation_answer: DataLoader[uuid.UUID, Simulation | None] = DataLoader(load_fn=self._simulations)
        self.reruns: DataLoader[uuid.UUID, list[Simulation]] = DataLoader(load_fn=self._reruns)
        self.optimization_result: DataLoader[uuid.UUID, OptimizationResult | None] = DataLoader(
            load_fn=self._optimization_results
        )
        self.endpoint: DataLoader[uuid.UUID, Endpoint | None] = DataLoader(load_fn=self._endpoints)
        self.endpoint_profiles: DataLoader[uuid.UUID, list[HardwareProfile]] = DataLoader(
            load_fn=self._endpoint_profiles
        )
        self.latest_job: DataLoader[uuid.UUID, OptimizationJob | None] = DataLoader(load_fn=self._latest_jobs)
        self.deployment: DataLoader[uuid.UUID, EndpointDeployment | None] = DataLoader(load_fn=self._deployments)
        self.stale_reasons: DataLoader[uuid.UUID, list[str]] = DataLoader(load_fn=self._stale_reasons)
        self._job_pages: DataLoader[JobPageKey, OptimizationJobConnection] = DataLoader(load_fn=self._pages_of_jobs)

    async def _optimization_results(self, ids: list[uuid.UUID]) -> list[OptimizationResult | None]:
        """The answers of the optimizations whose Simulations these are, read through the simulation loader."""
        rows = await self.simulation.load_many(ids)
        return [answers.optimization_result(row) if row is not None else None for row in rows]

    async def _simulations(self, ids: list[uuid.UUID]) -> list[Simulation | None]:
        rows = await self.simulation.load_many(ids)
        return [answers.simulation(row) if row is not None else None for row in rows]

    async def _reruns(self, ids: list[uuid.UUID]) -> list[list[Simulation]]:
        async with self._sessionmaker() as session:
            found = await queries.reruns_of(session, ids)
        return [[answers.simulation(row) for row in found[i]] for i in ids]

    async def _endpoints(self, ids: list[uuid.UUID]) -> list[Endpoint | None]:
        async with self._sessionmaker() as session:
            found = await queries.endpoints_by_ids(session, ids)
        return [answers.endpoint(found[i]) if i in found else None for i in ids]

    async def _endpoint_profiles(self, ids: list[uuid.UUID]) -> list[list[HardwareProfile]]:
        async with self._sessionmaker() as session:
            found = await queries.endpoint_profiles(session, ids)
        return [[HardwareProfile.from_row(row) for row in found[i]] for i in ids]

    async def _latest_jobs(self, ids: list[uuid.UUID]) -> list[OptimizationJob | None]:
        async with self._sessionmaker() as session:
            pages = await queries.endpoint_job_pages(session, ids, 1)
        return [answers.job(pages[i].rows[0]) if pages[i].rows else None for i in ids]

    async def _deployments(self, ids: list[uuid.UUID]) -> list[EndpointDeployment | None]:
        """Each endpoint's latest deployment, its config read from the job's Simulation (one more batch)."""
        async with self._sessionmaker() as session:
            latest = await queries.latest_deployments(session, ids)
        simulation_ids = [deployed.simulation_id for deployed in latest.values() if deployed.simulation_id]
        simulations = dict(zip(simulation_ids, await self.simulation.load_many(simulation_ids), strict=True))
        found: list[EndpointDeployment | None] = []
        for i in ids:
            deployed = latest.get(i)
            row = simulations.get(deployed.simulation_id) if deployed and deployed.simulation_id else None
            chosen = answers.choices(row).at(deployed.row.pareto_index) if deployed and row else None
            found.append(answers.deployment(deployed.row, chosen) if deployed and chosen else None)
        return found

    async def _stale_reasons(self, ids: list[uuid.UUID]) -> list[list[str]]:
        profiles = await self.endpoint_profiles.load_many(ids)
        jobs = await self.latest_job.load_many(ids)
        return [stale_reasons(p, job) for p, job in zip(profiles, jobs, strict=True)]

    def endpoint_jobs(
        self, endpoint_id: uuid.UUID, first: int, after: str | None
    ) -> Awaitable[OptimizationJobConnection]:
        """An endpoint's jobs, newest first. The arguments are checked here, before the batch, so that a bad one
        fails its own field and not every endpoint's in the batch."""
        check_first(first)
        if after is not None:
            decode_time_id_cursor(after)
        return self._job_pages.load((endpoint_id, first, after))

    async def _pages_of_jobs(self, keys: list[JobPageKey]) -> list[OptimizationJobConnection]:
        """First pages (a list view) in one query per page size; pages after a cursor one query each."""
        pages: dict[JobPageKey, queries.Page[OptimizationJobRow]] = {}
        async with self._sessionmaker() as session:
            for first in {first for _, first, after in keys if after is None}:
                ids = [endpoint_id for endpoint_id, size, after in keys if after is None and size == first]
                for endpoint_id, page in (await queries.endpoint_job_pages(session, ids, first)).items():
                    pages[(endpoint_id, first, None)] = page
            for key in keys:
                endpoint_id, first, after = key
                if after is not None:
                    pages[key] = await queries.list_optimization_jobs(
                        session, first=first, after=decode_time_id_cursor(after), endpoint_id=endpoint_id
                    )
        return [answers.job_connection(pages[key], key[2]) for key in keys]
