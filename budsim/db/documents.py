"""The one translation between typed values and the JSON documents stored in `simulations`, `optimization_jobs`,
`endpoints` and `endpoint_deployments`.

Writers (the simulate mutation, a worker in another process, maybe another version of this code) and readers (the
API, a worker resuming a job) meet only here, so a key is spelt in one place. Keys are the GraphQL types' snake_case
field names, which are also the typed values' attribute names (`core.results`); where core spells a field otherwise
(`ServingConfig.tensor_parallel` is stored as `tensor_parallel_size`), this module maps it.

Every column document written here carries a `version`. Documents stored before versions existed have none and read
as version 1; version 2 is version 1's layout plus the marker. Readers meet every version still in the database, so a
new layout bumps DOCUMENT_VERSION and teaches the readers to tell it from the old ones; a version newer than this
code is refused rather than misread. A key added to a layout, which readers of every version treat as absent when
it is (a progress document's `pareto_front`), is no new layout: older code reading the newer document ignores it.
Parts (a config, a metrics document) carry no version of their own: they are read under their column document's.
`simulations.input_config` of a single prediction is the request as the user sent it (the fields they set, under
the SimulateInput's snake_case names) and carries no version: the API shows it raw as `inputConfig`, and `resimulate`
reads it back (`read_simulate_request`) to run the same request again.
"""

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from budsim.core.artifacts import Artifacts
from budsim.core.deployment import ServingConfig, Workload
from budsim.core.heuristic import PartialConfig
from budsim.core.optimization import BindingTarget, Constraints
from budsim.core.predictors import ConfidenceReason, ReasonKind
from budsim.core.results import METRIC_NAMES, Interval, MemoryFootprint, Metrics
from budsim.core.search import Targets
from budsim.core.search.nsga2 import FrontPoint
from budsim.core.simulation import Prediction
from budsim.core.types import Dtype, Engine, JobStatus, Method

Document = dict[str, Any]
VERSION_KEY = "version"
DOCUMENT_VERSION = 2
READABLE_VERSIONS = frozenset({1, 2})
# A progress document's front as rows of three numbers in this order (the ParetoSample type's fields), not as
# objects: 64 points as objects were 5 kB of a NOTIFY payload's 7.9 (budsim.jobs.news), as rows they are 1.6.
PARETO_SAMPLE_FIELDS = ("output_tokens_per_s", "e2e_latency_p99_ms", "cost_per_hour")


class UnreadableDocument(ValueError):
    """A stored document of a version this code does not know: written by newer code, or not by this module."""


@dataclass(frozen=True, slots=True)
class PlacedConfig:
    """A recommended config with where it runs and how to start it, as an optimization answers it."""

    config: ServingConfig
    gpu_type: str
    hardware_profile_id: uuid.UUID
    launch_command: str | None  # None in answers stored before it was reported
    vllm_args: str | None  # None unless the engine is vLLM


@dataclass(frozen=True, slots=True)
class ParetoEntry:
    config: PlacedConfig
    metrics: Metrics
    interval: Interval | None


@dataclass(frozen=True, slots=True)
class OptimizationAnswer:
    """What an optimization job stores as its Simulation's result; the pick itself is the row's optimal_config."""

    status: JobStatus
    engine: Engine
    workload: Workload
    targets: Targets
    metrics: Metrics | None  # the pick's; None when nothing could be evaluated
    interval: Interval | None
    pareto_front: tuple[ParetoEntry, ...]
    meets_targets: bool
    binding_targets: tuple[BindingTarget, ...]
    evaluations: int
    generations: int
    elapsed_ms: float
    warnings: tuple[str, ...]
    confidence_reasons: tuple[ConfidenceReason, ...] = ()  # the pick's; none in answers stored before reasons were


