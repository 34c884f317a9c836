"""The `optimize` mutation: validate everything up front, then queue a job that a worker runs off the event loop.
`reoptimize` queues a stored optimization's request again through the same queue."""

import uuid
from dataclasses import dataclass
from typing import Any

from budsim.core.catalog.gpus import GPU_FAMILIES, GPUS, find_gpu, gpus_named
from budsim.core.errors import CoreError
from budsim.core.optimization import DEFAULT_WORKLOAD, Constraints
from budsim.core.search import Targets
from budsim.core.types import Dtype
from budsim.db import jobs as store
from budsim.db import queries
from budsim.db.documents import JobRequest, UnreadableDocument, read_request, request_document
from budsim.db.models import HardwareProfileRow, SimulationRow
from budsim.jobs.request import preflight, problem
from budsim.resolvers import answers
from budsim.resolvers import validation as check
from budsim.resolvers.auth import Scope, caller_key_id, require
from budsim.resolvers.context import Context
from budsim.resolvers.errors import Invalid, NotFound, TooManyJobs, invalid_input
from budsim.resolvers.optimization_jobs import wait_for_end
from budsim.resolvers.simulate import workload_from_input
from budsim.schema.inputs import ConstraintsInput, OptimizeInput, TargetsInput
from budsim.schema.types.optimization import OptimizationJob

MAX_PROFILES = 32
MAX_GPU_TYPE_LENGTH = 100  # as a hardware profile's gpuType


def _targets(data: TargetsInput | None) -> Targets:
    if data is None:
        return Targets()
    values = {}
    for name in ("max_latency_ms", "min_throughput_tps", "max_ttft_ms", "max_cost_per_hour"):
        value = getattr(data, name)
        if value is not None:
            camel = name.split("_")[0] + "".join(p.title() for p in name.split("_")[1:])
            values[name] = check.number(
                value, f"input.targets.{camel}", minimum=0, maximum=1e12, exclusive_minimum=True
            )
    return Targets(**values)


def _constraints(data: ConstraintsInput | None) -> Constraints:
    if data is None:
        return Constraints()
    return Constraints(
        max_replicas=check.integer(data.max_replicas, "input.constraints.maxReplicas", minimum=1, maximum=1024),
        max_gpus_per_replica=check.integer(
            data.max_gpus_per_replica, "input.constraints.maxGpusPerReplica", minimum=1, maximum=1024
        ),
        require_high_availability=data.require_high_availability,
    )


def model_precision(config: dict[str, Any]) -> Dtype:
    """The precision a checkpoint ships in: its quantization method, else its torch_dtype."""
    quant = str((config.get("quantization_config") or {}).get("quant_method", "")).lower()
    if "fp8" in quant:
        return Dtype.FP8
    if quant in {"awq", "gptq", "mxfp4"}:
        return Dtype.INT4
    return Dtype.FP16 if str(config.get("torch_dtype", "")).lower() == "float16" else Dtype.BF16


@dataclass(frozen=True, slots=True)
class Checked:
    """An optimize input with nothing left for the search to refuse: the job's request, and the profiles as named
    (distinct, in order) before `allowedGpuTypes` narrowed them, which is what an endpoint keeps."""

    request: JobRequest
    named_profile_ids: tuple[uuid.UUID, ...]


async def run_optimization(
    ctx: Context, data: OptimizeInput, wait: bool = True, endpoint_id: uuid.UUID | None = None
) -> OptimizationJob:
    """Validate everything the search would refuse, queue the job, and answer with it: ended, or at once. Every
    optimization starts here, a plain `optimize` and an endpoint's (`endpoint_id`) alike, so the checks, the per-key
    job limit, the wait limit and the news are the same for both."""
    require(ctx, Scope.WRITE)
    async with ctx.bulk:  # a client submitting 20 jobs at once takes its turns, not every other request's
        checked = await check_input(ctx, data)
        job = await _queue(ctx, checked.request, endpoint_id)
    return await _answer(ctx, job, wait)


