"""What core answers about one serving config, as typed values: its metrics, their interval and its memory.

Past core, everything reads these by attribute under these names: the stored documents (`budsim.db.documents`), the
GraphQL types (whose snake_case field names they are) and the CLI. A quantity has one spelling from core to the API,
and a misspelt one is a type error rather than a missing key.
"""

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class Metrics:
    """Serving metrics of a whole deployment (all replicas), rounded as reported.

    None where a value is infinite (the deployment cannot serve the load: a request does not fit, or the offered rate
    exceeds capacity and queues grow without bound) or where the evaluator behind an answer does not report it.
    """

    ttft_mean_ms: float | None
    ttft_p50_ms: float | None
    ttft_p99_ms: float | None
    tpot_ms: float | None
    e2e_latency_mean_ms: float | None
    e2e_latency_p50_ms: float | None
    e2e_latency_p99_ms: float | None
    output_tokens_per_s: float | None
    total_tokens_per_s: float | None
    requests_per_s: float | None
    cost_per_hour: float | None
    cost_per_million_tokens: float | None


METRIC_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Metrics))


@dataclass(frozen=True, slots=True)
class Interval:
    """Each metric's 10th and 90th percentile: where its service times' uncertainty puts it (`core.calibration`).

    p10 is the low end of every metric (the optimistic latency, the pessimistic throughput), p90 the high end; None
    where that end is unbounded (a queue that would grow without limit).
    """

    p10: Metrics
    p90: Metrics


@dataclass(frozen=True, slots=True)
class MemoryFootprint:
    """One config's per-GPU memory on its busiest pipeline stage, in GB (10^9 bytes), and what its KV cache holds.

    The single-config view of `core.memory.MemoryBreakdown`, rounded as reported.
    """

    weights_gb_per_gpu: float
    kv_cache_gb_per_gpu: float
    activation_gb_per_gpu: float
    overhead_gb_per_gpu: float
    total_gb_per_gpu: float
    kv_cache_tokens: int  # one replica's KV-cache capacity
    max_num_seqs_at_max_model_len: int
    fits: bool