@dataclass(frozen=True, slots=True)
class StoredSimulation:
    """What any Simulation row says, whichever kind of answer stored it; None where the row does not say."""

    config: ServingConfig | None
    engine: Engine | None
    workload: Workload | None
    metrics: Metrics | None
    interval: Interval | None
    memory: MemoryFootprint | None  # only a single prediction reports it
    warnings: tuple[str, ...]
    confidence_reasons: tuple[ConfidenceReason, ...] = ()  # none in documents stored before reasons were given


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a search stands, as its job row keeps it and its subscribers hear it; None where nothing says yet."""

    attempt: int | None = None
    generation: int | None = None
    evaluations: int | None = None
    elapsed_ms: float | None = None
    best_output_tokens_per_s: float | None = None
    best_e2e_latency_p99_ms: float | None = None
    best_cost_per_hour: float | None = None
    pareto_front_size: int | None = None
    min_violation: float | None = None
    best_config: PlacedConfig | None = None
    pareto_front: tuple[FrontPoint, ...] = ()  # a sample of the feasible front (budsim.jobs.request.front_sample)


@dataclass(frozen=True, slots=True)
class EndpointSettings:
    """What an endpoint asks of each optimization besides its model, profiles, method and engine (columns of their
    own), as createEndpoint validated it and as optimizeEndpoint sends it again."""

    precisions: tuple[Dtype, ...] | None  # None: the model's own, decided at each optimization as optimize does
    workload: Workload
    targets: Targets
    constraints: Constraints
    allowed_gpu_types: tuple[str, ...] | None  # as given; each optimization narrows the profiles by them again
    seed: int


@dataclass(frozen=True, slots=True)
class JobRequest:
    """An optimize request as a job carries it: validated by the API process, solved by whichever worker claims it."""

    model_id: uuid.UUID
    hardware_profile_ids: tuple[uuid.UUID, ...]  # distinct, already narrowed to the allowed GPU types
    method: Method
    engine: Engine
    precisions: tuple[Dtype, ...]
    workload: Workload
    targets: Targets
    constraints: Constraints
    seed: int


@dataclass(frozen=True, slots=True)
class SimulateRequest:
    """A simulate request with its ids resolved and its fields checked: what `simulate` runs and `resimulate` reruns.
    The model and profile are the Simulation row's columns; the rest is its input_config."""

    model_id: uuid.UUID
    hardware_profile_id: uuid.UUID
    method: Method
    engine: Engine
    workload: Workload
    config: PartialConfig  # what the user pinned; the method chooses every None


# ---------------------------------------------------------------- versions


def _versioned(document: Document) -> Document:
    return {VERSION_KEY: DOCUMENT_VERSION, **document}


def version_of(document: Mapping[str, Any]) -> int:
    """The layout version of a stored column document: 1 where it has none (stored before versions existed)."""
    version = document.get(VERSION_KEY, 1)
    if version not in READABLE_VERSIONS:
        raise UnreadableDocument(f"document version {version!r}; this code reads {sorted(READABLE_VERSIONS)}")
    return int(version)


def without_version(document: Document) -> Document:
    """A stored document as the API's raw JSON fields show it: without the version, as before documents had one."""
    return {key: value for key, value in document.items() if key != VERSION_KEY}


# ---------------------------------------------------------------- parts


def config_document(config: ServingConfig) -> Document:
    """A config under the DeploymentConfig type's field names, its dtypes as their names."""
    return {name: value.value if isinstance(value, Dtype) else value for name, value in config.engine_named().items()}


def read_config(document: Mapping[str, Any]) -> ServingConfig:
    return ServingConfig(
        tensor_parallel=int(document["tensor_parallel_size"]),
        pipeline_parallel=int(document["pipeline_parallel_size"]),
        max_num_seqs=int(document["max_num_seqs"]),
        max_num_batched_tokens=int(document["max_num_batched_tokens"]),
        gpu_memory_utilization=float(document["gpu_memory_utilization"]),
        max_model_len=int(document["max_model_len"]),
        replicas=int(document["replicas"]),
        weight_dtype=Dtype(document["weight_dtype"]),
        kv_cache_dtype=Dtype(document["kv_cache_dtype"]),
    )


def placed_config_document(placed: PlacedConfig) -> Document:
    """A pick as stored: its config, where it runs, and the command that starts it."""
    return {
        **config_document(placed.config),
        "gpu_type": placed.gpu_type,
        "hardware_profile_id": str(placed.hardware_profile_id),
        "launch_command": placed.launch_command,
        "vllm_args": placed.vllm_args,
    }


