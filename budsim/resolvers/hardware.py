"""Hardware profile queries and mutations, and the changes to them that `hardwareProfileEvents` follows."""

import logging
from collections.abc import AsyncGenerator
from datetime import datetime
from types import SimpleNamespace
from typing import Any, TypeGuard, TypeVar

import strawberry

from budsim.core.catalog.fabrics import default_interconnect, default_specs
from budsim.core.catalog.gpus import GPUS, find_gpu
from budsim.core.types import Interconnect
from budsim.db import queries
from budsim.db.models import HardwareProfileRow
from budsim.jobs.news import PROFILES_TOPIC
from budsim.resolvers import validation as check
from budsim.resolvers.auth import Scope, require
from budsim.resolvers.context import Context
from budsim.resolvers.errors import Conflict, Invalid, NotFound
from budsim.resolvers.pagination import check_first, decode_cursor, encode_cursor, page_info, query_id
from budsim.resolvers.writes import commit_or_conflict
from budsim.schema.inputs import CreateHardwareProfileInput, UpdateHardwareProfileInput
from budsim.schema.types.hardware import (
    ChangeKind,
    DeletedHardwareProfile,
    HardwareProfile,
    HardwareProfileConnection,
    HardwareProfileEdge,
    HardwareProfileEvent,
)

T = TypeVar("T")
log = logging.getLogger("budsim")

TOPIC = PROFILES_TOPIC
MAX_GPUS_PER_NODE = 72  # an NVL72 rack is the largest single NVLink domain sold
MAX_NODES = 1024
MAX_GPU_MEMORY_GB = 1024.0
MAX_COST_PER_GPU_HOUR = 1000.0
NUMERIC_SPECS = (
    "bf16_tflops",
    "fp8_tflops",
    "int8_tops",
    "memory_bandwidth_gbs",
    "intra_node_bandwidth_gbs",
    "inter_node_bandwidth_gbs",
)
REQUIRED_CUSTOM_SPECS = ("bf16_tflops", "memory_bandwidth_gbs")


async def list_profiles(ctx: Context, first: int, after: str | None, gpu_type: str | None) -> HardwareProfileConnection:
    after_name = decode_cursor(after, 1)[0] if after else None
    async with ctx.reader() as session:
        page = await queries.list_hardware_profiles(
            session, first=check_first(first), after_name=after_name, gpu_type=check.filter_text(gpu_type, "gpuType")
        )
    edges = [HardwareProfileEdge(cursor=encode_cursor(r.name), node=HardwareProfile.from_row(r)) for r in page.rows]
    return HardwareProfileConnection(
        edges=edges,
        page_info=page_info([edge.cursor for edge in edges], page.has_next_page, after),
        total_count=page.total_count,
    )


async def get_profile(ctx: Context, id: str) -> HardwareProfile | None:
    row = await ctx.loaders.hardware_profile.load(query_id(id))
    return HardwareProfile.from_row(row) if row else None


def _specs(raw: Any, field: str) -> dict[str, Any]:
    specs = check.json_object(raw, field)
    for key in NUMERIC_SPECS:
        value = specs.get(key)
        if value is not None:
            check.number(value, f"{field}.{key}", minimum=0, maximum=1e7, exclusive_minimum=True)
    return specs


def _resolve_hardware(
    gpu_type: str,
    interconnect: Interconnect | None,
    gpu_memory_gb: float | None,
    specs: Any,
    cost: float | None,
) -> tuple[str, Interconnect, float, dict[str, Any], float]:
    """Fill what a catalog GPU knows; demand from custom GPUs what the performance models need."""
    user_specs = _specs(specs, "input.specs") if specs is not None else {}
    if gpu_memory_gb is not None:
        check.number(gpu_memory_gb, "input.gpuMemoryGb", minimum=0, maximum=MAX_GPU_MEMORY_GB, exclusive_minimum=True)
    if cost is not None:
        check.number(cost, "input.costPerGpuHour", minimum=0, maximum=MAX_COST_PER_GPU_HOUR)
    gpu = find_gpu(gpu_type)
    if gpu is None:
        known = ", ".join(GPUS)
        if gpu_memory_gb is None:
            raise Invalid("input.gpuMemoryGb", f"is required for a GPU outside the catalog ({known})")
        for key in REQUIRED_CUSTOM_SPECS:
            if user_specs.get(key) is None:
                raise Invalid(f"input.specs.{key}", f"is required for a GPU outside the catalog ({known})")
        if cost is None:
            raise Invalid("input.costPerGpuHour", "is required for a GPU outside the catalog")
        return gpu_type, interconnect or Interconnect.PCIE, gpu_memory_gb, user_specs, cost
    if interconnect == Interconnect.NVLINK and gpu.nvlink_gbs is None:
        raise Invalid("input.interconnect", f"{gpu.name} has no NVLink fabric; use PCIE, INFINIBAND or ETHERNET")
    chosen = interconnect or default_interconnect(gpu)
    merged = default_specs(gpu, chosen) | user_specs
    return gpu.name, chosen, gpu_memory_gb or gpu.memory_gb, merged, gpu.cost_per_hour if cost is None else cost


