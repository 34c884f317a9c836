"""Speed of the performance model: 10,000 candidates per `predict` call, and the step-level simulation per scenario.

The search scores thousands of candidate configs per generation, so `perf.serving.predict` must evaluate 10,000 of
one model on one cluster in under 50 ms on one core; the simulation (`perf.scheduler_sim.simulate`) is a reference
and a one-config tool, reported per scenario.

Run: .venv/bin/python bench/perf.py [--repeats N]
"""

import argparse
import statistics
import time

import numpy as np
from timing import percentile, samples_seconds

from budsim.cli.render import table
from budsim.core.architecture import parse_hf_config
from budsim.core.catalog.gpus import GPUS
from budsim.core.catalog.models import CATALOG_BY_ID
from budsim.core.deployment import DTYPE_CODES, Cluster, ConfigBatch, ServingConfig, Workload
from budsim.core.perf.engines import engine_profile
from budsim.core.perf.scheduler_sim import simulate
from budsim.core.perf.serving import predict
from budsim.core.perf.step import replica_cost
from budsim.core.types import Dtype, Engine, Interconnect

CANDIDATES = 10_000
MODELS = (
    "meta-llama/Llama-3.1-8B-Instruct",
    "meta-llama/Llama-3.1-70B-Instruct",
    "Qwen/Qwen3-235B-A22B",
    "deepseek-ai/DeepSeek-V3",
    "openai/gpt-oss-120b",
)
WORKLOADS = {
    "closed c=128": Workload(2048, 512, concurrency=128),
    "open 20 req/s": Workload(2048, 512, request_rate=20.0),
}
H200 = GPUS["H200-SXM"]
CLUSTER = Cluster(H200, 8, 4, Interconnect.NVLINK, 900.0, 100.0, H200.cost_per_hour)


def candidates(seed: int = 0) -> tuple[ConfigBatch, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = CANDIDATES
    batch = ConfigBatch(
        tensor_parallel=rng.choice([1, 2, 4, 8], n),
        pipeline_parallel=rng.choice([1, 2, 4], n),
        max_num_seqs=rng.choice([64, 128, 256, 512, 1024], n),
        max_num_batched_tokens=rng.choice([2048, 4096, 8192, 16384], n),
        gpu_memory_utilization=rng.uniform(0.8, 0.95, n),
        max_model_len=np.full(n, 32768),
        replicas=rng.choice([1, 2, 4], n),
        weight_dtype=rng.choice([DTYPE_CODES.index(d) for d in (Dtype.BF16, Dtype.FP8, Dtype.INT4)], n),
        kv_cache_dtype=rng.choice([DTYPE_CODES.index(d) for d in (Dtype.BF16, Dtype.FP8)], n),
    )
    return batch, rng.integers(20_000, 2_000_000, n)


def vectorised(repeats: int) -> list[tuple[str, str, float, float, float]]:
    batch, kv = candidates()
    rows = []
    for hf_id in MODELS:
        arch = parse_hf_config(CATALOG_BY_ID[hf_id].config)
        for name, workload in WORKLOADS.items():
            times = samples_seconds(lambda a=arch, w=workload: predict(a, CLUSTER, batch, w, Engine.VLLM, kv), repeats)
            rows.append((hf_id, name, min(times) * 1e3, statistics.median(times) * 1e3, percentile(times, 99) * 1e3))
    return rows


# (model, tp, weights, engine, input, output, arrivals)
SCENARIOS = (
    ("meta-llama/Llama-3.1-8B-Instruct", 1, Dtype.BF16, Engine.VLLM, 1024, 256, {"concurrency": 64}),
    ("meta-llama/Llama-3.1-70B-Instruct", 4, Dtype.FP8, Engine.VLLM, 2048, 512, {"request_rate": 4.0}),
    ("Qwen/Qwen3-235B-A22B", 8, Dtype.FP8, Engine.SGLANG, 1024, 256, {"request_rate": 6.0}),
    ("deepseek-ai/DeepSeek-V3", 8, Dtype.FP8, Engine.TRTLLM, 4096, 1024, {"concurrency": 128}),
    ("openai/gpt-oss-120b", 2, Dtype.INT4, Engine.VLLM, 8192, 128, {"concurrency": 32}),
)


def simulated(requests: int) -> list[tuple[str, str, str, int, int, float, float]]:
    rows = []
    for hf_id, tp, weights, engine, prompt, output, arrivals in SCENARIOS:
        arch = parse_hf_config(CATALOG_BY_ID[hf_id].config)
        config = ServingConfig(tp, 1, 256, 8192, 0.9, 32768, 1, weights, Dtype.BF16)
        cost = replica_cost(arch, CLUSTER, ConfigBatch.single(config), engine_profile(engine)).at(0)
        start = time.perf_counter()
        result = simulate(cost, engine_profile(engine), max_num_seqs=256, max_num_batched_tokens=8192,
                          kv_tokens=500 * (prompt + output), input_tokens=prompt, output_tokens=output,
                          num_requests=requests, warmup_requests=requests // 5, **arrivals)  # fmt: skip
        seconds = time.perf_counter() - start
        load = ", ".join(f"{k}={v}" for k, v in arrivals.items())
        per_step_us = seconds / result.steps * 1e6
        rows.append((hf_id, engine.value, f"{prompt}/{output} {load}", requests, result.steps, seconds, per_step_us))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000, help="requests per simulated scenario")
    args = parser.parse_args()
    print(f"predict(): {CANDIDATES:,} candidate configs per call, H200 x 8 x 4 nodes, vLLM, {args.repeats} repeats")
    rows = vectorised(args.repeats)
    print(table(("model", "workload", "min ms", "median ms", "p99 ms"), rows))
    print(f"\nsimulate(): one replica, {args.requests} requests per scenario (first fifth is warm-up)")
    print(table(("model", "engine", "workload", "requests", "steps", "seconds", "us/step"), simulated(args.requests)))


if __name__ == "__main__":
    main()