def read_placed_config(document: Mapping[str, Any]) -> PlacedConfig:
    return PlacedConfig(
        config=read_config(document),
        gpu_type=str(document["gpu_type"]),
        hardware_profile_id=uuid.UUID(str(document["hardware_profile_id"])),
        launch_command=document.get("launch_command"),
        vllm_args=document.get("vllm_args"),
    )


def workload_document(workload: Workload) -> Document:
    return {
        "input_tokens": workload.input_tokens,
        "output_tokens": workload.output_tokens,
        "concurrency": workload.concurrency,
        "request_rate": workload.request_rate,
    }


def read_workload(document: Mapping[str, Any]) -> Workload:
    return Workload(
        input_tokens=int(document["input_tokens"]),
        output_tokens=int(document["output_tokens"]),
        concurrency=document.get("concurrency"),
        request_rate=document.get("request_rate"),
    )


def metrics_document(metrics: Metrics, interval: Interval | None) -> Document:
    """Predicted metrics under the PerformanceMetrics type's field names, the interval's ends under p10 and p90."""
    if interval is None:
        return asdict(metrics)
    return {**asdict(metrics), "p10": asdict(interval.p10), "p90": asdict(interval.p90)}


def _metric_values(document: Mapping[str, Any]) -> Metrics:
    # A metric missing reads as unknown: e2e_latency_mean_ms was reported only later than the others.
    values = {name: document.get(name) for name in METRIC_NAMES}
    return Metrics(**{name: None if value is None else float(value) for name, value in values.items()})


def read_metrics(document: Mapping[str, Any]) -> tuple[Metrics, Interval | None]:
    """The metrics and their interval; None for the interval where it was stored without one (older answers)."""
    p10, p90 = document.get("p10"), document.get("p90")
    interval = Interval(_metric_values(p10), _metric_values(p90)) if p10 and p90 else None
    return _metric_values(document), interval


def memory_document(memory: MemoryFootprint) -> Document:
    """A memory footprint under the MemoryReport type's field names."""
    return asdict(memory)


def read_memory(document: Mapping[str, Any]) -> MemoryFootprint:
    return MemoryFootprint(
        weights_gb_per_gpu=float(document["weights_gb_per_gpu"]),
        kv_cache_gb_per_gpu=float(document["kv_cache_gb_per_gpu"]),
        activation_gb_per_gpu=float(document["activation_gb_per_gpu"]),
        overhead_gb_per_gpu=float(document["overhead_gb_per_gpu"]),
        total_gb_per_gpu=float(document["total_gb_per_gpu"]),
        kv_cache_tokens=int(document["kv_cache_tokens"]),
        max_num_seqs_at_max_model_len=int(document["max_num_seqs_at_max_model_len"]),
        fits=bool(document["fits"]),
    )


def targets_document(targets: Targets) -> Document:
    return {
        "max_latency_ms": targets.max_latency_ms,
        "min_throughput_tps": targets.min_throughput_tps,
        "max_ttft_ms": targets.max_ttft_ms,
        "max_cost_per_hour": targets.max_cost_per_hour,
    }


def read_targets(document: Mapping[str, Any]) -> Targets:
    return Targets(
        max_latency_ms=document.get("max_latency_ms"),
        min_throughput_tps=document.get("min_throughput_tps"),
        max_ttft_ms=document.get("max_ttft_ms"),
        max_cost_per_hour=document.get("max_cost_per_hour"),
    )


def _binding_document(binding: BindingTarget) -> Document:
    return {"target": binding.target, "required": binding.required, "achieved": binding.achieved}


def _read_binding(document: Mapping[str, Any]) -> BindingTarget:
    return BindingTarget(target=document["target"], required=document["required"], achieved=document["achieved"])


def _reasons_document(reasons: tuple[ConfidenceReason, ...]) -> list[Document]:
    return [{"kind": r.kind.value, "factor": r.factor, "message": r.message, "measure": r.measure} for r in reasons]


