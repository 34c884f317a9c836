"""The `simulate` and `resimulate` mutations: validate, load the model and profile, predict in core, store one
Simulation row. `resimulate` reads a stored row's request back and takes the same path from its checked request on."""

import uuid
from dataclasses import replace

from budsim.core.architecture import MAX_CONTEXT, parse_hf_config
from budsim.core.deployment import Workload
from budsim.core.errors import CoreError
from budsim.core.heuristic import PartialConfig
from budsim.core.methods import STRATEGIES
from budsim.db import queries
from budsim.db.converters import cluster_from_profile
from budsim.db.documents import (
    SimulateRequest,
    optimal_config_document,
    prediction_result_document,
    read_simulate_request,
    simulate_input_document,
)
from budsim.db.models import SimulationRow
from budsim.jobs.api_fields import input_field
from budsim.resolvers import answers
from budsim.resolvers import validation as check
from budsim.resolvers.auth import Scope, require
from budsim.resolvers.context import Context
from budsim.resolvers.errors import Invalid, NotFound, invalid_input
from budsim.schema.inputs import DeploymentConfigInput, SimulateInput, WorkloadInput
from budsim.schema.types.simulation import Simulation

MAX_TOKENS = 1 << 20
MAX_LOAD = 100_000.0


def workload_from_input(data: WorkloadInput, field: str = "input.workload") -> Workload:
    if (data.concurrency is None) == (data.request_rate is None):
        raise Invalid(field, "give exactly one of concurrency (requests in flight) or requestRate (requests/s)")
    if data.concurrency is not None:
        check.number(data.concurrency, f"{field}.concurrency", minimum=0, maximum=MAX_LOAD, exclusive_minimum=True)
    if data.request_rate is not None:
        check.number(data.request_rate, f"{field}.requestRate", minimum=0, maximum=MAX_LOAD, exclusive_minimum=True)
    return Workload(
        input_tokens=check.integer(data.input_tokens, f"{field}.inputTokens", minimum=1, maximum=MAX_TOKENS),
        output_tokens=check.integer(data.output_tokens, f"{field}.outputTokens", minimum=1, maximum=MAX_TOKENS),
        concurrency=data.concurrency,
        request_rate=data.request_rate,
    )


def partial_from_input(data: DeploymentConfigInput | None) -> PartialConfig:
    """The pinned config, each field within its bounds; `max_model_len` is checked against the model's context once
    the model is loaded (`_within_context`)."""
    if data is None:
        return PartialConfig()

    def bounded(value: int | None, name: str, maximum: int) -> int | None:
        return None if value is None else check.integer(value, _config_path(name), minimum=1, maximum=maximum)

    if data.gpu_memory_utilization is not None:
        check.number(
            data.gpu_memory_utilization,
            _config_path("gpu_memory_utilization"),
            minimum=0,
            maximum=1,
            exclusive_minimum=True,
        )
    return PartialConfig(
        tensor_parallel=bounded(data.tensor_parallel_size, "tensor_parallel", 1024),
        pipeline_parallel=bounded(data.pipeline_parallel_size, "pipeline_parallel", 1024),
        max_num_seqs=bounded(data.max_num_seqs, "max_num_seqs", 65_536),
        max_num_batched_tokens=bounded(data.max_num_batched_tokens, "max_num_batched_tokens", MAX_TOKENS),
        gpu_memory_utilization=data.gpu_memory_utilization,
        max_model_len=bounded(data.max_model_len, "max_model_len", MAX_CONTEXT),
        replicas=bounded(data.replicas, "replicas", 1024),
        weight_dtype=data.weight_dtype,
        kv_cache_dtype=data.kv_cache_dtype,
    )


def _config_path(name: str) -> str:
    """A PartialConfig field's input path."""
    return f"input.{input_field(name)}"