async def create_profile(ctx: Context, data: CreateHardwareProfileInput) -> HardwareProfile:
    require(ctx, Scope.WRITE)
    name = check.text(data.name, "input.name", max_length=200)
    gpu_type = check.text(data.gpu_type, "input.gpuType", max_length=100)
    gpu_count = check.integer(data.gpu_count, "input.gpuCount", minimum=1, maximum=MAX_GPUS_PER_NODE)
    node_count = check.integer(data.node_count, "input.nodeCount", minimum=1, maximum=MAX_NODES)
    gpu_type, interconnect, memory, specs, cost = _resolve_hardware(
        gpu_type, data.interconnect, data.gpu_memory_gb, data.specs, data.cost_per_gpu_hour
    )
    row = HardwareProfileRow(
        name=name,
        gpu_type=gpu_type,
        gpu_memory_gb=memory,
        gpu_count=gpu_count,
        node_count=node_count,
        interconnect=interconnect.value,
        specs=specs,
        cost_per_gpu_hour=cost,
    )
    async with ctx.sessionmaker() as session:
        if await queries.hardware_profile_name_taken(session, name):
            raise Conflict("input.name", f"a hardware profile named {name!r} already exists")
        session.add(row)
        await commit_or_conflict(session, "input.name", f"a hardware profile named {name!r} already exists")
    await _announce(ctx, ChangeKind.CREATED, str(row.id), row)
    return HardwareProfile.from_row(row)


def _given(value: T | None) -> TypeGuard[T]:
    """Whether the client sent the field with a value (an update leaves unsent fields as they are)."""
    return value is not strawberry.UNSET and value is not None


async def update_profile(ctx: Context, id: str, data: UpdateHardwareProfileInput) -> HardwareProfile:
    require(ctx, Scope.WRITE)
    profile_id = check.parse_id(id, "id")
    for field in ("name", "gpu_count", "node_count", "interconnect", "gpu_memory_gb", "cost_per_gpu_hour"):
        if getattr(data, field) is None:
            camel = field.split("_")[0] + "".join(p.title() for p in field.split("_")[1:])
            raise Invalid(f"input.{camel}", "cannot be null; omit it to keep the current value")
    async with ctx.sessionmaker() as session:
        row = await session.get(HardwareProfileRow, profile_id)
        if row is None:
            raise NotFound("HardwareProfile", id)
        if _given(data.name):
            name = check.text(data.name, "input.name", max_length=200)
            if await queries.hardware_profile_name_taken(session, name, except_id=profile_id):
                raise Conflict("input.name", f"a hardware profile named {name!r} already exists")
            row.name = name
        if _given(data.gpu_count):
            row.gpu_count = check.integer(data.gpu_count, "input.gpuCount", minimum=1, maximum=MAX_GPUS_PER_NODE)
        if _given(data.node_count):
            row.node_count = check.integer(data.node_count, "input.nodeCount", minimum=1, maximum=MAX_NODES)
        interconnect = data.interconnect if _given(data.interconnect) else Interconnect(row.interconnect)
        extra_specs = _specs(data.specs, "input.specs") if _given(data.specs) else None
        _, interconnect, memory, specs, cost = _resolve_hardware(
            row.gpu_type,
            interconnect,
            data.gpu_memory_gb if _given(data.gpu_memory_gb) else row.gpu_memory_gb,
            {**row.specs, **extra_specs} if extra_specs is not None else row.specs,
            data.cost_per_gpu_hour if _given(data.cost_per_gpu_hour) else row.cost_per_gpu_hour,
        )
        if interconnect.value != row.interconnect and not (extra_specs and "intra_node_bandwidth_gbs" in extra_specs):
            gpu = find_gpu(row.gpu_type)
            if gpu is not None:  # a new fabric changes the bandwidths the old one implied
                specs = specs | {k: v for k, v in default_specs(gpu, interconnect).items() if "bandwidth" in k}
        row.interconnect, row.gpu_memory_gb, row.specs, row.cost_per_gpu_hour = interconnect.value, memory, specs, cost
        await commit_or_conflict(session, "input.name", f"a hardware profile named {row.name!r} already exists")
    await _announce(ctx, ChangeKind.UPDATED, str(row.id), row)
    return HardwareProfile.from_row(row)