def _read_reasons(documents: Any) -> tuple[ConfidenceReason, ...]:
    """A document's confidence reasons: none where it predates them (a key added to the layout, no new version),
    and a kind this code does not know (written by newer code) left out rather than refusing the whole answer."""
    known = {kind.value for kind in ReasonKind}
    return tuple(
        ConfidenceReason(ReasonKind(d["kind"]), float(d["factor"]), str(d["message"]), str(d["measure"]))
        for d in documents or ()
        if d.get("kind") in known
    )


# ---------------------------------------------------------------- simulations


def prediction_result_document(prediction: Prediction, engine: Engine, workload: Workload) -> Document:
    """A single prediction as stored in Simulation.result (its config goes to `optimal_config_document`)."""
    return _versioned(
        {
            "engine": engine.value,
            "workload": workload_document(workload),
            "metrics": metrics_document(prediction.metrics, prediction.interval),
            "memory": memory_document(prediction.memory),
            "warnings": list(prediction.warnings),
            "confidence_reasons": _reasons_document(prediction.confidence_reasons),
        }
    )


def optimal_config_document(config: ServingConfig | PlacedConfig) -> Document:
    """Simulation.optimal_config: a prediction's config, or an optimization's pick with where it runs."""
    if isinstance(config, PlacedConfig):
        return _versioned(placed_config_document(config))
    return _versioned(config_document(config))


def optimization_result_document(answer: OptimizationAnswer) -> Document:
    """An optimization's answer as stored in Simulation.result, so `simulations` lists it beside predictions."""
    return _versioned(
        {
            "kind": "optimization",
            "status": answer.status.value,
            "engine": answer.engine.value,
            "workload": workload_document(answer.workload),
            "targets": targets_document(answer.targets),
            "metrics": metrics_document(answer.metrics, answer.interval) if answer.metrics is not None else None,
            "pareto_front": [
                {
                    "config": placed_config_document(entry.config),
                    "metrics": metrics_document(entry.metrics, entry.interval),
                }
                for entry in answer.pareto_front
            ],
            "meets_targets": answer.meets_targets,
            "binding_targets": [_binding_document(binding) for binding in answer.binding_targets],
            "evaluations": answer.evaluations,
            "generations": answer.generations,
            "elapsed_ms": answer.elapsed_ms,
            "warnings": list(answer.warnings),
            "confidence_reasons": _reasons_document(answer.confidence_reasons),
        }
    )


def read_simulation(result: Mapping[str, Any], optimal_config: Mapping[str, Any] | None) -> StoredSimulation:
    """A Simulation row's result and optimal_config, of either kind, as the Simulation type shows them."""
    version_of(result)
    if optimal_config is not None:
        version_of(optimal_config)
    metrics = read_metrics(result["metrics"]) if result.get("metrics") else None
    return StoredSimulation(
        config=read_config(optimal_config) if optimal_config else None,
        engine=Engine(result["engine"]) if result.get("engine") else None,
        workload=read_workload(result["workload"]) if result.get("workload") else None,
        metrics=metrics[0] if metrics else None,
        interval=metrics[1] if metrics else None,
        memory=read_memory(result["memory"]) if result.get("memory") else None,
        warnings=tuple(result.get("warnings", ())),
        confidence_reasons=_read_reasons(result.get("confidence_reasons")),
    )


# PartialConfig's field -> its key in input_config (DeploymentConfigInput's attribute, as for a stored config)
_PINNED_KEYS = {"tensor_parallel": "tensor_parallel_size", "pipeline_parallel": "pipeline_parallel_size"}
_PINNED_FIELDS = tuple(field.name for field in fields(PartialConfig))
_PINNED_DTYPES = frozenset({"weight_dtype", "kv_cache_dtype"})


def simulate_input_document(request: SimulateRequest) -> Document:
    """Simulation.input_config of a single prediction: the request as sent, the fields left unset absent."""
    config = {}
    for name in _PINNED_FIELDS:
        value = getattr(request.config, name)
        if value is not None:
            config[_PINNED_KEYS.get(name, name)] = value.value if isinstance(value, Dtype) else value
    return {
        "method": request.method.value,
        "engine": request.engine.value,
        "config": config,
        "workload": {key: value for key, value in workload_document(request.workload).items() if value is not None},
    }