async def reoptimize(ctx: Context, simulation_id: str, wait: bool = True) -> OptimizationJob:
    """Queue the request whose answer a stored Simulation is again, unchanged (model, the profiles it ran on, method,
    engine, precisions, workload, targets, constraints, seed), as `optimize` queues one: the per-key job limit, the
    wait limit, the same worker. The job, and the Simulation it stores, are linked to the one rerun; an endpoint's
    optimization reruns as that endpoint's. Every failure names `simulationId`, the only input."""
    require(ctx, Scope.WRITE)
    field = "simulationId"
    sim_id = check.parse_id(simulation_id, field)
    async with ctx.reader() as session:
        simulation = await session.get(SimulationRow, sim_id)
        previous = await queries.job_of_simulation(session, sim_id) if simulation else None
    if simulation is None:
        raise NotFound("Simulation", str(simulation_id))
    if previous is None:
        raise Invalid(field, "is a single prediction, not an optimization's answer: rerun it with resimulate")
    try:
        request = read_request(previous.request)
    except (UnreadableDocument, KeyError, TypeError, ValueError) as error:
        raise Invalid(field, f"its optimization's stored request cannot be read ({error})") from None
    async with ctx.bulk:
        await _recheck(ctx, request, field)
        job = await _queue(ctx, request, previous.endpoint_id, rerun_of_id=sim_id)
    return await _answer(ctx, job, wait)


async def _recheck(ctx: Context, request: JobRequest, field: str) -> None:
    """A stored request checked again before it is queued: its model and profiles may be gone, a profile changed."""
    async with ctx.reader() as session:
        model, found = await queries.model_with_profiles(session, request.model_id, request.hardware_profile_ids)
    if model is None:
        raise Invalid(field, f"its model {request.model_id} no longer exists")
    if missing := [str(i) for i in request.hardware_profile_ids if i not in found]:
        raise Invalid(field, f"its hardware profile {', '.join(missing)} no longer exists")
    try:
        preflight(problem(request, model, [found[i] for i in request.hardware_profile_ids]))
    except CoreError as error:
        wrong = invalid_input(error)
        raise Invalid(field, f"its request no longer holds: {wrong.field}: {wrong.message}") from None


async def _answer(ctx: Context, job: store.Job, wait: bool) -> OptimizationJob:
    if wait:
        # Bounded by WAIT_LIMIT_SECONDS, not by the search's own timeout plus the queue ahead of it: a held request
        # is a connection and a slot in every proxy on the way, and the job runs on whether or not anyone waits.
        job = await wait_for_end(ctx, job.id, ctx.settings.wait_limit_seconds)
    return answers.job(job)


async def check_input(ctx: Context, data: OptimizeInput) -> Checked:
    """The one validation of an optimize request, for `optimize`, `createEndpoint` and `optimizeEndpoint`: every
    field, the model and profiles it names, and what the search itself would refuse (in milliseconds)."""
    model_id = check.parse_id(data.model_id, "input.modelId")
    if not data.hardware_profile_ids:
        raise Invalid("input.hardwareProfileIds", "name at least one hardware profile")
    if len(data.hardware_profile_ids) > MAX_PROFILES:
        raise Invalid("input.hardwareProfileIds", f"at most {MAX_PROFILES} profiles per optimization")
    profile_ids = [check.parse_id(i, f"input.hardwareProfileIds[{n}]") for n, i in enumerate(data.hardware_profile_ids)]
    workload = workload_from_input(data.workload) if data.workload else DEFAULT_WORKLOAD
    targets, constraints = _targets(data.targets), _constraints(data.constraints)
    seed = check.integer(data.seed, "input.seed", minimum=0, maximum=2**31 - 1)
    async with ctx.reader() as session:
        model, found = await queries.model_with_profiles(session, model_id, profile_ids)
    if model is None:
        raise NotFound("Model", data.model_id)
    rows: list[HardwareProfileRow] = []
    for raw, profile_id in zip(data.hardware_profile_ids, profile_ids, strict=True):
        if profile_id not in found:
            raise NotFound("HardwareProfile", raw)
        rows.append(found[profile_id])
    named = tuple(dict.fromkeys(row.id for row in rows))
    allowed = data.constraints.allowed_gpu_types if data.constraints else None
    if allowed is not None:
        rows = _allowed_rows(rows, allowed)
    rows = list(dict.fromkeys(rows))
    request = JobRequest(
        model_id=model.id,
        hardware_profile_ids=tuple(row.id for row in rows),
        method=data.method,
        engine=data.engine,
        precisions=tuple(dict.fromkeys(data.precisions or [model_precision(model.architecture)])),
        workload=workload,
        targets=targets,
        constraints=constraints,
        seed=seed,
    )
    try:
        preflight(problem(request, model, rows))
    except CoreError as error:
        raise invalid_input(error) from None
    return Checked(request=request, named_profile_ids=named)


