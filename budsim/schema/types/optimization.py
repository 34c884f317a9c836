"""Optimization jobs and their results, read back from the stored Simulation documents."""

from enum import Enum
from typing import Any

import strawberry

from budsim.schema.types.prediction import DeploymentConfig, PerformanceMetrics


@strawberry.enum
class JobStatus(Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"


@strawberry.type(description="A recommended configuration: where it runs and how to start it.")
class OptimalConfig(DeploymentConfig):
    gpu_type: str
    hardware_profile_id: strawberry.ID
    vllm_args: str = strawberry.field(description="The `vllm serve` command line for one replica.")


@strawberry.type
class ParetoPoint:
    config: OptimalConfig
    metrics: PerformanceMetrics


@strawberry.type(description="A target the answer cannot meet: what it requires and what the closest config achieves.")
class BindingTarget:
    target: str
    required: float | None
    achieved: float | None


@strawberry.type
class SimulationRef:
    id: strawberry.ID


@strawberry.type
class OptimizationResult:
    optimal_config: OptimalConfig | None
    predicted_metrics: PerformanceMetrics | None
    pareto_front: list[ParetoPoint]
    confidence: float
    meets_targets: bool
    binding_targets: list[BindingTarget]
    evaluations: int
    generations: int
    elapsed_ms: float
    warnings: list[str]
    simulation: SimulationRef


def _config(document: dict[str, Any] | None) -> OptimalConfig | None:
    config = OptimalConfig.from_document(document)
    if config is not None:
        config.hardware_profile_id = strawberry.ID(str(config.hardware_profile_id))
    return config


@strawberry.type
class OptimizationJob:
    id: strawberry.ID
    status: JobStatus
    result: OptimizationResult | None

    @classmethod
    def from_row(cls, row: Any) -> "OptimizationJob":
        doc = row.result
        pareto = [
            ParetoPoint(config=_config(point["config"]), metrics=PerformanceMetrics.from_document(point["metrics"]))  # type: ignore[arg-type]
            for point in doc.get("pareto_front", [])
        ]
        return cls(
            id=strawberry.ID(str(row.id)),
            status=JobStatus(doc["status"]),
            result=OptimizationResult(
                optimal_config=_config(row.optimal_config),
                predicted_metrics=PerformanceMetrics.from_document(doc.get("metrics")),
                pareto_front=pareto,
                confidence=row.confidence or 0.0,
                meets_targets=doc["meets_targets"],
                binding_targets=[BindingTarget(**b) for b in doc.get("binding_targets", [])],
                evaluations=doc["evaluations"],
                generations=doc["generations"],
                elapsed_ms=doc["elapsed_ms"],
                warnings=list(doc.get("warnings", [])),
                simulation=SimulationRef(id=strawberry.ID(str(row.id))),
            ),
        )
