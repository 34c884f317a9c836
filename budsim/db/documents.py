"""Core values as the JSON documents stored in `simulations` and `optimization_jobs`.

The keys are the GraphQL types' (snake_case) field names, so the schema reads any stored document back with one
`from_document`, whichever writer (the simulate mutation, a worker in another process) stored it.
"""

from typing import Any

from budsim.core.deployment import ServingConfig, Workload
from budsim.core.simulation import Interval, MetricsDocument


def config_document(config: ServingConfig) -> dict[str, Any]:
    """A config as stored in Simulation.optimal_config: the DeploymentConfig type's field names."""
    return {
        "tensor_parallel_size": config.tensor_parallel,
        "pipeline_parallel_size": config.pipeline_parallel,
        "max_num_seqs": config.max_num_seqs,
        "max_num_batched_tokens": config.max_num_batched_tokens,
        "gpu_memory_utilization": config.gpu_memory_utilization,
        "max_model_len": config.max_model_len,
        "replicas": config.replicas,
        "weight_dtype": config.weight_dtype.value,
        "kv_cache_dtype": config.kv_cache_dtype.value,
    }


def workload_document(workload: Workload) -> dict[str, Any]:
    return {
        "input_tokens": workload.input_tokens,
        "output_tokens": workload.output_tokens,
        "concurrency": workload.concurrency,
        "request_rate": workload.request_rate,
    }


def workload_from_document(document: dict[str, Any]) -> Workload:
    return Workload(
        input_tokens=int(document["input_tokens"]),
        output_tokens=int(document["output_tokens"]),
        concurrency=document.get("concurrency"),
        request_rate=document.get("request_rate"),
    )


def metrics_document(metrics: MetricsDocument | None, interval: Interval | None) -> dict[str, Any] | None:
    """Predicted metrics as stored: the PerformanceMetrics type's field names, the interval's ends under p10 and p90."""
    if metrics is None:
        return None
    if interval is None:
        return dict(metrics)
    return {**metrics, "p10": interval.p10, "p90": interval.p90}
