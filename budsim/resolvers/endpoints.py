"""Endpoints: store a plan for serving a model, optimize it as `optimize` would, and deploy a config of its answer.

An endpoint keeps an optimize request's fields. `createEndpoint` checks them with `optimize`'s own validation
(`budsim.resolvers.optimize.check_input`), and `optimizeEndpoint` sends them through `run_optimization`, the path
every optimization takes: checked again (its profiles may have changed since), then queued under the caller's job
limit, followed by the same worker, news and subscriptions. A ValidationError of either names the field as the
input spells it (`input.targets.maxTtftMs`). `deployEndpoint` generates the artifacts of one config of a job's answer
(`budsim.core.artifacts`) and records the choice; nothing is applied anywhere.
"""

import uuid
from dataclasses import replace

import strawberry
from sqlalchemy.exc import IntegrityError

from budsim.core.architecture import parse_hf_config
from budsim.core.artifacts import Target, deployment_artifacts
from budsim.core.types import Engine, Method
from budsim.db import queries
from budsim.db.converters import gpu_from_profile
from budsim.db.documents import (
    EndpointSettings,
    artifacts_document,
    endpoint_settings_document,
    read_endpoint_settings,
)
from budsim.db.models import (
    EndpointDeploymentRow,
    EndpointProfileRow,
    EndpointRow,
    HardwareProfileRow,
    ModelRow,
    OptimizationJobRow,
    SimulationRow,
)
from budsim.resolvers import answers, optimize
from budsim.resolvers import validation as check
from budsim.resolvers.auth import Scope, caller_key_id, require
from budsim.resolvers.context import Context
from budsim.resolvers.errors import Conflict, Invalid, NotFound
from budsim.resolvers.pagination import check_first, decode_time_id_cursor, encode_cursor, page_info, query_id
from budsim.schema.inputs import (
    ConstraintsInput,
    CreateEndpointInput,
    DeployChoiceInput,
    OptimizeInput,
    TargetsInput,
    WorkloadInput,
)
from budsim.schema.types.endpoint import (
    DeletedEndpoint,
    Endpoint,
    EndpointConnection,
    EndpointDeployment,
    EndpointEdge,
)
from budsim.schema.types.optimization import OptimizationJob

MAX_NAME_LENGTH = 200  # the column's


async def list_endpoints(ctx: Context, first: int, after: str | None) -> EndpointConnection:
    require(ctx, Scope.READ)
    async with ctx.reader() as session:
        page = await queries.list_endpoints(
            session, first=check_first(first), after=decode_time_id_cursor(after) if after else None
        )
    edges = [
        EndpointEdge(cursor=encode_cursor(row.created_at.isoformat(), row.id), node=answers.endpoint(row))
        for row in page.rows
    ]
    return EndpointConnection(
        edges=edges,
        page_info=page_info([edge.cursor for edge in edges], page.has_next_page, after),
        total_count=page.total_count,
    )


async def get_endpoint(ctx: Context, id: str) -> Endpoint | None:
    require(ctx, Scope.READ)
    endpoint: Endpoint | None = await ctx.loaders.endpoint.load(query_id(id))
    return endpoint


async def create(ctx: Context, data: CreateEndpointInput) -> Endpoint:
    """Check the request as `optimize` would, then store it; nothing runs. The name is unique (ConflictError)."""
    require(ctx, Scope.WRITE)
    name = check.text(data.name, "input.name", max_length=MAX_NAME_LENGTH)
    checked = await optimize.check_input(ctx, data)  # an endpoint's input is an optimize input, named
    request = checked.request
    allowed = data.constraints.allowed_gpu_types if data.constraints else None
    settings = EndpointSettings(
        precisions=tuple(dict.fromkeys(data.precisions)) if data.precisions else None,
        workload=request.workload,
        targets=request.targets,
        constraints=request.constraints,
        allowed_gpu_types=tuple(dict.fromkeys(allowed)) if allowed is not None else None,
        seed=request.seed,
    )
    key_id = caller_key_id(ctx)
    row = EndpointRow(
        id=uuid.uuid4(),
        name=name,
        model_id=request.model_id,
        method=request.method.value,
        engine=request.engine.value,
        settings=endpoint_settings_document(settings),
        api_key_id=key_id,
    )
    taken = f"an endpoint named {name!r} already exists"
    async with ctx.sessionmaker() as session:
        if await queries.endpoint_name_taken(session, name):
            raise Conflict("input.name", taken)
        try:  # one transaction: the endpoint with all its profiles, or nothing
            session.add(row)
            await session.flush()  # the endpoint's row before the rows that refer to it
            session.add_all(
                EndpointProfileRow(endpoint_id=row.id, hardware_profile_id=profile_id, position=position)
                for position, profile_id in enumerate(checked.named_profile_ids)
            )
            await session.commit()
        except IntegrityError:  # the name taken meanwhile (or a profile deleted meanwhile)
            await session.rollback()
            raise Conflict("input.name", taken) from None
    return answers.endpoint(row)