def read_simulate_request(
    document: Mapping[str, Any], model_id: uuid.UUID, hardware_profile_id: uuid.UUID
) -> SimulateRequest:
    """A single prediction's request from its input_config and the row's model and profile. An optimization's
    input_config (`"kind": "optimization"`) is no such request: KeyError, as for any document missing a key."""
    if "kind" in document:
        raise KeyError("kind")
    config = document["config"]
    pinned: dict[str, Any] = {}
    for name in _PINNED_FIELDS:
        value = config.get(_PINNED_KEYS.get(name, name))
        if value is not None:
            pinned[name] = Dtype(value) if name in _PINNED_DTYPES else value
    return SimulateRequest(
        model_id=model_id,
        hardware_profile_id=hardware_profile_id,
        method=Method(document["method"]),
        engine=Engine(document["engine"]),
        workload=read_workload(document["workload"]),
        config=PartialConfig(**pinned),
    )


def read_optimal_config(document: Mapping[str, Any]) -> PlacedConfig:
    """An optimization's pick from Simulation.optimal_config."""
    version_of(document)
    return read_placed_config(document)


def read_optimization_result(document: Mapping[str, Any]) -> OptimizationAnswer:
    version_of(document)
    metrics, interval = read_metrics(document["metrics"]) if document.get("metrics") else (None, None)
    pareto = []
    for point in document.get("pareto_front", ()):
        point_metrics, point_interval = read_metrics(point["metrics"])
        pareto.append(ParetoEntry(read_placed_config(point["config"]), point_metrics, point_interval))
    return OptimizationAnswer(
        status=JobStatus(document["status"]),
        engine=Engine(document["engine"]),
        workload=read_workload(document["workload"]),
        targets=read_targets(document["targets"]),
        metrics=metrics,
        interval=interval,
        pareto_front=tuple(pareto),
        meets_targets=bool(document["meets_targets"]),
        binding_targets=tuple(_read_binding(b) for b in document.get("binding_targets", ())),
        evaluations=int(document["evaluations"]),
        generations=int(document["generations"]),
        elapsed_ms=float(document["elapsed_ms"]),
        warnings=tuple(document.get("warnings", ())),
        confidence_reasons=_read_reasons(document.get("confidence_reasons")),
    )


# ---------------------------------------------------------------- optimization jobs


def _front_document(front: tuple[FrontPoint, ...]) -> list[list[float]]:
    return [[point.output_tokens_per_s, point.e2e_p99_ms, point.cost_per_hour] for point in front]


def _read_front(rows: Any) -> tuple[FrontPoint, ...]:
    return tuple(FrontPoint(*(float(value) for value in row)) for row in rows or ())


def progress_document(progress: Progress) -> Document:
    """A job's progress as kept on its row and published to its subscribers (well under NOTIFY's 8 kB; its front as
    rows in PARETO_SAMPLE_FIELDS order)."""
    return _versioned(
        {
            "attempt": progress.attempt,
            "generation": progress.generation,
            "evaluations": progress.evaluations,
            "elapsed_ms": progress.elapsed_ms,
            "best_output_tokens_per_s": progress.best_output_tokens_per_s,
            "best_e2e_latency_p99_ms": progress.best_e2e_latency_p99_ms,
            "best_cost_per_hour": progress.best_cost_per_hour,
            "pareto_front_size": progress.pareto_front_size,
            "min_violation": progress.min_violation,
            "best_config": placed_config_document(progress.best_config) if progress.best_config else None,
            "pareto_front": _front_document(progress.pareto_front),
        }
    )


