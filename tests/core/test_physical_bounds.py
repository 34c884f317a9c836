"""Specification: no prediction crosses the hardware's physical limits (`perf.bounds`), whatever it is asked.

Hypothesis draws catalog models x GPUs x engines x weight dtypes x TP/PP x request lengths x closed-loop concurrency
(1-2048) or open-loop rates, and every answer a user can read must hold, for both methods: a simulation, and the
pick and every Pareto member of an optimization. The limits:

- compute: total tokens/s x 2 x active non-embedding parameters <= GPUs x dense peak x the achievable fraction;
- decode: TPOT >= the active weight bytes per GPU, stage after stage, / (HBM bandwidth x its achievable fraction);
- prefill: TTFT (mean, p50 and p99) >= the prompt's FLOPs / (TP x PP x peak x the achievable fraction);
- KV: requests in service <= max_num_seqs and what the KV cache holds, and never more than the clients;
- a closed loop completes requests at concurrency / mean request latency (Little's law); an open loop never more
  than it is offered.

Before the regressor's corrections were moved onto service times, the REGRESSOR method broke the compute limit at
high concurrency with long prompts (a TTFT that was mostly slot waiting was corrected, and throughput derived from
it), and both methods broke Little's law by the clients sitting in the engine's front end.
"""

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from budsim.core.architecture import ModelArchitecture, parse_hf_config
from budsim.core.calibration import calibrate
from budsim.core.catalog.fabrics import catalog_cluster
from budsim.core.catalog.gpus import GPUS
from budsim.core.catalog.models import CATALOG_MODELS
from budsim.core.deployment import Cluster, ConfigBatch, ServingConfig, Workload
from budsim.core.errors import CoreError
from budsim.core.heuristic import PartialConfig, plan
from budsim.core.memory import memory_breakdown, valid_tensor_parallel_sizes
from budsim.core.optimization import (
    Choice,
    Constraints,
    OptimizationProblem,
    SearchSettings,
    heuristic_deployment,
    search_deployment,
)
from budsim.core.perf.bounds import physical_limits
from budsim.core.perf.serving import predict
from budsim.core.predictors import ResidualRegressor
from budsim.core.results import Interval, Metrics
from budsim.core.search import ClusterOption, Targets
from budsim.core.simulation import simulate
from budsim.core.types import Dtype, Engine, Method

ARCHS = {m.hf_id: parse_hf_config(m.config) for m in CATALOG_MODELS}
# Reported metrics are rounded to 4 decimals; closed-loop rates and latencies are checked to that precision.
ROUNDING = 1e-4


@dataclass(frozen=True, repr=False)
class Case:
    arch: ModelArchitecture
    cluster: Cluster
    workload: Workload
    engine: Engine
    partial: PartialConfig

    def __repr__(self) -> str:  # what hypothesis prints for a failing example
        return (
            f"Case({self.arch.model_type} {self.arch.param_count / 1e9:.0f}B, {self.cluster.gpu.name} "
            f"x{self.cluster.total_gpus}, {self.workload}, {self.engine.value}, {self.partial})"
        )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    hf_id = draw(st.sampled_from(sorted(ARCHS)))
    arch = ARCHS[hf_id]
    gpu = GPUS[draw(st.sampled_from(sorted(GPUS)))]
    cluster = catalog_cluster(gpu, 8, draw(st.sampled_from([1, 2])))
    prompt = draw(st.sampled_from([32, 128, 512, 1024, 2048, 4096, 8192]))
    output = draw(st.sampled_from([1, 16, 64, 128, 256, 1024]))
    if draw(st.booleans()):
        workload = Workload(prompt, output, concurrency=draw(st.sampled_from([1, 2, 8, 32, 128, 512, 1024, 2048])))
    else:
        workload = Workload(prompt, output, request_rate=draw(st.sampled_from([0.05, 0.5, 2.0, 10.0, 50.0, 200.0])))
    tp = draw(st.sampled_from([None, *valid_tensor_parallel_sizes(arch, 8)]))
    partial = PartialConfig(
        tensor_parallel=tp,
        pipeline_parallel=draw(st.sampled_from([None, 1, 2])) if tp else None,
        max_num_seqs=draw(st.sampled_from([None, 16, 256, 1024])),
        max_num_batched_tokens=draw(st.sampled_from([None, 2048, 8192])),
        weight_dtype=draw(st.sampled_from(list(Dtype))),
    )
    return Case(arch, cluster, workload, draw(st.sampled_from(list(Engine))), partial)


def assert_physical(case: Case, config: ServingConfig, metrics: Metrics, interval: Interval | None = None) -> None:
    """Every limit on one reported answer and on both ends of its interval (Little's law relates one prediction's
    rate and latency, not an interval's ends)."""
    for end in (interval.p10, interval.p90) if interval else ():
        assert_limits(case, config, end)
    assert_limits(case, config, metrics)
    rate = metrics.requests_per_s or 0.0
    if case.workload.concurrency is not None and metrics.e2e_latency_mean_ms is not None:
        clients = float(case.workload.concurrency)
        cycle_s = metrics.e2e_latency_mean_ms / 1e3
        assert rate * cycle_s == pytest.approx(clients, rel=1e-6, abs=ROUNDING * (cycle_s + rate) + 1e-9), "Little"


