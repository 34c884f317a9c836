"""Where judging low-confidence configs at the pessimistic end of their interval changes an optimization's pick.

For each scenario (model, GPU choices, workload, targets) the REGRESSOR search runs twice with the same seed: judging
every config by its point prediction, and as BudSim does, judging configs whose confidence is below 0.7 by their
p90 latencies and p10 throughput (`ServingEvaluator.caution`). Prints both picks, the pick's point and interval, and
whether the targets are met. A pick that changes is one the point prediction would have recommended on an optimistic
extrapolation.

Run: .venv/bin/python bench/uncertainty.py [--seed S]
"""

import argparse
from dataclasses import dataclass, replace

from budsim.cli.render import table
from budsim.core.architecture import parse_hf_config
from budsim.core.catalog.fabrics import catalog_cluster
from budsim.core.catalog.gpus import GPUS
from budsim.core.catalog.models import CATALOG_BY_ID
from budsim.core.deployment import Workload
from budsim.core.optimization import (
    Choice,
    Constraints,
    OptimizationOutcome,
    OptimizationProblem,
    SearchSettings,
    search_deployment,
)
from budsim.core.predictors import VALIDATE_IN_STAGING, ResidualRegressor
from budsim.core.search import ClusterOption, Targets
from budsim.core.search.evaluators import calibrated_evaluator
from budsim.core.types import Dtype, Engine, Method
from budsim.regressor.training import DEFAULT_MODEL, load_or_train


@dataclass(frozen=True)
class Scenario:
    model: str
    gpus: tuple[str, ...]
    workload: Workload
    targets: Targets
    engine: Engine = Engine.VLLM


SCENARIOS = (
    Scenario("meta-llama/Llama-3.1-8B-Instruct", ("H100-SXM",), Workload(1024, 256, concurrency=64),
             Targets(max_ttft_ms=300)),
    Scenario("meta-llama/Llama-3.1-8B-Instruct", ("L40S", "A100-80GB-SXM"), Workload(1024, 256, concurrency=64),
             Targets(max_ttft_ms=500, max_latency_ms=8000)),
    Scenario("meta-llama/Llama-3.1-70B-Instruct", ("H100-SXM", "A100-80GB-SXM"), Workload(2048, 256, concurrency=32),
             Targets(max_ttft_ms=1500, max_latency_ms=15000)),
    Scenario("meta-llama/Llama-3.1-70B-Instruct", ("MI300X", "L40S"), Workload(2048, 256, concurrency=32),
             Targets(max_latency_ms=12000)),
    Scenario("Qwen/Qwen3-32B", ("H100-SXM",), Workload(4096, 512, concurrency=128), Targets(max_ttft_ms=2000),
             Engine.TRTLLM),
    Scenario("Qwen/Qwen3-32B", ("L40S", "A10G"), Workload(1024, 256, request_rate=4.0), Targets(max_ttft_ms=1000)),
    Scenario("mistralai/Mixtral-8x7B-Instruct-v0.1", ("A100-80GB-SXM", "H100-PCIe"),
             Workload(1024, 256, concurrency=64),
             Targets(min_throughput_tps=3000, max_latency_ms=10000)),
    Scenario("google/gemma-2-27b-it", ("L40S", "H100-SXM"), Workload(512, 512, request_rate=2.0),
             Targets(max_latency_ms=8000), Engine.SGLANG),
)  # fmt: skip


def _run(scenario: Scenario, regressor: ResidualRegressor, caution: float | None, seed: int) -> OptimizationOutcome:
    arch = parse_hf_config(CATALOG_BY_ID[scenario.model].config)
    options = [ClusterOption(catalog_cluster(GPUS[name], 8), name) for name in scenario.gpus]
    evaluator = replace(
        calibrated_evaluator(arch, scenario.workload, scenario.engine, scenario.targets, regressor), caution=caution
    )
    problem = OptimizationProblem(arch, tuple(options), (Dtype.BF16, Dtype.FP8), scenario.workload, scenario.engine,
                                  Method.REGRESSOR, scenario.targets, Constraints(),
                                  SearchSettings(population=40, generations=30, seed=seed))  # fmt: skip
    return search_deployment(problem, evaluator=evaluator, regressor=regressor)


def _describe(choice: Choice | None) -> str:
    if choice is None:
        return "-"
    c = choice.config
    return (f"{choice.cluster_label} tp{c.tensor_parallel} pp{c.pipeline_parallel} x{c.replicas} "
            f"seqs {c.max_num_seqs} {c.weight_dtype.value}")  # fmt: skip


def _interval(choice: Choice | None, name: str) -> str:
    if choice is None or choice.interval is None:
        return "-"
    low, point, high = (
        getattr(metrics, name) for metrics in (choice.interval.p10, choice.metrics, choice.interval.p90)
    )
    return f"{low or 0:,.0f} / {point or 0:,.0f} / {high or 0:,.0f}" if high is not None else f"{point or 0:,.0f} / inf"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    regressor = load_or_train(DEFAULT_MODEL)
    rows, changed = [], 0
    for scenario in SCENARIOS:
        point = _run(scenario, regressor, None, args.seed)
        cautious = _run(scenario, regressor, VALIDATE_IN_STAGING, args.seed)
        moved = _describe(point.best) != _describe(cautious.best)
        changed += moved
        label = f"{scenario.model.split('/')[-1]} on {'/'.join(scenario.gpus)} ({scenario.engine.value})"
        rows.append(
            (
                label,
                "point",
                _describe(point.best),
                point.meets_targets,
                f"{point.confidence:.2f}",
                _interval(point.best, "ttft_p99_ms"),
                _interval(point.best, "output_tokens_per_s"),
                "",
            )
        )
        rows.append(("", "cautious", _describe(cautious.best), cautious.meets_targets, f"{cautious.confidence:.2f}",
                     _interval(cautious.best, "ttft_p99_ms"), _interval(cautious.best, "output_tokens_per_s"),
                     "changed" if moved else ""))  # fmt: skip
    print("REGRESSOR picks judged by their point prediction vs. by the pessimistic end where confidence < 0.7")
    print("intervals: p10 / point / p90")
    headers = ("scenario", "judged", "pick", "meets", "conf", "TTFT p99 ms", "output tok/s", "")
    print(table(headers, rows))
    print(f"\npicks changed in {changed} of {len(SCENARIOS)} scenarios")


if __name__ == "__main__":
    main()