async def _queue(
    ctx: Context, request: JobRequest, endpoint_id: uuid.UUID | None, rerun_of_id: uuid.UUID | None = None
) -> store.Job:
    document = request_document(request)
    attempts = ctx.settings.job_max_attempts
    key_id = caller_key_id(ctx)
    limit = ctx.settings.max_active_jobs_per_key
    if key_id is not None and limit > 0:
        async with ctx.sessionmaker() as session:  # count and insert in one transaction, under the key's row lock
            queued = await store.insert_within(
                session,
                limit,
                key_id,
                model_id=request.model_id,
                method=request.method.value,
                request=document,
                max_attempts=attempts,
                endpoint_id=endpoint_id,
                rerun_of_id=rerun_of_id,
            )
        if queued is None:
            raise TooManyJobs(limit)
        job = queued
    else:
        async with ctx.reader() as session:  # one INSERT is atomic by itself: no BEGIN and COMMIT round trips
            job = await store.insert(
                session,
                model_id=request.model_id,
                method=request.method.value,
                request=document,
                max_attempts=attempts,
                api_key_id=key_id,
                endpoint_id=endpoint_id,
                rerun_of_id=rerun_of_id,
            )
    await ctx.news.queued()
    return job


def _allowed_rows(rows: list[HardwareProfileRow], allowed: list[str]) -> list[HardwareProfileRow]:
    """The profiles whose GPU `allowedGpuTypes` names. A name is a family as users write it (`H100` covers H100-SXM
    and H100-PCIe), a catalog GPU (`H100-SXM`), or a requested profile's own `gpuType` (a GPU outside the catalog);
    any other name is refused rather than silently matching nothing, listing what is accepted."""
    field = "input.constraints.allowedGpuTypes"
    profile_types = {row.gpu_type.lower() for row in rows}
    wanted_catalog: set[str] = set()
    for n, name in enumerate(allowed):
        check.text(name, f"{field}[{n}]", max_length=MAX_GPU_TYPE_LENGTH)  # an endpoint stores them as given
        covered = gpus_named(name)
        if not covered and name.lower() not in profile_types:
            accepted = ", ".join([*GPU_FAMILIES, *(g for g in GPUS if g not in GPU_FAMILIES)])
            raise Invalid(field, f"{name!r} is no GPU family or catalog GPU; accepted: {accepted}")
        wanted_catalog.update(gpu.name for gpu in covered)
    wanted_custom = {name.lower() for name in allowed}
    kept = [
        row for row in rows if _catalog_name(row.gpu_type) in wanted_catalog or row.gpu_type.lower() in wanted_custom
    ]
    if not kept:
        raise Invalid(field, "none of the hardware profiles has an allowed GPU type")
    return kept


def _catalog_name(gpu_type: str) -> str | None:
    gpu = find_gpu(gpu_type)
    return gpu.name if gpu else None
