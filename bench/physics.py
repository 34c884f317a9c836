"""How close predictions come to the hardware's physical limits (`core.perf.bounds`), over random questions.

Draws random catalog models x GPUs x engines x request lengths x loads (closed loops of 1-2,048 clients, open loops of
0.05-200 requests/s), each with a batch of random configs (TP, PP, max_num_seqs, token budget, memory utilization,
replicas, weight and KV dtypes), predicts them with both methods (HEURISTIC: the analytical model; REGRESSOR: its
service times corrected by the trained regressor, `MODEL_PATH` or a fresh one) and prints, per method, the worst
ratio to each limit (<= 1 holds) and how many predictions cross any. Then the same for every member and pick of
random optimizations (KV is checked on the simulations, whose requests in service are known).

Run: .venv/bin/python bench/physics.py [--groups N] [--configs K] [--searches S] [--seed S]
"""

import argparse
import time
from dataclasses import replace
from types import SimpleNamespace

import numpy as np

from budsim.cli.render import table
from budsim.core.architecture import ModelArchitecture, parse_hf_config
from budsim.core.calibration import calibrate
from budsim.core.catalog.fabrics import catalog_cluster
from budsim.core.catalog.gpus import GPUS
from budsim.core.catalog.models import CATALOG_MODELS
from budsim.core.deployment import DTYPE_CODES, Cluster, ConfigBatch, Workload
from budsim.core.errors import CoreError
from budsim.core.memory import memory_breakdown, valid_tensor_parallel_sizes
from budsim.core.optimization import (
    Choice,
    Constraints,
    OptimizationProblem,
    SearchSettings,
    heuristic_deployment,
    search_deployment,
)
from budsim.core.perf.bounds import bound_ratios, physical_limits
from budsim.core.perf.serving import predict
from budsim.core.predictors import ResidualRegressor
from budsim.core.search import ClusterOption, Targets
from budsim.core.types import Dtype, Engine, Method
from budsim.regressor.training import DEFAULT_MODEL, load_or_train

BOUNDS = ("compute", "decode", "prefill", "kv", "rate", "little")
ARCHS = [parse_hf_config(m.config) for m in CATALOG_MODELS]
PROMPTS = (32, 128, 512, 1024, 2048, 4096, 8192)
OUTPUTS = (1, 16, 64, 128, 256, 1024)
CLIENTS = (1, 2, 8, 32, 128, 512, 1024, 2048)
RATES = (0.05, 0.5, 2.0, 10.0, 50.0, 200.0)
ROUNDED = 1e-2


class Tally:
    """Worst ratio per limit and predictions beyond any (by more than `tolerance`), for one method."""

    def __init__(self, tolerance: float = 1e-9) -> None:
        self.tolerance = tolerance
        self.cases = 0
        self.beyond = 0
        self.worst = dict.fromkeys(BOUNDS, 0.0)

    def add(self, ratios: dict[str, np.ndarray]) -> None:
        n = len(next(iter(ratios.values())))
        self.cases += n
        over = np.zeros(n, dtype=bool)
        for name, values in ratios.items():
            self.worst[name] = max(self.worst[name], float(np.max(values)))
            over |= values > 1.0 + self.tolerance
        self.beyond += int(over.sum())

    def row(self, label: str) -> tuple[object, ...]:
        return (label, self.cases, *(f"{self.worst[name]:.4f}" for name in BOUNDS), self.beyond)


def _workload(rng: np.random.Generator) -> Workload:
    prompt, output = int(rng.choice(PROMPTS)), int(rng.choice(OUTPUTS))
    if rng.random() < 0.6:
        return Workload(prompt, output, concurrency=int(rng.choice(CLIENTS)))
    return Workload(prompt, output, request_rate=float(rng.choice(RATES)))


