"""DataLoaders that turn N nested lookups into one query per batch, each batch in its own session."""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from budsim.db import queries
from budsim.db.models import HardwareProfileRow, ModelRow, SimulationRow
from budsim.resolvers import answers
from budsim.schema.types.optimization import OptimizationResult

Row = TypeVar("Row")
BatchQuery = Callable[[AsyncSession, Sequence[uuid.UUID]], Awaitable[dict[uuid.UUID, Row]]]


def _loader(
    sessionmaker: async_sessionmaker[AsyncSession], query: BatchQuery[Row]
) -> DataLoader[uuid.UUID, Row | None]:
    async def load(ids: list[uuid.UUID]) -> list[Row | None]:
        async with sessionmaker() as session:
            found = await query(session, ids)
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)


class Loaders:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.model: DataLoader[uuid.UUID, ModelRow | None] = _loader(sessionmaker, queries.models_by_ids)
        self.hardware_profile: DataLoader[uuid.UUID, HardwareProfileRow | None] = _loader(
            sessionmaker, queries.hardware_profiles_by_ids
        )
        self.simulation: DataLoader[uuid.UUID, SimulationRow | None] = _loader(sessionmaker, queries.simulations_by_ids)
        self.optimization_result: DataLoader[uuid.UUID, OptimizationResult | None] = DataLoader(
            load_fn=self._optimization_results
        )

    async def _optimization_results(self, ids: list[uuid.UUID]) -> list[OptimizationResult | None]:
        """The answers of the optimizations whose Simulations these are, read through the simulation loader."""
        rows = await self.simulation.load_many(ids)
        return [answers.optimization_result(row) if row is not None else None for row in rows]
