"""The discrete space a config search walks, its genome encoding, and how a genome is scored.

A genome is a row of integers, one per gene in `Gene` order, each an index into that gene's option list. Encoding
indices rather than values is what keeps every gene inside its feasible set by construction: crossover swaps
indices and mutation draws indices, so no operator can produce a TP that does not divide the heads or a precision
the user did not allow. What a single gene cannot express (TP x PP x replicas against the chosen cluster's GPUs, a
cache that must fit, the user's latency and cost targets) is a *constraint*: scored as a normalized violation that
the search compares by constraint-dominance (Deb 2000), never folded into the objectives as a penalty.

Scoring is split in two on purpose. The space owns the cross-gene rules (`structural_violations`), so no evaluator
can forget them; an `Evaluator` owns everything that needs a model (memory, serving metrics, targets) and scores a
whole population in one vectorized call. `score` joins the two and turns an evaluator's failure into the worst
possible score, never the best.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import IntEnum
from functools import cached_property
from typing import Protocol

import numpy as np

from budsim.core.architecture import ModelArchitecture
from budsim.core.calibration import Spread, metrics_at, service_spread
from budsim.core.deployment import DTYPE_CODES, Cluster, ConfigBatch, ServingConfig, Workload
from budsim.core.errors import InfeasibleConfigError
from budsim.core.memory import MemoryBreakdown, memory_breakdown, valid_tensor_parallel_sizes
from budsim.core.perf.serving import ServingMetrics
from budsim.core.predictors import VALIDATE_IN_STAGING, Z_P90, ResidualRegressor
from budsim.core.types import BoolArray, Dtype, Engine, FloatArray, IntArray


class Gene(IntEnum):
    """Column of each gene in a genome."""

    TENSOR_PARALLEL = 0
    PIPELINE_PARALLEL = 1
    MAX_NUM_SEQS = 2
    MAX_NUM_BATCHED_TOKENS = 3
    GPU_MEMORY_UTILIZATION = 4
    REPLICAS = 5
    CLUSTER = 6
    WEIGHT_DTYPE = 7


# The batch-shape options span vLLM's useful range: max_num_seqs below 16 wastes a GPU on any realistic load and
# above 1024 only adds CUDA-graph memory; token budgets from vLLM's small-GPU default (2048) to 4x its H100 default.
DEFAULT_MAX_NUM_SEQS = (16, 32, 64, 128, 256, 512, 1024)
DEFAULT_MAX_NUM_BATCHED_TOKENS = (2048, 4096, 8192, 16384, 32768)
# Below 0.8 vLLM leaves KV room unused for no benefit; above 0.95 the non-PyTorch growth it cannot measure at start-up
# (fragmentation, NCCL lazily allocated buffers) makes out-of-memory crashes common in practice.
DEFAULT_GPU_MEMORY_UTILIZATION = (0.80, 0.85, 0.90, 0.95)

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

OBJECTIVES = ("output_tokens_per_s", "e2e_p99_ms", "cost_per_hour")
# +1 maximize, -1 minimize, in OBJECTIVES order.
OBJECTIVE_SENSE = np.array([1.0, -1.0, -1.0])


@dataclass(frozen=True, slots=True)
class ClusterOption:
    """One hardware profile the search may deploy on; `label` names it in answers (e.g. the profile's id)."""

    cluster: Cluster
    label: str


@dataclass(frozen=True)
class SearchSpace:
    """Option lists per gene plus the cross-gene rules; built by `build_space`, which filters the options.

    Not slotted so that the numpy lookup tables below can be cached on the instance.
    """

    clusters: tuple[ClusterOption, ...]
    tensor_parallel: tuple[int, ...]
    pipeline_parallel: tuple[int, ...]
    max_num_seqs: tuple[int, ...]
    max_num_batched_tokens: tuple[int, ...]
    gpu_memory_utilization: tuple[float, ...]
    replicas: tuple[int, ...]
    weight_dtypes: tuple[Dtype, ...]
    max_model_len: int
    kv_cache_dtype: Dtype | None = None  # None: vLLM's "auto", the activation dtype (16-bit) whatever the weights
    max_replicas: int = 10
    max_gpus_per_replica: int = 8
    require_high_availability: bool = False

    def __post_init__(self) -> None:
        for gene in Gene:
            if not self.options(gene):
                raise InfeasibleConfigError(f"search.{gene.name.lower()}", "has no option to choose from")

    def options(self, gene: Gene) -> tuple[object, ...]:
        by_gene: dict[Gene, tuple[object, ...]] = {
            Gene.TENSOR_PARALLEL: self.tensor_parallel,
            Gene.PIPELINE_PARALLEL: self.pipeline_parallel,
            Gene.MAX_NUM_SEQS: self.max_num_seqs,
            Gene.MAX_NUM_BATCHED_TOKENS: self.max_num_batched_tokens,
            Gene.GPU_MEMORY_UTILIZATION: self.gpu_memory_utilization,
            Gene.REPLICAS: self.replicas,
            Gene.CLUSTER: self.clusters,
            Gene.WEIGHT_DTYPE: self.weight_dtypes,
        }
        return by_gene[gene]

    @cached_property
    def sizes(self) -> IntArray:
        """Options per gene: a genome's gene g lies in [0, sizes[g])."""
        return np.array([len(self.options(g)) for g in Gene], dtype=np.int64)

    @property
    def size(self) -> int:
        """Genomes in the space, feasible or not."""
        return math.prod(int(s) for s in self.sizes)

    @cached_property
    def _int_tables(self) -> dict[str, IntArray]:
        """Option values as arrays, so decoding N genomes is one fancy-index per gene."""
        kv = [self._kv_dtype(d) for d in self.weight_dtypes]

        def ints(values: Sequence[int]) -> IntArray:
            return np.array(values, dtype=np.int64)

        return {
            "tp": ints(self.tensor_parallel),
            "pp": ints(self.pipeline_parallel),
            "seqs": ints(self.max_num_seqs),
            "tokens": ints(self.max_num_batched_tokens),
            "replicas": ints(self.replicas),
            "weight": ints([DTYPE_CODES.index(d) for d in self.weight_dtypes]),
            "kv": ints([DTYPE_CODES.index(d) for d in kv]),
            "node": ints([c.cluster.gpus_per_node for c in self.clusters]),
            "total": ints([c.cluster.total_gpus for c in self.clusters]),
        }

    @cached_property
    def _float_tables(self) -> dict[str, FloatArray]:
        return {
            "util": np.array(self.gpu_memory_utilization, dtype=np.float64),
            "price": np.array([c.cluster.cost_per_gpu_hour for c in self.clusters], dtype=np.float64),
        }

    def _kv_dtype(self, weights: Dtype) -> Dtype:
        if self.kv_cache_dtype is not None:
            return self.kv_cache_dtype
        return Dtype.FP16 if weights == Dtype.FP16 else Dtype.BF16

    def table(self, name: str) -> IntArray:
        """Integer option values by name: tp, pp, seqs, tokens, replicas, weight, kv (dtype codes), node, total."""
        return self._int_tables[name]

    def float_table(self, name: str) -> FloatArray:
        """Float option values by name: util, price (per GPU-hour, per cluster option)."""
        return self._float_tables[name]


def build_space(
    arch: ModelArchitecture,
    clusters: Sequence[ClusterOption],
    precisions: Sequence[Dtype],
    *,
    max_model_len: int,
    max_replicas: int = 10,
    max_gpus_per_replica: int = 8,
    require_high_availability: bool = False,
    kv_cache_dtype: Dtype | None = None,
    max_num_seqs: Sequence[int] = DEFAULT_MAX_NUM_SEQS,
    max_num_batched_tokens: Sequence[int] = DEFAULT_MAX_NUM_BATCHED_TOKENS,
    gpu_memory_utilization: Sequence[float] = DEFAULT_GPU_MEMORY_UTILIZATION,
) -> SearchSpace:
    """The space of configs for `arch` on any of `clusters` at any of `precisions`.

    Single-gene feasibility is settled here, once, by filtering options: TP is a power of two that vLLM can shard
    the heads over and that fits the largest node and the per-replica GPU limit; PP never exceeds the layers, the
    per-replica limit or the largest cluster; replicas start at 2 under high availability and never exceed what the
    largest cluster could hold. What depends on two genes is left to `structural_violations`.
    """
    if not clusters:
        raise InfeasibleConfigError("search.clusters", "at least one hardware profile is needed")
    if not precisions:
        raise InfeasibleConfigError("search.precisions", "at least one weight precision is needed")
    if max_gpus_per_replica < 1 or max_replicas < 1:
        raise InfeasibleConfigError("search.constraints", "max_gpus_per_replica and max_replicas must be at least 1")
    widest_node = max(c.cluster.gpus_per_node for c in clusters)
    largest = max(c.cluster.total_gpus for c in clusters)
    tps = tuple(tp for tp in valid_tensor_parallel_sizes(arch, widest_node) if tp <= max_gpus_per_replica)
    if not tps:
        raise InfeasibleConfigError("search.tensorParallelSize", "no TP size shards this model within a node")
    deepest = min(arch.num_layers, max_gpus_per_replica, largest)
    first_replica = 2 if require_high_availability else 1
    return SearchSpace(
        clusters=tuple(clusters),
        tensor_parallel=tps,
        pipeline_parallel=tuple(range(1, deepest + 1)),
        max_num_seqs=tuple(sorted(set(max_num_seqs))),
        max_num_batched_tokens=tuple(sorted(set(max_num_batched_tokens))),
        gpu_memory_utilization=tuple(sorted(set(gpu_memory_utilization))),
        replicas=tuple(range(first_replica, min(max_replicas, largest) + 1)),
        weight_dtypes=tuple(dict.fromkeys(precisions)),
        max_model_len=max_model_len,
        kv_cache_dtype=kv_cache_dtype,
        max_replicas=max_replicas,
        max_gpus_per_replica=max_gpus_per_replica,
        require_high_availability=require_high_availability,
    )


def decode(space: SearchSpace, genomes: IntArray) -> tuple[ConfigBatch, IntArray]:
    """The configs N genomes stand for, and the index of each one's cluster option."""
    g = np.asarray(genomes, dtype=np.int64).reshape(-1, len(Gene))
    t = space.table
    weight = g[:, Gene.WEIGHT_DTYPE]
    batch = ConfigBatch(
        tensor_parallel=t("tp")[g[:, Gene.TENSOR_PARALLEL]],
        pipeline_parallel=t("pp")[g[:, Gene.PIPELINE_PARALLEL]],
        max_num_seqs=t("seqs")[g[:, Gene.MAX_NUM_SEQS]],
        max_num_batched_tokens=t("tokens")[g[:, Gene.MAX_NUM_BATCHED_TOKENS]],
        gpu_memory_utilization=space.float_table("util")[g[:, Gene.GPU_MEMORY_UTILIZATION]],
        max_model_len=np.full(g.shape[0], space.max_model_len, dtype=np.int64),
        replicas=t("replicas")[g[:, Gene.REPLICAS]],
        weight_dtype=t("weight")[weight],
        kv_cache_dtype=t("kv")[weight],
    )
    return batch, g[:, Gene.CLUSTER].copy()


def encode(space: SearchSpace, config: ServingConfig, cluster_index: int = 0) -> IntArray:
    """The genome of `config` on cluster option `cluster_index`; raises if a value is not one of the options."""
    values: dict[Gene, object] = {
        Gene.TENSOR_PARALLEL: config.tensor_parallel,
        Gene.PIPELINE_PARALLEL: config.pipeline_parallel,
        Gene.MAX_NUM_SEQS: config.max_num_seqs,
        Gene.MAX_NUM_BATCHED_TOKENS: config.max_num_batched_tokens,
        Gene.GPU_MEMORY_UTILIZATION: config.gpu_memory_utilization,
        Gene.REPLICAS: config.replicas,
        Gene.CLUSTER: space.clusters[cluster_index],
        Gene.WEIGHT_DTYPE: config.weight_dtype,
    }
    genome = np.empty(len(Gene), dtype=np.int64)
    for gene, value in values.items():
        options = space.options(gene)
        if value not in options:
            raise InfeasibleConfigError(f"search.{gene.name.lower()}", f"{value!r} is not among {options}")
        genome[gene] = options.index(value)
    return genome


def gpu_count(space: SearchSpace, genomes: IntArray) -> IntArray:
    g = np.asarray(genomes, dtype=np.int64).reshape(-1, len(Gene))
    t = space.table
    per_replica = t("tp")[g[:, Gene.TENSOR_PARALLEL]] * t("pp")[g[:, Gene.PIPELINE_PARALLEL]]
    counts: IntArray = per_replica * t("replicas")[g[:, Gene.REPLICAS]]
    return counts


def cost_per_hour(space: SearchSpace, genomes: IntArray) -> FloatArray:
    """Every GPU a deployment holds is paid for: TP x PP x replicas x the chosen cluster's price per GPU-hour."""
    g = np.asarray(genomes, dtype=np.int64).reshape(-1, len(Gene))
    cost: FloatArray = gpu_count(space, g) * space.float_table("price")[g[:, Gene.CLUSTER]]
    return cost


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


# ---------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Evaluation:
    """Scores of N genomes, row for row.

    `objectives` is [N, 3] in OBJECTIVES order (throughput to maximize, p99 latency and cost to minimize), as raw
    values: infinite latency where a config cannot serve. `violations` holds each rule's normalized violation (>= 0);
    a row is feasible when they all are 0. `metrics` carries whatever the evaluator wants to report per row.
    """

    objectives: FloatArray
    violations: Mapping[str, FloatArray]
    metrics: Mapping[str, FloatArray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.objectives.shape[0])

    @cached_property
    def violation(self) -> FloatArray:
        """Total normalized violation per row, as reported; 0 exactly where a row is feasible."""
        total = np.zeros(len(self))
        for values in self.violations.values():
            total = total + values
        return total

    @cached_property
    def severity(self) -> FloatArray:
        """What orders infeasible rows: the total violation lifted by the tier of the worst rule broken."""
        structural = np.zeros(len(self), dtype=bool)
        runnable = np.zeros(len(self), dtype=bool)
        for name, values in self.violations.items():
            if name in STRUCTURAL_RULES:
                structural |= values > 0
            elif name in RUNNABLE_RULES:
                runnable |= values > 0
        lifted: FloatArray = self.violation + np.where(
            structural, STRUCTURAL_TIER, np.where(runnable, RUNNABLE_TIER, 0.0)
        )
        return lifted


class Evaluator(Protocol):
    """Scores a whole population in one call; must not add the space's structural rules (`score` does)."""

    def __call__(self, space: SearchSpace, genomes: IntArray) -> Evaluation: ...


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


_SERVING_FIELDS = tuple(f.name for f in fields(ServingMetrics))


# The metrics targets and objectives read; with low confidence they are read at the pessimistic end of their interval.
JUDGED = ("output_tokens_per_s", "e2e_p99_ms", "ttft_p99_ms")


@dataclass(frozen=True, slots=True)
class _Served:
    """One cluster option's rows: their prediction, the pessimistic end of those judged there, their memory and the
    confidence in them."""

    metrics: ServingMetrics
    cautious: IntArray  # rows judged at their pessimistic end
    pessimistic: ServingMetrics | None  # of the cautious rows
    memory: MemoryBreakdown
    trust: FloatArray


@dataclass(frozen=True, slots=True)
class ServingEvaluator:
    """Memory (`memory_breakdown`) and serving metrics (`predict`) for every row, one call per cluster option.

    With a `regressor` (the REGRESSOR method) the service times are corrected by its learned scales before targets
    are checked, in the same vectorized call (one XGBoost predict per scale and ensemble member), and each row's
    confidence is reported as metric "confidence"; without one, confidence is the analytical model's. A row whose
    confidence is below `caution` is judged at the pessimistic end of its interval (p90 latencies, p10 throughput:
    `JUDGED`, reported as "judged_<metric>"), so a pick never rests on an optimistic extrapolation; None judges
    every row by its point prediction.
    A dataclass rather than a closure so that a search can run in a process pool: it pickles.
    """

    arch: ModelArchitecture
    workload: Workload
    engine: Engine
    targets: Targets = Targets()
    regressor: ResidualRegressor | None = None
    caution: float | None = VALIDATE_IN_STAGING

    def _spread(self, cluster: Cluster, batch: ConfigBatch, kv_tokens: IntArray) -> tuple[Spread, FloatArray]:
        return service_spread(self.regressor, self.arch, cluster, batch, self.workload, self.engine, kv_tokens)

    def _serve(self, cluster: Cluster, batch: ConfigBatch) -> _Served:
        memory = memory_breakdown(self.arch, cluster.gpu.usable_memory_gb, batch)
        kv_tokens = memory.kv_tokens
        spread, trust = self._spread(cluster, batch, kv_tokens)
        cautious = np.flatnonzero(trust < self.caution) if self.caution is not None else np.empty(0, np.int64)
        sides: list[tuple[IntArray | None, float]] = [(None, 0.0)]
        if cautious.size:
            sides.append((cautious, Z_P90))
        answers = metrics_at(self.arch, cluster, batch, self.workload, self.engine, kv_tokens, spread, sides)
        return _Served(answers[0], cautious, answers[1] if cautious.size else None, memory, trust)

    def sides(self, cluster: Cluster, batch: ConfigBatch) -> tuple[ServingMetrics, ServingMetrics]:
        """The optimistic and the pessimistic end of every config's interval (`calibration.metrics_at`)."""
        memory = memory_breakdown(self.arch, cluster.gpu.usable_memory_gb, batch)
        spread, _ = self._spread(cluster, batch, memory.kv_tokens)
        optimistic, pessimistic = metrics_at(
            self.arch, cluster, batch, self.workload, self.engine, memory.kv_tokens, spread,
            [(None, -Z_P90), (None, Z_P90)],
        )  # fmt: skip
        return optimistic, pessimistic

    def __call__(self, space: SearchSpace, genomes: IntArray) -> Evaluation:
        g = np.asarray(genomes, dtype=np.int64).reshape(-1, len(Gene))
        batch, clusters = decode(space, g)
        n = len(batch)
        served: dict[str, FloatArray] = {name: np.empty(n) for name in _SERVING_FIELDS}
        memory: dict[str, FloatArray] = {
            name: np.empty(n) for name in ("weights_gb", "kv_cache_gb", "total_gb", "kv_tokens", "shortfall_gb")
        }
        memory_fits = np.empty(n, dtype=bool)
        budget_gb = np.empty(n)
        trust = np.empty(n)
        judged: dict[str, FloatArray] = {name: np.empty(n) for name in JUDGED}
        for index in np.unique(clusters):
            rows = np.flatnonzero(clusters == index)
            cluster = space.clusters[int(index)].cluster
            sub = batch.take(rows)
            result = self._serve(cluster, sub)
            trust[rows] = result.trust
            for name in _SERVING_FIELDS:
                column = np.asarray(getattr(result.metrics, name), dtype=np.float64)
                served[name][rows] = np.broadcast_to(column, rows.shape)
            for name in JUDGED:
                judged[name][rows] = served[name][rows]
                if result.pessimistic is not None:
                    judged[name][rows[result.cautious]] = getattr(result.pessimistic, name)
            for name in memory:
                memory[name][rows] = getattr(result.memory, name)
            memory_fits[rows] = result.memory.fits
            budget_gb[rows] = sub.gpu_memory_utilization * cluster.gpu.usable_memory_gb

        cost = cost_per_hour(space, g)
        throughput = np.where(memory_fits, judged["output_tokens_per_s"], 0.0)
        p99 = np.where(memory_fits, judged["e2e_p99_ms"], np.inf)
        ttft = np.where(memory_fits, judged["ttft_p99_ms"], np.inf)
        violations = {
            "memory": np.where(memory_fits, 0.0, np.maximum(memory["shortfall_gb"] / budget_gb, MIN_VIOLATION)),
            "request_fits": self._request_violation(space, memory["kv_tokens"], served["fits"] > 0, memory_fits),
            "capacity": self._capacity_violation(served["saturated"] > 0, served["capacity_requests_per_s"]),
            **target_violations(self.targets, throughput, p99, ttft, cost),
        }
        metrics_out = {name: served[name] for name in _SERVING_FIELDS}
        judged_out = zip(JUDGED, (throughput, p99, ttft), strict=True)
        metrics_out.update({f"judged_{name}": values for name, values in judged_out})
        metrics_out.update({f"memory_{name}": values for name, values in memory.items()})
        metrics_out["memory_fits"] = memory_fits.astype(np.float64)
        metrics_out["cost_per_hour"] = cost
        metrics_out["confidence"] = np.where(memory_fits & (served["fits"] > 0), trust, 0.0)
        return Evaluation(
            objectives=np.column_stack([throughput, p99, cost]),
            violations={name: np.minimum(v, MAX_VIOLATION_TERM) for name, v in violations.items()},
            metrics=metrics_out,
        )

    def _request_violation(
        self, space: SearchSpace, kv_tokens: FloatArray, serves: BoolArray, memory_fits: BoolArray
    ) -> FloatArray:
        """A replica whose cache (or max_model_len) cannot hold one whole request serves nothing."""
        need = float(self.workload.input_tokens + self.workload.output_tokens)
        short = np.maximum(1.0 - np.minimum(kv_tokens, space.max_model_len) / need, MIN_VIOLATION)
        return np.where(serves | ~memory_fits, 0.0, short)

    def _capacity_violation(self, saturated: BoolArray, capacity_rps: FloatArray) -> FloatArray:
        """An open loop offered more than the deployment can serve has unbounded queues: infeasible by how much."""
        rate = self.workload.request_rate
        if rate is None:
            return np.zeros(saturated.shape)
        return np.where(saturated, np.maximum(1.0 - capacity_rps / rate, MIN_VIOLATION), 0.0)


def analytical_evaluator(
    arch: ModelArchitecture, workload: Workload, engine: Engine, targets: Targets | None = None
) -> ServingEvaluator:
    """The analytical memory and serving models against `targets` (HEURISTIC, or REGRESSOR without a model)."""
    return ServingEvaluator(arch, workload, engine, targets or Targets())


def calibrated_evaluator(
    arch: ModelArchitecture,
    workload: Workload,
    engine: Engine,
    targets: Targets | None,
    regressor: ResidualRegressor,
) -> ServingEvaluator:
    """The REGRESSOR method's evaluator: analytical models corrected by the residual regressor."""
    return ServingEvaluator(arch, workload, engine, targets or Targets(), regressor)


# ---------------------------------------------------------------- scoring


def _failed_rows(evaluation: Evaluation) -> BoolArray:
    """Rows an evaluator could not score honestly: NaN anywhere, or "feasible" with a non-finite objective."""
    objectives = evaluation.objectives
    bad = np.isnan(objectives).any(axis=1)
    total = evaluation.violation
    bad |= np.isnan(total) | (total < 0)
    bad |= (total == 0) & ~np.isfinite(objectives).all(axis=1)
    failed: BoolArray = bad
    return failed


def _checked(evaluation: Evaluation, n: int) -> Evaluation:
    if evaluation.objectives.shape != (n, len(OBJECTIVES)):
        raise ValueError(f"an evaluator returned objectives of shape {evaluation.objectives.shape}, not ({n}, 3)")
    for name, values in evaluation.violations.items():
        if np.shape(values) != (n,):
            raise ValueError(f"an evaluator returned violation {name!r} of shape {np.shape(values)}, not ({n},)")
    return evaluation


def _bisect(space: SearchSpace, evaluator: Evaluator, genomes: IntArray) -> Evaluation:
    """After a vectorized call raised: score halves, then quarters, ..., so a failing genome fails alone.

    One bad genome among N costs about 2 log2(N) extra calls instead of N.
    """
    n = genomes.shape[0]
    try:
        return _checked(evaluator(space, genomes), n)
    except Exception:  # any failure of a model on a genome makes that genome infeasible, nothing more
        if n == 1:
            return Evaluation(np.array([[0.0, np.inf, np.inf]]), {FAILED: np.array([np.inf])})
    halves = [_bisect(space, evaluator, part) for part in (genomes[: n // 2], genomes[n // 2 :])]
    names = dict.fromkeys(name for half in halves for name in half.violations)
    metrics = dict.fromkeys(name for half in halves for name in half.metrics)

    def joined(name: str, field: str, fill: float) -> FloatArray:
        parts = [getattr(half, field).get(name, np.full(len(half), fill)) for half in halves]
        return np.concatenate(parts).astype(np.float64)

    return Evaluation(
        objectives=np.vstack([half.objectives for half in halves]),
        violations={name: joined(name, "violations", 0.0) for name in names},
        metrics={name: joined(name, "metrics", np.nan) for name in metrics},
    )


def score(space: SearchSpace, evaluator: Evaluator, genomes: IntArray) -> Evaluation:
    """The evaluator's scores plus the space's structural rules, with failures made the worst possible score.

    A genome whose evaluation raises, or comes back NaN, gets throughput 0, infinite latency and cost and an
    infinite `evaluation_failed` violation: it loses to every candidate that was scored, feasible or not.
    """
    g = np.asarray(genomes, dtype=np.int64).reshape(-1, len(Gene))
    n = g.shape[0]
    evaluation = _bisect(space, evaluator, g)
    failed = _failed_rows(evaluation)
    objectives = np.where(failed[:, None], np.array([0.0, np.inf, np.inf]), evaluation.objectives)
    violations = {
        name: np.where(failed, 0.0, np.asarray(values, dtype=np.float64))
        for name, values in evaluation.violations.items()
    }
    violations[FAILED] = np.where(failed, np.inf, violations.get(FAILED, np.zeros(n)))
    violations.update(structural_violations(space, g))
    return Evaluation(objectives=objectives, violations=violations, metrics=dict(evaluation.metrics))


# ---------------------------------------------------------------- answers


@dataclass(frozen=True, slots=True)
class Candidate:
    """One scored config, ready to report."""

    genome: tuple[int, ...]
    config: ServingConfig
    cluster_index: int
    cluster_label: str
    output_tokens_per_s: float
    e2e_p99_ms: float
    cost_per_hour: float
    violation: float  # total normalized violation; 0 when feasible
    violations: dict[str, float]  # the rules it breaks, by how much
    severity: float  # the violation lifted by tier (see STRUCTURAL_TIER): what ranks near misses
    metrics: dict[str, float]

    @property
    def feasible(self) -> bool:
        return self.violation == 0.0

    @property
    def cost_per_million_tokens(self) -> float:
        """Per million output tokens: the quantity the pick rule minimizes."""
        if self.output_tokens_per_s <= 0:
            return math.inf
        return self.cost_per_hour / (self.output_tokens_per_s * 3600.0) * 1e6


def candidate(space: SearchSpace, genome: Sequence[int], evaluation: Evaluation, row: int) -> Candidate:
    g = np.asarray(genome, dtype=np.int64).reshape(1, len(Gene))
    batch, clusters = decode(space, g)
    index = int(clusters[0])
    throughput, p99, cost = (float(v) for v in evaluation.objectives[row])
    return Candidate(
        genome=tuple(int(v) for v in g[0]),
        config=batch.row(0),
        cluster_index=index,
        cluster_label=space.clusters[index].label,
        output_tokens_per_s=throughput,
        e2e_p99_ms=p99,
        cost_per_hour=cost,
        violation=float(evaluation.violation[row]),
        severity=float(evaluation.severity[row]),
        violations={k: float(v[row]) for k, v in evaluation.violations.items() if v[row] > 0},
        metrics={k: float(v[row]) for k, v in evaluation.metrics.items()},
    )


__all__ = [
    "OBJECTIVES",
    "Candidate",
    "ClusterOption",
    "Evaluation",
    "Evaluator",
    "Gene",
    "SearchSpace",
    "ServingEvaluator",
    "Targets",
    "analytical_evaluator",
    "build_space",
    "calibrated_evaluator",
    "candidate",
    "cost_per_hour",
    "decode",
    "encode",
    "score",
    "structural_violations",
]
