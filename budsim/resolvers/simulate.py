"""The `simulate` mutation: validate, load the model and profile, predict in core, store one Simulation row."""

from dataclasses import replace
from typing import Any

from budsim.core.architecture import parse_hf_config
from budsim.core.deployment import Workload
from budsim.core.errors import CoreError
from budsim.core.heuristic import PartialConfig
from budsim.core.methods import STRATEGIES
from budsim.db import queries
from budsim.db.converters import cluster_from_profile
from budsim.db.documents import optimal_config_document, prediction_result_document
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


def partial_from_input(data: DeploymentConfigInput | None, max_context: int) -> PartialConfig:
    if data is None:
        return PartialConfig()

    def path(name: str) -> str:  # a PartialConfig field's input path
        return f"input.{input_field(name)}"

    def bounded(value: int | None, name: str, maximum: int) -> int | None:
        return None if value is None else check.integer(value, path(name), minimum=1, maximum=maximum)

    if data.gpu_memory_utilization is not None:
        check.number(
            data.gpu_memory_utilization, path("gpu_memory_utilization"), minimum=0, maximum=1, exclusive_minimum=True
        )
    if data.max_model_len is not None and data.max_model_len > max_context:
        raise Invalid(path("max_model_len"), f"exceeds the model's context of {max_context} tokens")
    return PartialConfig(
        tensor_parallel=bounded(data.tensor_parallel_size, "tensor_parallel", 1024),
        pipeline_parallel=bounded(data.pipeline_parallel_size, "pipeline_parallel", 1024),
        max_num_seqs=bounded(data.max_num_seqs, "max_num_seqs", 65_536),
        max_num_batched_tokens=bounded(data.max_num_batched_tokens, "max_num_batched_tokens", MAX_TOKENS),
        gpu_memory_utilization=data.gpu_memory_utilization,
        max_model_len=bounded(data.max_model_len, "max_model_len", max_context),
        replicas=bounded(data.replicas, "replicas", 1024),
        weight_dtype=data.weight_dtype,
        kv_cache_dtype=data.kv_cache_dtype,
    )


def _input_document(data: SimulateInput) -> dict[str, Any]:
    """The request as the user sent it (unset config fields stay absent), for reproducing the run."""
    config = {k: getattr(v, "value", v) for k, v in vars(data.config).items() if v is not None} if data.config else {}
    return {
        "method": data.method.value,
        "engine": data.engine.value,
        "config": config,
        "workload": {k: v for k, v in vars(data.workload).items() if v is not None},
    }


async def run_simulation(ctx: Context, data: SimulateInput) -> Simulation:
    require(ctx, Scope.WRITE)
    model_id = check.parse_id(data.model_id, "input.modelId")
    profile_id = check.parse_id(data.hardware_profile_id, "input.hardwareProfileId")
    workload = workload_from_input(data.workload)
    async with ctx.reader() as session:  # read, then give the connection back while the prediction runs
        model, profiles = await queries.model_with_profiles(session, model_id, [profile_id])
    if model is None:
        raise NotFound("Model", data.model_id)
    if (profile := profiles.get(profile_id)) is None:
        raise NotFound("HardwareProfile", data.hardware_profile_id)
    arch = parse_hf_config(model.architecture)
    partial = partial_from_input(data.config, arch.max_context)
    strategy = STRATEGIES[data.method]
    try:
        prediction, regressor_version = await ctx.predictions.simulate(
            arch, cluster_from_profile(profile), workload, partial, data.engine, strategy.uses_regressor
        )
    except CoreError as error:
        raise invalid_input(error) from None
    if missing := strategy.warnings(ctx.regressor):
        prediction = replace(prediction, warnings=(*prediction.warnings, *missing))
    row = SimulationRow(
        model_id=model.id,
        hardware_profile_id=profile.id,
        method=data.method.value,
        input_config=_input_document(data),
        confidence=prediction.confidence,
        result=prediction_result_document(prediction, data.engine, workload),
        optimal_config=optimal_config_document(prediction.config),
        regressor_version_id=regressor_version,
    )
    async with ctx.reader() as session:  # one INSERT is atomic by itself: no BEGIN and COMMIT round trips around it
        session.add(row)
        await session.commit()
    return answers.simulation(row)
