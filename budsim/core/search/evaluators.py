"""The evaluator built on core's models: memory, serving metrics and the user's targets, for a whole population.

Kept apart from the space, its rules and `score`, which need no model: the search can be tested and benchmarked
against a cheap stand-in `Evaluator`, and this one is the only place a search touches the serving model.
"""

from dataclasses import dataclass, field, fields

import numpy as np

from budsim.core.architecture import ModelArchitecture
from budsim.core.calibration import MEASURED_GPUS, Spread, metrics_at, service_spread
from budsim.core.deployment import Cluster, ConfigBatch, Workload
from budsim.core.memory import MemoryBreakdown, memory_breakdown
from budsim.core.perf.serving import ServingMetrics
from budsim.core.predictors import VALIDATE_IN_STAGING, Z_P90, ConfidenceBreakdown, ResidualRegressor
from budsim.core.search.constraints import MAX_VIOLATION_TERM, MIN_VIOLATION, Targets, target_violations
from budsim.core.search.scoring import Evaluation
from budsim.core.search.space import Gene, SearchSpace, cost_per_hour, decode
from budsim.core.types import BoolArray, Engine, FloatArray, IntArray

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
    targets: Targets = field(default_factory=Targets)
    regressor: ResidualRegressor | None = None
    caution: float | None = VALIDATE_IN_STAGING
    measured_gpus: frozenset[str] = MEASURED_GPUS  # without a regressor: the GPUs with measured runs

    def _spread(self, cluster: Cluster, batch: ConfigBatch, kv_tokens: IntArray) -> tuple[Spread, ConfidenceBreakdown]:
        return service_spread(
            self.regressor, self.arch, cluster, batch, self.workload, self.engine, kv_tokens, self.measured_gpus
        )

    def _serve(self, cluster: Cluster, batch: ConfigBatch) -> _Served:
        memory = memory_breakdown(self.arch, cluster.gpu.usable_memory_gb, batch)
        kv_tokens = memory.kv_tokens
        spread, breakdown = self._spread(cluster, batch, kv_tokens)
        trust = breakdown.score
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

    def trust(self, cluster: Cluster, batch: ConfigBatch) -> ConfidenceBreakdown:
        """What each config's confidence is the product of: recomputed for an answer's few configs rather than
        carried through every generation of a search, which never reads it."""
        memory = memory_breakdown(self.arch, cluster.gpu.usable_memory_gb, batch)
        _, breakdown = self._spread(cluster, batch, memory.kv_tokens)
        return breakdown

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
    arch: ModelArchitecture,
    workload: Workload,
    engine: Engine,
    targets: Targets | None = None,
    measured_gpus: frozenset[str] = MEASURED_GPUS,
) -> ServingEvaluator:
    """The analytical memory and serving models against `targets` (HEURISTIC, or REGRESSOR without a model), with
    the analytical confidence of `measured_gpus` (`calibration.measured_gpus`)."""
    return ServingEvaluator(arch, workload, engine, targets or Targets(), measured_gpus=measured_gpus)


def calibrated_evaluator(
    arch: ModelArchitecture,
    workload: Workload,
    engine: Engine,
    targets: Targets | None,
    regressor: ResidualRegressor,
) -> ServingEvaluator:
    """The REGRESSOR method's evaluator: analytical models corrected by the residual regressor."""
    return ServingEvaluator(arch, workload, engine, targets or Targets(), regressor)


__all__ = [
    "JUDGED",
    "ServingEvaluator",
    "analytical_evaluator",
    "calibrated_evaluator",
]