def _within_context(config: PartialConfig, max_context: int) -> None:
    if config.max_model_len is not None and config.max_model_len > max_context:
        raise Invalid(_config_path("max_model_len"), f"exceeds the model's context of {max_context} tokens")


def check_input(data: SimulateInput) -> SimulateRequest:
    """Every check of a simulate input that needs no database; the model's context is checked once it is loaded."""
    return SimulateRequest(
        model_id=check.parse_id(data.model_id, "input.modelId"),
        hardware_profile_id=check.parse_id(data.hardware_profile_id, "input.hardwareProfileId"),
        method=data.method,
        engine=data.engine,
        workload=workload_from_input(data.workload),
        config=partial_from_input(data.config),
    )


async def run_simulation(ctx: Context, data: SimulateInput) -> Simulation:
    require(ctx, Scope.WRITE)
    return await _simulate(ctx, check_input(data))


async def resimulate(ctx: Context, simulation_id: str) -> Simulation:
    """Run a stored single prediction's request again, as `simulate` runs it, and link the new Simulation to it.

    Every failure names `simulationId`, the only argument: an optimization's answer (rerun with `reoptimize`), a
    request that no longer holds (its model or profile gone, a pinned config the profile no longer fits)."""
    require(ctx, Scope.WRITE)
    field = "simulationId"
    sim_id = check.parse_id(simulation_id, field)
    async with ctx.reader() as session:
        row = await session.get(SimulationRow, sim_id)
    if row is None:
        raise NotFound("Simulation", str(simulation_id))
    if row.input_config.get("kind") == "optimization":
        raise Invalid(field, "is an optimization's answer, not a single prediction: rerun it with reoptimize")
    try:
        request = read_simulate_request(row.input_config, row.model_id, row.hardware_profile_id)
    except (KeyError, TypeError, ValueError) as error:
        raise Invalid(field, f"its stored request cannot be read ({error})") from None
    try:
        return await _simulate(ctx, request, rerun_of_id=row.id)
    except NotFound as error:
        raise Invalid(field, f"its {error.entity} {error.id} no longer exists") from None
    except Invalid as error:
        raise Invalid(field, f"its request no longer holds: {error.field}: {error.message}") from None


async def _simulate(ctx: Context, request: SimulateRequest, rerun_of_id: uuid.UUID | None = None) -> Simulation:
    """Load the model and profile, predict off the event loop, store one Simulation: `simulate` and `resimulate`."""
    async with ctx.reader() as session:  # read, then give the connection back while the prediction runs
        model, profiles = await queries.model_with_profiles(session, request.model_id, [request.hardware_profile_id])
    if model is None:
        raise NotFound("Model", str(request.model_id))
    if (profile := profiles.get(request.hardware_profile_id)) is None:
        raise NotFound("HardwareProfile", str(request.hardware_profile_id))
    arch = parse_hf_config(model.architecture)
    _within_context(request.config, arch.max_context)
    strategy = STRATEGIES[request.method]
    try:
        prediction, regressor_version = await ctx.predictions.simulate(
            arch,
            cluster_from_profile(profile),
            request.workload,
            request.config,
            request.engine,
            strategy.uses_regressor,
        )
    except CoreError as error:
        raise invalid_input(error) from None
    if missing := strategy.warnings(ctx.regressor):
        prediction = replace(prediction, warnings=(*prediction.warnings, *missing))
    row = SimulationRow(
        model_id=model.id,
        hardware_profile_id=profile.id,
        method=request.method.value,
        input_config=simulate_input_document(request),
        confidence=prediction.confidence,
        result=prediction_result_document(prediction, request.engine, request.workload),
        optimal_config=optimal_config_document(prediction.config),
        regressor_version_id=regressor_version,
        rerun_of_id=rerun_of_id,
    )
    async with ctx.reader() as session:  # one INSERT is atomic by itself: no BEGIN and COMMIT round trips around it
        session.add(row)
        await session.commit()
    return answers.simulation(row)
