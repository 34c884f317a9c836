"""Time the HEURISTIC method's two hot paths on a few catalog models.

`memory_breakdown` is what a config search calls once per generation over thousands of candidates; `plan()` answers
a single request. Run: .venv/bin/python bench/heuristic.py [--candidates N] [--repeats N]
"""

import argparse
from functools import partial

import numpy as np
from timing import median_seconds

from budsim.core.architecture import parse_hf_config
from budsim.core.catalog.gpus import find_gpu
from budsim.core.catalog.models import CATALOG_BY_ID
from budsim.core.deployment import DTYPE_CODES, Cluster, ConfigBatch, Workload
from budsim.core.heuristic import PartialConfig, plan
from budsim.core.memory import memory_breakdown, valid_tensor_parallel_sizes
from budsim.core.types import Dtype, Interconnect

MODELS = (
    "meta-llama/Llama-3.1-8B-Instruct",
    "meta-llama/Llama-3.1-70B-Instruct",
    "meta-llama/Llama-3.1-405B-Instruct",
    "Qwen/Qwen3-30B-A3B",
    "google/gemma-2-27b-it",
    "deepseek-ai/DeepSeek-V3",
)


def random_batch(tensor_parallel: list[int], num_layers: int, n: int, rng: np.random.Generator) -> ConfigBatch:
    """A search generation's worth of candidates: every field drawn from the ranges a search would explore."""
    dtypes = [DTYPE_CODES.index(d) for d in (Dtype.BF16, Dtype.FP8, Dtype.INT4)]
    return ConfigBatch(
        tensor_parallel=rng.choice(tensor_parallel, n),
        pipeline_parallel=rng.choice([p for p in (1, 2, 3, 4) if p <= num_layers], n),
        max_num_seqs=rng.choice([8, 16, 32, 64, 128, 256, 512], n),
        max_num_batched_tokens=rng.choice([2048, 4096, 8192, 16384], n),
        gpu_memory_utilization=rng.uniform(0.8, 0.95, n),
        max_model_len=rng.choice([4096, 8192, 32768], n),
        replicas=np.ones(n, dtype=np.int64),
        weight_dtype=rng.choice(dtypes, n),
        kv_cache_dtype=rng.choice(dtypes[:2], n),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()

    gpu = find_gpu("H100-SXM")
    assert gpu is not None
    cluster = Cluster(gpu, 8, 2, Interconnect.INFINIBAND, gpu.interconnect_gbs, 50.0, gpu.cost_per_hour)
    workload = Workload(input_tokens=1000, output_tokens=500, request_rate=5.0)
    rng = np.random.default_rng(0)

    header = f"{'model':<38}{'memory_breakdown':>18}{'per candidate':>15}{'plan()':>11}  plan result (2 x 8 H100)"
    print(f"{args.candidates:,} candidates per memory_breakdown call; medians over {args.repeats} calls")
    print(header)
    print("-" * (len(header) + 10))
    for hf_id in MODELS:
        arch = parse_hf_config(CATALOG_BY_ID[hf_id].config)
        batch = random_batch(valid_tensor_parallel_sizes(arch, 8), arch.num_layers, args.candidates, rng)
        breakdown_s = median_seconds(partial(memory_breakdown, arch, gpu.memory_gb, batch), args.repeats)
        weights = Dtype.FP8 if "DeepSeek" in hf_id else Dtype.BF16
        plan_s = median_seconds(partial(plan, arch, cluster, workload, PartialConfig(), weights), args.repeats * 5)
        chosen = plan(arch, cluster, workload, PartialConfig(), weights).config
        result = f"TP={chosen.tensor_parallel} PP={chosen.pipeline_parallel} x{chosen.replicas} {weights}"
        print(
            f"{hf_id:<38}{breakdown_s * 1e3:>15.2f} ms{breakdown_s / args.candidates * 1e9:>12.0f} ns"
            f"{plan_s * 1e6:>8.0f} µs  {result}"
        )


if __name__ == "__main__":
    main()