def assert_limits(case: Case, config: ServingConfig, metrics: Metrics) -> None:
    """The hardware's limits on one set of metric values."""
    batch = ConfigBatch.single(config)
    kv_tokens = memory_breakdown(case.arch, case.cluster.gpu.usable_memory_gb, batch).kv_tokens
    limits = physical_limits(case.arch, case.cluster.gpu, batch, case.workload, case.engine, kv_tokens)
    total = metrics.total_tokens_per_s or 0.0
    assert total <= float(limits.max_total_tokens_per_s[0]) * (1 + 1e-9) + ROUNDING, "compute"
    if metrics.tpot_ms is not None:
        assert metrics.tpot_ms >= float(limits.min_tpot_ms[0]) - ROUNDING, "decode"
    for name in ("ttft_mean_ms", "ttft_p50_ms", "ttft_p99_ms"):
        value = getattr(metrics, name)
        if value is not None:
            assert value >= float(limits.min_ttft_ms[0]) - ROUNDING, f"prefill ({name})"
    rate = metrics.requests_per_s or 0.0
    if case.workload.request_rate is not None:
        assert rate <= case.workload.request_rate * (1 + 1e-9) + ROUNDING, "open loop beyond the offered rate"


def simulated(case: Case, regressor: ResidualRegressor | None) -> None:
    try:
        prediction = simulate(case.arch, case.cluster, case.workload, case.partial, case.engine, regressor)
    except CoreError:
        return  # a layout the model cannot take (PP over too few layers, TP beyond the cluster): refused
    assert_physical(case, prediction.config, prediction.metrics, prediction.interval)
    for name, value in asdict(prediction.metrics).items():
        low, high = getattr(prediction.interval.p10, name), getattr(prediction.interval.p90, name)
        if value is not None and low is not None:
            assert low <= value + ROUNDING, f"p10 of {name} above it"
        if value is not None and high is not None:
            assert value <= high + ROUNDING, f"p90 of {name} below it"


@given(case=cases())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_heuristic_simulation_stays_within_the_hardware(case: Case) -> None:
    simulated(case, None)


@given(case=cases())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_regressor_simulation_stays_within_the_hardware(case: Case, regressor: ResidualRegressor) -> None:
    simulated(case, regressor)


@given(case=cases())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_no_request_in_service_overflows_the_kv_cache_or_the_batch_limit(
    case: Case, regressor: ResidualRegressor
) -> None:
    try:
        chosen = plan(case.arch, case.cluster, case.workload, case.partial)
    except CoreError:
        return
    batch = ConfigBatch.single(chosen.config)
    kv_tokens = chosen.memory.kv_tokens
    analytical = predict(case.arch, case.cluster, batch, case.workload, case.engine, kv_tokens)
    corrected = calibrate(regressor, case.arch, case.cluster, batch, case.workload, case.engine, analytical, kv_tokens)
    limits = physical_limits(case.arch, case.cluster.gpu, batch, case.workload, case.engine, kv_tokens)
    for metrics in (analytical, corrected.metrics):
        in_service = float(np.asarray(metrics.running_batch).reshape(-1)[0])
        assert in_service <= float(limits.max_running_batch[0]) + 1e-9
        if case.workload.concurrency is not None:
            assert in_service <= case.workload.concurrency / chosen.config.replicas + 1e-9


def _choices_hold(case: Case, choices: tuple[Choice, ...], by_label: dict[str, Cluster]) -> None:
    for choice in choices:
        assert_physical(Case(case.arch, by_label[choice.cluster_label], case.workload, case.engine, case.partial),
                        choice.config, choice.metrics, choice.interval)  # fmt: skip


@given(case=cases(), seed=st.integers(0, 3))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_member_of_an_optimization_answer_stays_within_the_hardware(
    case: Case, seed: int, regressor: ResidualRegressor
) -> None:
    options = [ClusterOption(case.cluster, "drawn"), ClusterOption(catalog_cluster(GPUS["H100-SXM"], 8), "h100")]
    by_label = {option.label: option.cluster for option in options}
    dtypes = [case.partial.weight_dtype or Dtype.BF16]
    constraints = Constraints(max_replicas=4)
    try:
        problem = OptimizationProblem(
            case.arch, tuple(options), tuple(dtypes), case.workload, case.engine, Method.REGRESSOR, Targets(),
            constraints, SearchSettings(population=16, generations=4, timeout_s=60.0, seed=seed),
        )  # fmt: skip
        searched = search_deployment(problem, regressor=regressor)
        planned = heuristic_deployment(replace(problem, method=Method.HEURISTIC))
    except CoreError:
        return  # no space to search (requests longer than the model's context)
    for outcome in (searched, planned):
        _choices_hold(case, outcome.pareto, by_label)
        if outcome.best is not None:
            _choices_hold(case, (outcome.best,), by_label)
            assert all(math.isfinite(v) for v in asdict(outcome.best.metrics).values() if v is not None)