def _configs(rng: np.random.Generator, arch: ModelArchitecture, cluster: Cluster, k: int, length: int) -> ConfigBatch:
    tps = np.array(valid_tensor_parallel_sizes(arch, cluster.gpus_per_node))
    tp = rng.choice(tps, k)
    pp = np.minimum(rng.choice([1, 1, 2, 4], k), arch.num_layers)
    replicas = np.maximum(np.minimum(rng.integers(1, 4, k), cluster.total_gpus // (tp * pp)), 1)
    weights = rng.choice([DTYPE_CODES.index(d) for d in Dtype], k)
    return ConfigBatch(
        tensor_parallel=tp,
        pipeline_parallel=pp,
        max_num_seqs=rng.choice([16, 64, 256, 1024], k),
        max_num_batched_tokens=rng.choice([2048, 8192, 16384], k),
        gpu_memory_utilization=rng.uniform(0.8, 0.95, k),
        max_model_len=np.full(k, length),
        replicas=replicas,
        weight_dtype=weights,
        kv_cache_dtype=np.where(rng.random(k) < 0.3, DTYPE_CODES.index(Dtype.FP8), DTYPE_CODES.index(Dtype.BF16)),
    )


def simulations(rng: np.random.Generator, regressor: ResidualRegressor, groups: int, k: int) -> dict[str, Tally]:
    tallies = {"HEURISTIC": Tally(), "REGRESSOR": Tally()}
    for _ in range(groups):
        arch = ARCHS[rng.integers(len(ARCHS))]
        cluster = catalog_cluster(GPUS[rng.choice(sorted(GPUS))], 8, int(rng.integers(1, 3)))
        engine, workload = Engine(rng.choice([e.value for e in Engine])), _workload(rng)
        batch = _configs(rng, arch, cluster, k, max(4096, workload.input_tokens + workload.output_tokens))
        kv = memory_breakdown(arch, cluster.gpu.usable_memory_gb, batch).kv_tokens
        limits = physical_limits(arch, cluster.gpu, batch, workload, engine, kv)
        analytical = predict(arch, cluster, batch, workload, engine, kv)
        corrected = calibrate(regressor, arch, cluster, batch, workload, engine, analytical, kv).metrics
        tallies["HEURISTIC"].add(bound_ratios(limits, analytical, workload))
        tallies["REGRESSOR"].add(bound_ratios(limits, corrected, workload))
    return tallies


def _as_metrics(choice: Choice) -> SimpleNamespace:
    """A front member's reported metrics under `bound_ratios`' names (requests in service are not reported)."""

    def value(name: str) -> float:
        reported = getattr(choice.metrics, name)
        return np.inf if reported is None else float(reported)

    return SimpleNamespace(
        ttft_mean_ms=value("ttft_mean_ms"),
        ttft_p50_ms=value("ttft_p50_ms"),
        ttft_p99_ms=value("ttft_p99_ms"),
        tpot_ms=value("tpot_ms"),
        e2e_mean_ms=value("e2e_latency_mean_ms"),
        total_tokens_per_s=choice.metrics.total_tokens_per_s or 0.0,
        requests_per_s=choice.metrics.requests_per_s or 0.0,
        running_batch=0.0,
    )


def optimizations(rng: np.random.Generator, regressor: ResidualRegressor, searches: int) -> dict[str, Tally]:
    # Answers report metrics rounded to 4 decimals: a rate of 0.0123 requests/s is 0.4% coarse.
    tallies = {"HEURISTIC": Tally(ROUNDED), "REGRESSOR": Tally(ROUNDED)}
    for index in range(searches):
        arch = ARCHS[rng.integers(len(ARCHS))]
        options = [
            ClusterOption(catalog_cluster(GPUS[name], 8), name) for name in rng.choice(sorted(GPUS), 2, replace=False)
        ]
        engine, workload = Engine(rng.choice([e.value for e in Engine])), _workload(rng)
        dtypes = [Dtype(d) for d in rng.choice([d.value for d in Dtype], 2, replace=False)]
        constraints = Constraints(max_replicas=4)
        try:
            problem = OptimizationProblem(
                arch, tuple(options), tuple(dtypes), workload, engine, Method.REGRESSOR, Targets(), constraints,
                SearchSettings(population=24, generations=8, timeout_s=60.0, seed=index),
            )  # fmt: skip
            outcomes = {
                "REGRESSOR": search_deployment(problem, regressor=regressor),
                "HEURISTIC": heuristic_deployment(replace(problem, method=Method.HEURISTIC)),
            }
        except CoreError:
            continue
        by_label = {option.label: option.cluster for option in options}
        for method, outcome in outcomes.items():
            for choice in (*outcome.pareto, *((outcome.best,) if outcome.best else ())):
                cluster = by_label[choice.cluster_label]
                batch = ConfigBatch.single(choice.config)
                kv = memory_breakdown(arch, cluster.gpu.usable_memory_gb, batch).kv_tokens
                limits = physical_limits(arch, cluster.gpu, batch, workload, engine, kv)
                tallies[method].add(bound_ratios(limits, _as_metrics(choice), workload))  # type: ignore[arg-type]
    return tallies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=500, help="random (model, GPU, engine, workload) questions")
    parser.add_argument("--configs", type=int, default=24, help="random configs per question")
    parser.add_argument("--searches", type=int, default=40, help="random optimizations per method")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    regressor = load_or_train(DEFAULT_MODEL)
    rng = np.random.default_rng(args.seed)
    headers = ("method", "predictions", *BOUNDS, "beyond any")
    start = time.perf_counter()
    tallies = simulations(rng, regressor, args.groups, args.configs)
    print(f"Simulations: {args.groups} random questions x {args.configs} random configs "
          f"({time.perf_counter() - start:.1f}s); worst ratio to each limit, <= 1 holds")  # fmt: skip
    print(table(headers, [tally.row(method) for method, tally in tallies.items()]))
    start = time.perf_counter()
    tallies = optimizations(rng, regressor, args.searches)
    seconds = time.perf_counter() - start
    print(f"\nOptimizations: {args.searches} random searches per method, every Pareto member and the pick "
          f"({seconds:.1f}s); reported metrics are rounded, so beyond = by more than 1%")  # fmt: skip
    print(table(headers, [tally.row(method) for method, tally in tallies.items()]))


if __name__ == "__main__":
    main()