async def delete_profile(ctx: Context, id: str) -> DeletedHardwareProfile:
    require(ctx, Scope.ADMIN)
    profile_id = check.parse_id(id, "id")
    async with ctx.sessionmaker() as session:
        row = await session.get(HardwareProfileRow, profile_id)
        if row is None:
            raise NotFound("HardwareProfile", id)
        used = await queries.simulations_using_profile(session, profile_id)
        if used:
            raise Conflict("id", f"hardware profile {row.name!r} is used by {used} simulation(s); delete those first")
        endpoints = await queries.endpoints_using_profile(session, profile_id)
        if endpoints:
            raise Conflict(
                "id", f"hardware profile {row.name!r} is used by {endpoints} endpoint(s); delete those first"
            )
        await session.delete(row)
        await commit_or_conflict(session, "id", "hardware profile is referenced by simulations or endpoints")
    await _announce(ctx, ChangeKind.DELETED, id, None)
    return DeletedHardwareProfile(id=strawberry.ID(str(profile_id)))


# Changes travel as job news does (budsim.jobs.news): through PostgreSQL's NOTIFY to every server process, so that a
# subscriber on one process sees a profile created through another; with SQLite, straight onto this process's bus.
TIMES = ("created_at", "updated_at")


def _document(row: HardwareProfileRow) -> dict[str, Any]:
    """The row as JSON: a few hundred bytes with catalog specs, well inside a NOTIFY's 8000."""
    return {
        "id": str(row.id),
        "name": row.name,
        "gpu_type": row.gpu_type,
        "gpu_memory_gb": row.gpu_memory_gb,
        "gpu_count": row.gpu_count,
        "node_count": row.node_count,
        "interconnect": row.interconnect,
        "specs": row.specs,
        "cost_per_gpu_hour": row.cost_per_gpu_hour,
    } | {field: getattr(row, field).isoformat() for field in TIMES}


async def _announce(ctx: Context, kind: ChangeKind, profile_id: str, row: HardwareProfileRow | None) -> None:
    """Tell every process's subscribers; the change is committed, so a failure to tell is logged, not answered."""
    try:
        await ctx.news.profile_changed(kind.value, profile_id, _document(row) if row is not None else None)
    except Exception:
        log.exception("could not announce the %s of hardware profile %s", kind.value.lower(), profile_id)


async def _event(ctx: Context, message: dict[str, Any]) -> HardwareProfileEvent | None:
    """The event a change's news describes; None for a change the row no longer shows (deleted since)."""
    kind = ChangeKind(message["change"])
    if kind is ChangeKind.DELETED:
        return HardwareProfileEvent(kind=kind, id=strawberry.ID(message["id"]), profile=None)
    document = message.get("profile")
    if document is not None:
        fields = document | {field: datetime.fromisoformat(document[field]) for field in TIMES}
        profile = HardwareProfile.from_row(SimpleNamespace(**fields))
    else:  # too large to announce (budsim.jobs.news): read it
        async with ctx.reader() as session:
            row = await session.get(HardwareProfileRow, check.parse_id(message["id"], "id"))
        if row is None:
            return None
        profile = HardwareProfile.from_row(row)
    return HardwareProfileEvent(kind=kind, id=profile.id, profile=profile)


async def follow_events(ctx: Context) -> AsyncGenerator[HardwareProfileEvent, None]:
    """Every change committed from now on, by any server process on the database."""
    async with ctx.events.subscribe(TOPIC) as queue:
        ctx.started()
        while True:
            event = await _event(ctx, await queue.get())
            if event is not None:
                yield event
