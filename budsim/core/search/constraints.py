"""What a genome must satisfy beyond its genes' own options, and by how much it fails to.

What a single gene cannot express (TP x PP x replicas against the chosen cluster's GPUs, a cache that must fit, the
user's latency and cost targets) is a *constraint*: scored as a normalized violation that the search compares by
constraint-dominance (Deb 2000), never folded into the objectives as a penalty. The space's cross-gene rules are
judged here from the genome alone (`structural_violations`), so no evaluator can forget them; the user's targets
(`target_violations`) and whether a config runs at all need a model and are the evaluator's to judge.
"""

from dataclasses import dataclass

import numpy as np

from budsim.core.search.space import Gene, SearchSpace
from budsim.core.types import FloatArray, IntArray

# A violation term is capped so that one absurd candidate (a latency of 10^9 x the target) cannot swamp the sum that
# orders infeasible candidates: past this, "how far off" no longer says anything useful.
MAX_VIOLATION_TERM = 1e3
# Where a candidate cannot serve at all its latency is infinite; a latency or TTFT target then counts as missed by
# this much (the whole target), so the memory or capacity term, which can shrink, drives the search back.
UNSERVABLE_TARGET_VIOLATION = 1.0
# Smallest violation reported for a rule that is broken but whose size the models cannot measure (a saturated queue
# at exactly its capacity): keeps "broken" from ever summing to zero.
MIN_VIOLATION = 1e-6
FAILED = "evaluation_failed"

# Violations are ordered in tiers, each above any sum the tiers below can reach, so that a near miss is a deployment
# that could run: a layout the hardware cannot hold is worse than any that it can, and a config that cannot run
# (out of memory, a request that does not fit, an open loop beyond capacity, a failed evaluation) is worse than any
# that runs but misses a target. Within a tier, candidates compare by total normalized violation (Deb 2000).
# Rules are tiered by name; any rule not named here (the user's targets, a custom evaluator's) is a target.
STRUCTURAL_RULES = frozenset(
    {"tensor_parallel_within_node", "gpus_per_replica", "cluster_gpus", "high_availability", "batched_tokens_per_seq"}
)
RUNNABLE_RULES = frozenset({"memory", "request_fits", "capacity", FAILED})
RUNNABLE_TIER = 1e6  # above any sum of target terms (each capped at MAX_VIOLATION_TERM)
STRUCTURAL_TIER = 1e12  # above any sum of runnable and target terms


def structural_violations(space: SearchSpace, genomes: IntArray) -> dict[str, FloatArray]:
    """Normalized violation of each cross-gene rule (0 where it holds), as relative overshoots.

    Relative, so that rules of different units add up in one comparable total: 16 GPUs asked of an 8-GPU cluster
    is as far off (1.0) as a latency at twice its target.
    """
    g = np.asarray(genomes, dtype=np.int64).reshape(-1, len(Gene))
    t = space.table
    tp = t("tp")[g[:, Gene.TENSOR_PARALLEL]].astype(np.float64)
    pp = t("pp")[g[:, Gene.PIPELINE_PARALLEL]].astype(np.float64)
    replicas = t("replicas")[g[:, Gene.REPLICAS]].astype(np.float64)
    seqs = t("seqs")[g[:, Gene.MAX_NUM_SEQS]].astype(np.float64)
    tokens = t("tokens")[g[:, Gene.MAX_NUM_BATCHED_TOKENS]].astype(np.float64)
    cluster = g[:, Gene.CLUSTER]
    node = t("node")[cluster].astype(np.float64)
    total = t("total")[cluster].astype(np.float64)
    ha = np.maximum(2.0 - replicas, 0.0) / 2.0 if space.require_high_availability else np.zeros_like(replicas)
    rules = {
        # TP's all-reduces stay on the node's fabric; vLLM cannot span nodes with TP at usable speed.
        "tensor_parallel_within_node": np.maximum(tp / node - 1.0, 0.0),
        "gpus_per_replica": np.maximum(tp * pp / space.max_gpus_per_replica - 1.0, 0.0),
        "cluster_gpus": np.maximum(tp * pp * replicas / total - 1.0, 0.0),
        "high_availability": ha,
        # vLLM's SchedulerConfig rejects a token budget below max_num_seqs: a step must give each sequence a token.
        "batched_tokens_per_seq": np.maximum(seqs / tokens - 1.0, 0.0),
    }
    return rules


@dataclass(frozen=True, slots=True)
class Targets:
    """The user's service-level targets; None leaves a target out."""

    max_latency_ms: float | None = None  # on e2e p99
    min_throughput_tps: float | None = None  # output tokens per second, all replicas
    max_ttft_ms: float | None = None  # on TTFT p99
    max_cost_per_hour: float | None = None


def _over(value: FloatArray, limit: float | None) -> FloatArray | None:
    """Relative overshoot of an upper limit; a non-finite value misses the target entirely."""
    if limit is None:
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        overshoot = np.maximum(value / limit - 1.0, 0.0)
    return np.where(np.isfinite(value), overshoot, UNSERVABLE_TARGET_VIOLATION)


def target_violations(
    targets: Targets, throughput: FloatArray, p99_ms: FloatArray, ttft_p99_ms: FloatArray, cost: FloatArray
) -> dict[str, FloatArray]:
    terms: dict[str, FloatArray | None] = {
        "max_latency_ms": _over(p99_ms, targets.max_latency_ms),
        "max_ttft_ms": _over(ttft_p99_ms, targets.max_ttft_ms),
        "max_cost_per_hour": _over(cost, targets.max_cost_per_hour),
        "min_throughput_tps": (
            None
            if targets.min_throughput_tps is None
            else np.maximum(1.0 - throughput / targets.min_throughput_tps, 0.0)
        ),
    }
    return {name: value for name, value in terms.items() if value is not None}


__all__ = [
    "FAILED",
    "MAX_VIOLATION_TERM",
    "MIN_VIOLATION",
    "RUNNABLE_RULES",
    "RUNNABLE_TIER",
    "STRUCTURAL_RULES",
    "STRUCTURAL_TIER",
    "UNSERVABLE_TARGET_VIOLATION",
    "Targets",
    "structural_violations",
    "target_violations",
]
