"""Simulation queries."""

import strawberry

from budsim.db import queries
from budsim.db.models import SimulationRow
from budsim.resolvers import answers
from budsim.resolvers.context import Context
from budsim.resolvers.pagination import check_first, decode_time_id_cursor, encode_cursor, page_info, query_id
from budsim.schema.types.simulation import Method, Simulation, SimulationConnection, SimulationEdge


def _cursor(row: SimulationRow) -> str:
    return encode_cursor(row.created_at.isoformat(), row.id)


async def list_simulations(
    ctx: Context,
    first: int,
    after: str | None,
    model_id: strawberry.ID | None,
    hardware_profile_id: strawberry.ID | None,
    method: Method | None,
) -> SimulationConnection:
    async with ctx.reader() as session:
        page = await queries.list_simulations(
            session,
            first=check_first(first),
            after=decode_time_id_cursor(after) if after else None,
            model_id=query_id(model_id, "modelId") if model_id else None,
            hardware_profile_id=query_id(hardware_profile_id, "hardwareProfileId") if hardware_profile_id else None,
            method=method.value if method else None,
        )
    edges = [SimulationEdge(cursor=_cursor(r), node=answers.simulation(r)) for r in page.rows]
    return SimulationConnection(
        edges=edges,
        page_info=page_info([edge.cursor for edge in edges], page.has_next_page, after),
        total_count=page.total_count,
    )


async def get_simulation(ctx: Context, id: str) -> Simulation | None:
    async with ctx.reader() as session:
        row = await session.get(SimulationRow, query_id(id))
    return answers.simulation(row) if row else None
