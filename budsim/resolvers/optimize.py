"""The `optimize` mutation: validate, load the model and profiles, search off the event loop, store the answer."""

import asyncio
import uuid
from dataclasses import replace
from functools import partial
from typing import Any

from budsim.context import Context
from budsim.core.architecture import parse_hf_config
from budsim.core.deployment import Workload
from budsim.core.errors import CoreError
from budsim.core.optimization import (
    DEFAULT_WORKLOAD,
    Choice,
    Constraints,
    OptimizationOutcome,
    SearchSettings,
    heuristic_deployment,
    search_deployment,
    vllm_args,
)
from budsim.core.search import ClusterOption, Targets
from budsim.core.types import Dtype, Method
from budsim.db.models import HardwareProfileRow, ModelRow, SimulationRow
from budsim.resolvers import validation as check
from budsim.resolvers.converters import cluster_from_profile
from budsim.resolvers.errors import Invalid, NotFound
from budsim.resolvers.simulate import NO_REGRESSOR, config_document, workload_document, workload_from_input
from budsim.schema.inputs import ConstraintsInput, OptimizeInput, TargetsInput
from budsim.schema.types.optimization import OptimizationJob

MAX_PROFILES = 32


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


def _config_document(choice: Choice, profiles: dict[str, HardwareProfileRow], model: str) -> dict[str, Any]:
    profile = profiles[choice.cluster_label]
    return {
        **config_document(choice.config),
        "gpu_type": profile.gpu_type,
        "hardware_profile_id": str(profile.id),
        "vllm_args": vllm_args(model, choice.config),
    }


def _result_document(
    outcome: OptimizationOutcome,
    profiles: dict[str, HardwareProfileRow],
    model: str,
    data: OptimizeInput,
    workload: Workload,
    targets: Targets,
) -> dict[str, Any]:
    return {
        "kind": "optimization",
        "status": "TIMED_OUT" if outcome.timed_out else "SUCCEEDED",
        "engine": data.engine.value,
        "workload": workload_document(workload),
        "targets": {
            k: getattr(targets, k) for k in ("max_latency_ms", "min_throughput_tps", "max_ttft_ms", "max_cost_per_hour")
        },
        "metrics": outcome.best.metrics if outcome.best else None,
        "pareto_front": [
            {"config": _config_document(choice, profiles, model), "metrics": choice.metrics}
            for choice in outcome.pareto
        ],
        "meets_targets": outcome.meets_targets,
        "binding_targets": [
            {"target": b.target, "required": b.required, "achieved": b.achieved} for b in outcome.binding
        ],
        "evaluations": outcome.evaluations,
        "generations": outcome.generations,
        "elapsed_ms": round(outcome.elapsed_ms, 1),
        "warnings": list(outcome.warnings),
    }


async def run_optimization(ctx: Context, data: OptimizeInput) -> OptimizationJob:
    model_id = check.parse_id(data.model_id, "input.modelId")
    if not data.hardware_profile_ids:
        raise Invalid("input.hardwareProfileIds", "name at least one hardware profile")
    if len(data.hardware_profile_ids) > MAX_PROFILES:
        raise Invalid("input.hardwareProfileIds", f"at most {MAX_PROFILES} profiles per optimization")
    profile_ids = [check.parse_id(i, f"input.hardwareProfileIds[{n}]") for n, i in enumerate(data.hardware_profile_ids)]
    workload = workload_from_input(data.workload) if data.workload else DEFAULT_WORKLOAD
    targets, constraints = _targets(data.targets), _constraints(data.constraints)
    seed = check.integer(data.seed, "input.seed", minimum=0, maximum=2**31 - 1)
    async with ctx.sessionmaker() as session:
        model = await session.get(ModelRow, model_id)
        if model is None:
            raise NotFound("Model", data.model_id)
        rows: list[HardwareProfileRow] = []
        for raw, profile_id in zip(data.hardware_profile_ids, profile_ids, strict=True):
            row = await session.get(HardwareProfileRow, profile_id)
            if row is None:
                raise NotFound("HardwareProfile", raw)
            rows.append(row)
    allowed = data.constraints.allowed_gpu_types if data.constraints else None
    if allowed is not None:
        wanted = {name.lower() for name in allowed}
        rows = [row for row in rows if row.gpu_type.lower() in wanted]
        if not rows:
            raise Invalid("input.constraints.allowedGpuTypes", "none of the hardware profiles has an allowed GPU type")
    profiles = {str(row.id): row for row in dict.fromkeys(rows)}
    clusters = [ClusterOption(cluster_from_profile(row), label) for label, row in profiles.items()]
    arch = parse_hf_config(model.architecture)
    precisions = list(dict.fromkeys(data.precisions or [model_precision(model.architecture)]))
    settings = ctx.settings
    if data.method == Method.HEURISTIC:
        run = partial(heuristic_deployment, arch, clusters, precisions, workload, data.engine, targets, constraints)
    else:
        search = SearchSettings(settings.population_size, settings.generations, settings.optimization_timeout, seed)
        run = partial(
            search_deployment,
            arch,
            clusters,
            precisions,
            workload,
            data.engine,
            targets,
            constraints,
            search,
            regressor=ctx.regressor,
        )
    try:
        outcome = await asyncio.to_thread(run)
    except CoreError as error:
        raise Invalid(f"input.{error.field}", error.message) from None
    if data.method == Method.REGRESSOR and ctx.regressor is None:
        outcome = replace(outcome, warnings=(*outcome.warnings, NO_REGRESSOR))
    chosen = outcome.best.cluster_label if outcome.best else next(iter(profiles))
    row = SimulationRow(
        id=uuid.uuid4(),
        model_id=model.id,
        hardware_profile_id=profiles[chosen].id,
        method=data.method.value,
        input_config={
            "kind": "optimization",
            "hardware_profile_ids": list(profiles),
            "precisions": [p.value for p in precisions],
            "seed": seed,
        },
        result=_result_document(outcome, profiles, model.name, data, workload, targets),
        optimal_config=_config_document(outcome.best, profiles, model.name) if outcome.best else None,
        confidence=outcome.confidence,
    )
    async with ctx.sessionmaker() as session:
        session.add(row)
        await session.commit()
    return OptimizationJob.from_row(row)