def endpoint_input(row: EndpointRow, profile_ids: list[uuid.UUID]) -> OptimizeInput:
    """The optimize request an endpoint stands for, as a client would have sent it."""
    settings = read_endpoint_settings(row.settings)
    workload, targets, constraints = settings.workload, settings.targets, settings.constraints
    return OptimizeInput(
        model_id=strawberry.ID(str(row.model_id)),
        hardware_profile_ids=[strawberry.ID(str(i)) for i in profile_ids],
        method=Method(row.method),
        engine=Engine(row.engine),
        precisions=list(settings.precisions) if settings.precisions is not None else None,
        workload=WorkloadInput(
            input_tokens=workload.input_tokens,
            output_tokens=workload.output_tokens,
            concurrency=workload.concurrency,
            request_rate=workload.request_rate,
        ),
        targets=TargetsInput(
            max_latency_ms=targets.max_latency_ms,
            min_throughput_tps=targets.min_throughput_tps,
            max_ttft_ms=targets.max_ttft_ms,
            max_cost_per_hour=targets.max_cost_per_hour,
        ),
        constraints=ConstraintsInput(
            max_replicas=constraints.max_replicas,
            max_gpus_per_replica=constraints.max_gpus_per_replica,
            allowed_gpu_types=list(settings.allowed_gpu_types) if settings.allowed_gpu_types is not None else None,
            require_high_availability=constraints.require_high_availability,
        ),
        seed=settings.seed,
    )


async def optimize_endpoint(ctx: Context, id: str, wait: bool) -> OptimizationJob:
    require(ctx, Scope.WRITE)
    endpoint_id = check.parse_id(id, "id")
    async with ctx.reader() as session:
        row = await session.get(EndpointRow, endpoint_id)
        profiles = await queries.endpoint_profiles(session, [endpoint_id])
    if row is None:
        raise NotFound("Endpoint", id)
    data = endpoint_input(row, [profile.id for profile in profiles[endpoint_id]])
    return await optimize.run_optimization(ctx, data, wait, endpoint_id=row.id)


async def _chosen_job(ctx: Context, endpoint_id: uuid.UUID, raw_job_id: str | None) -> OptimizationJobRow:
    """The job to deploy from: the one named, if it is this endpoint's and has an answer; else the newest that has."""
    field = "choice.jobId"
    async with ctx.reader() as session:
        if raw_job_id is None:
            job = await queries.newest_job_with_result(session, endpoint_id)
            if job is None:
                raise Invalid(field, "the endpoint has no optimization with a result yet: run optimizeEndpoint first")
            return job
        job = await session.get(OptimizationJobRow, check.parse_id(raw_job_id, field))
    if job is None or job.endpoint_id != endpoint_id:
        raise Invalid(field, f"job {raw_job_id} is not one of this endpoint's optimizations")
    if job.simulation_id is None:
        raise Invalid(field, f"job {raw_job_id} has no result (it is {job.status}); deploy one that has")
    return job


async def deploy(ctx: Context, id: str, choice: DeployChoiceInput | None) -> EndpointDeployment:
    """Generate the artifacts of one config of a job's answer and record the choice."""
    require(ctx, Scope.WRITE)
    endpoint_id = check.parse_id(id, "id")
    choice = choice or DeployChoiceInput()
    async with ctx.reader() as session:
        endpoint = await session.get(EndpointRow, endpoint_id)
    if endpoint is None:
        raise NotFound("Endpoint", id)
    job = await _chosen_job(ctx, endpoint_id, choice.job_id)
    async with ctx.reader() as session:
        simulation = await session.get(SimulationRow, job.simulation_id)
        model = await session.get(ModelRow, endpoint.model_id)
    if simulation is None or model is None:  # both are RESTRICTed from deletion: a job's answer cannot vanish
        raise NotFound("Simulation" if simulation is None else "Model", str(job.simulation_id or endpoint.model_id))
    options = answers.choices(simulation)
    chosen = options.at(choice.pareto_index)
    if chosen is None:
        if choice.pareto_index is None:
            raise Invalid("choice.jobId", f"job {job.id} found no config to recommend; choose one by paretoIndex")
        raise Invalid(
            "choice.paretoIndex",
            f"must index the job's paretoFront of {len(options.front)} config(s), got {choice.pareto_index}",
        )
    async with ctx.reader() as session:
        profile = await session.get(HardwareProfileRow, chosen.config.hardware_profile_id)
    if profile is None:
        raise NotFound("HardwareProfile", str(chosen.config.hardware_profile_id))
    artifacts = deployment_artifacts(
        Target(
            name=endpoint.name,
            engine=Engine(endpoint.engine),
            model=model.name,
            arch=parse_hf_config(model.architecture),
            gpu=gpu_from_profile(profile),
            gpus_per_node=profile.gpu_count,
            config=chosen.config.config,
        )
    )
    reported = chosen.config.launch_command
    if reported is not None and reported != artifacts.launch_command:
        # Only a change to the profile since the job ran does this (TensorRT-LLM's KV share follows the GPU's memory):
        # the three artifacts agree with each other and with the profile as it is now.
        changed = f"The launch command differs from the one job {job.id} reported ({reported}): its hardware "
        changed += "profile changed since; these artifacts follow the profile as it is now."
        artifacts = replace(artifacts, notes=(*artifacts.notes, changed))
    row = EndpointDeploymentRow(
        endpoint_id=endpoint_id,
        job_id=job.id,
        pareto_index=choice.pareto_index,
        artifacts=artifacts_document(artifacts),
    )
    async with ctx.sessionmaker() as session:
        session.add(row)
        await session.commit()
    return answers.deployment(row, chosen)


async def delete(ctx: Context, id: str) -> DeletedEndpoint:
    """Delete an endpoint and its deployments; its jobs stay, unlinked (their `endpoint` reads null)."""
    require(ctx, Scope.WRITE)
    try:
        endpoint_id = uuid.UUID(str(id))
    except ValueError:
        raise NotFound("Endpoint", id) from None  # no endpoint has that id: the union has no ValidationError
    async with ctx.sessionmaker() as session:
        row = await session.get(EndpointRow, endpoint_id)
        if row is None:
            raise NotFound("Endpoint", id)
        await session.delete(row)
        await session.commit()
    return DeletedEndpoint(id=strawberry.ID(str(endpoint_id)))