def read_progress(document: Mapping[str, Any]) -> Progress:
    version_of(document)
    best = document.get("best_config")
    return Progress(
        attempt=document.get("attempt"),
        generation=document.get("generation"),
        evaluations=document.get("evaluations"),
        elapsed_ms=document.get("elapsed_ms"),
        best_output_tokens_per_s=document.get("best_output_tokens_per_s"),
        best_e2e_latency_p99_ms=document.get("best_e2e_latency_p99_ms"),
        best_cost_per_hour=document.get("best_cost_per_hour"),
        pareto_front_size=document.get("pareto_front_size"),
        min_violation=document.get("min_violation"),
        best_config=read_placed_config(best) if best else None,
        pareto_front=_read_front(document.get("pareto_front")),
    )


def _constraints_document(constraints: Constraints) -> Document:
    return {
        "max_replicas": constraints.max_replicas,
        "max_gpus_per_replica": constraints.max_gpus_per_replica,
        "require_high_availability": constraints.require_high_availability,
    }


def _read_constraints(document: Mapping[str, Any]) -> Constraints:
    return Constraints(
        max_replicas=int(document["max_replicas"]),
        max_gpus_per_replica=int(document["max_gpus_per_replica"]),
        require_high_availability=bool(document["require_high_availability"]),
    )


def request_document(request: JobRequest) -> Document:
    """OptimizationJob.request: what a worker needs to run the job, ids resolved."""
    return _versioned(
        {
            "model_id": str(request.model_id),
            "hardware_profile_ids": [str(i) for i in request.hardware_profile_ids],
            "method": request.method.value,
            "engine": request.engine.value,
            "precisions": [p.value for p in request.precisions],
            "workload": workload_document(request.workload),
            "targets": targets_document(request.targets),
            "constraints": _constraints_document(request.constraints),
            "seed": request.seed,
        }
    )


def read_request(document: Mapping[str, Any]) -> JobRequest:
    version_of(document)
    constraints = document["constraints"]
    return JobRequest(
        model_id=uuid.UUID(document["model_id"]),
        hardware_profile_ids=tuple(uuid.UUID(i) for i in document["hardware_profile_ids"]),
        method=Method(document["method"]),
        engine=Engine(document["engine"]),
        precisions=tuple(Dtype(p) for p in document["precisions"]),
        workload=read_workload(document["workload"]),
        targets=read_targets(document["targets"]),
        constraints=_read_constraints(constraints),
        seed=int(document["seed"]),
    )


# ---------------------------------------------------------------- endpoints


def endpoint_settings_document(settings: EndpointSettings) -> Document:
    """Endpoint.settings: the allowed GPU types sit in its constraints, where the request's input has them."""
    return _versioned(
        {
            "precisions": [p.value for p in settings.precisions] if settings.precisions is not None else None,
            "workload": workload_document(settings.workload),
            "targets": targets_document(settings.targets),
            "constraints": {
                **_constraints_document(settings.constraints),
                "allowed_gpu_types": list(settings.allowed_gpu_types)
                if settings.allowed_gpu_types is not None
                else None,
            },
            "seed": settings.seed,
        }
    )


def read_endpoint_settings(document: Mapping[str, Any]) -> EndpointSettings:
    version_of(document)
    precisions, allowed = document.get("precisions"), document["constraints"].get("allowed_gpu_types")
    return EndpointSettings(
        precisions=tuple(Dtype(p) for p in precisions) if precisions is not None else None,
        workload=read_workload(document["workload"]),
        targets=read_targets(document["targets"]),
        constraints=_read_constraints(document["constraints"]),
        allowed_gpu_types=tuple(str(name) for name in allowed) if allowed is not None else None,
        seed=int(document["seed"]),
    )


def artifacts_document(artifacts: Artifacts) -> Document:
    """EndpointDeployment.artifacts: the text handed out, under the EndpointDeployment type's field names."""
    return _versioned(
        {
            "launch_command": artifacts.launch_command,
            "docker_run": artifacts.docker_run,
            "kubernetes_manifest": artifacts.kubernetes_manifest,
            "notes": list(artifacts.notes),
        }
    )


def read_artifacts(document: Mapping[str, Any]) -> Artifacts:
    version_of(document)
    return Artifacts(
        launch_command=str(document["launch_command"]),
        docker_run=str(document["docker_run"]),
        kubernetes_manifest=str(document["kubernetes_manifest"]),
        notes=tuple(str(note) for note in document["notes"]),
    )
