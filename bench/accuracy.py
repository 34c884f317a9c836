"""How far the analytical model lands from measured serving runs (data/benchmarks.csv).

For every row whose model architecture is known (catalog or bench/dataset_models.py) and whose GPU is in the catalog,
the row's deployment is rebuilt and predicted:

- closed-loop serving rows (aiconfigurator, agg mode): `perf.serving.predict` at the row's concurrency, with the KV
  capacity from `core.memory.memory_breakdown` (gpu_memory_utilization 0.9, max_model_len = ISL + OSL) and the
  engine's default token budget and max_num_seqs (raised to the concurrency where a benchmark needed more);
- static-batch rows (Splitwise): `perf.step` directly, TTFT = one prefill step of the whole batch, TPOT = one decode
  step at the mean context.

Approximations forced by what BudSim can express today (each printed as its own slice):
- parallelism: every GPU of the replica is treated as one tensor-parallel group of gpu_count ranks; rows that used
  attention data parallelism or expert parallelism (or more MoE ranks than attention TP ranks) are marked
  "ep/dp as tp";
- FP4 weights (NVFP4 on Blackwell, MXFP4 gpt-oss) are run as INT4 weight-only (same bytes, BF16 compute rate), since
  `Dtype` has no FP4 yet: marked "fp4 as int4";
- KV cache dtype is not recorded by aiconfigurator: BF16 ("auto") is assumed.
The "low load" slice holds the closed-loop rows whose clients' prompts fit one step's token budget together
(concurrency x ISL <= max_num_batched_tokens): there the waves of prompts that fixed-length closed loops send in step
cannot queue behind each other, and TTFT is the steady-state queueing model's alone.

Prints the median and p90 absolute percentage error of output throughput, TTFT and TPOT per dataset and engine, then
the slices above, then the engine pairings `perf/engines.py` cites.

Run: .venv/bin/python bench/accuracy.py [--csv data/benchmarks.csv] [--by-model]
"""

import argparse
import csv
import math
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dataset_models import dataset_config

from budsim.core.architecture import ModelArchitecture, parse_hf_config
from budsim.core.catalog.fabrics import INTER_NODE_GBS
from budsim.core.catalog.gpus import GpuSpec, find_gpu
from budsim.core.deployment import Cluster, ConfigBatch, ServingConfig, Workload
from budsim.core.memory import memory_breakdown
from budsim.core.perf.engines import engine_profile
from budsim.core.perf.serving import predict
from budsim.core.perf.step import decode_load, prefill_load, replica_cost, step_time
from budsim.core.types import Dtype, Engine, Interconnect

ROOT = Path(__file__).resolve().parent.parent
RACK_SCALE = {"GB200", "GB300"}  # one NVLink domain of 72 GPUs
WEIGHT_DTYPES = {"BF16": Dtype.BF16, "FP16": Dtype.FP16, "FP8": Dtype.FP8, "INT4": Dtype.INT4, "FP4": Dtype.INT4}
GPU_MEMORY_UTILIZATION = 0.9


@dataclass(frozen=True, slots=True)
class Outcome:
    dataset: str
    engine: str
    model: str
    slices: tuple[str, ...]
    measured: tuple[float, float, float]  # throughput, ttft, tpot
    predicted: tuple[float, float, float]


def _cluster(gpu: GpuSpec, gpu_count: int) -> Cluster:
    per_node = 72 if gpu.name in RACK_SCALE else 8
    nodes = max(1, math.ceil(gpu_count / per_node))
    inter = INTER_NODE_GBS[Interconnect.INFINIBAND]
    return Cluster(gpu, per_node, nodes, Interconnect.NVLINK, gpu.interconnect_gbs, inter, gpu.cost_per_hour)


def _usable_gb(gpu: GpuSpec) -> float:
    usable = getattr(gpu, "usable_memory_gb", None)  # the driver-visible capacity, where the catalog states it
    return float(usable) if usable is not None else gpu.memory_gb


def _dataset(row: dict[str, str]) -> str:
    if row["source"].startswith("Mutinifni"):
        return "splitwise (power-capped)" if "power-capped" in row["source"] else "splitwise"
    return "aiconfigurator agg"


def _predict_row(row: dict[str, str], arch: ModelArchitecture, gpu: GpuSpec) -> tuple[float, float, float] | None:
    engine = Engine(row["engine"])
    profile = engine_profile(engine)
    gpus = int(row["gpu_count"])
    prompt, output, concurrency = int(row["input_tokens"]), int(row["output_tokens"]), int(row["concurrency"])
    kv = Dtype(row["kv_dtype"]) if row["kv_dtype"] else Dtype.BF16
    config = ServingConfig(
        tensor_parallel=gpus,
        pipeline_parallel=1,
        max_num_seqs=max(profile.default_max_num_seqs, concurrency),
        max_num_batched_tokens=profile.default_max_num_batched_tokens,
        gpu_memory_utilization=GPU_MEMORY_UTILIZATION,
        max_model_len=prompt + output,
        replicas=1,
        weight_dtype=WEIGHT_DTYPES[row["precision"]],
        kv_cache_dtype=kv,
    )
    batch = ConfigBatch.single(config)
    cluster = _cluster(gpu, gpus)
    if row["static_batch"] == "1":
        cost = replica_cost(arch, cluster, batch, profile)
        window = cost.window or None
        ttft = float(step_time(cost, prefill_load(float(prompt), 0.0, window, seqs=float(concurrency))).total_s[0])
        context = prompt + output / 2.0
        tpot = float(step_time(cost, decode_load(float(concurrency), context, window)).total_s[0])
        e2e = ttft + tpot * (output - 1)
        return concurrency * output / e2e, ttft * 1e3, tpot * 1e3
    memory = memory_breakdown(arch, _usable_gb(gpu), batch)
    if not bool(memory.fits[0]):
        return None
    metrics = predict(arch, cluster, batch, Workload(prompt, output, concurrency=concurrency), engine, memory.kv_tokens)
    point = metrics.at(0)
    return float(point.output_tokens_per_s), float(point.ttft_mean_ms), float(point.tpot_ms)


def evaluate(path: Path) -> tuple[list[Outcome], dict[str, int]]:
    outcomes: list[Outcome] = []
    skipped: dict[str, int] = defaultdict(int)
    archs: dict[str, ModelArchitecture | None] = {}
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        model = row["model"]
        if model not in archs:
            config = dataset_config(model)
            archs[model] = parse_hf_config(config) if config else None
        arch = archs[model]
        gpu = find_gpu(row["gpu"])
        if arch is None:
            skipped[f"architecture unknown: {model}"] += 1
            continue
        if gpu is None:
            skipped[f"GPU not in catalog: {row['gpu']}"] += 1
            continue
        predicted = _predict_row(row, arch, gpu)
        if predicted is None:
            skipped["does not fit memory per core.memory"] += 1
            continue
        slices = []
        if row["precision"] == "FP4":
            slices.append("fp4 as int4")
        if int(row["attention_dp"]) > 1 or int(row["moe_ep"]) > 1 or int(row["gpu_count"]) > int(row["tp"]):
            slices.append("ep/dp as tp")
        if not slices:
            slices.append("expressible")
        engine = engine_profile(Engine(row["engine"]))
        prompt_tokens_in_flight = int(row["concurrency"]) * int(row["input_tokens"])
        if row["static_batch"] == "0" and prompt_tokens_in_flight <= engine.default_max_num_batched_tokens:
            slices.append("low load")
        measured = (float(row["output_tokens_per_s"]), float(row["ttft_ms"]), float(row["tpot_ms"]))
        outcomes.append(Outcome(_dataset(row), row["engine"], model, tuple(slices), measured, predicted))
    return outcomes, skipped


def _ape(outcomes: list[Outcome], index: int) -> np.ndarray:
    values = [abs(o.predicted[index] / o.measured[index] - 1.0) * 100 for o in outcomes]
    return np.array([v for v in values if math.isfinite(v)])


def _bias(outcomes: list[Outcome], index: int) -> float:
    ratios = [o.predicted[index] / o.measured[index] for o in outcomes]
    finite = [r for r in ratios if math.isfinite(r) and r > 0]
    return float(np.exp(np.median(np.log(finite)))) if finite else float("nan")


def report(groups: dict[tuple[str, ...], list[Outcome]], title: str, header: tuple[str, ...]) -> None:
    print(f"\n{title}")
    labels = " | ".join(f"{h:<24}" if i == 0 else f"{h:<8}" for i, h in enumerate(header))
    print(f"{labels} | {'rows':>5} | {'throughput med/p90':>19} | {'TTFT med/p90':>15} | {'TPOT med/p90':>15} | bias x")
    for key in sorted(groups):
        items = groups[key]
        cells = []
        for index in range(3):
            ape = _ape(items, index)
            cells.append(f"{np.median(ape):6.1f}% /{np.percentile(ape, 90):6.1f}%" if ape.size else "n/a")
        bias = " ".join(f"{_bias(items, i):.2f}" for i in range(3))
        name = " | ".join(f"{k:<24}" if i == 0 else f"{k:<8}" for i, k in enumerate(key))
        print(f"{name} | {len(items):5d} | {cells[0]:>19} | {cells[1]:>15} | {cells[2]:>15} | {bias}")


def engine_pairs(path: Path) -> None:
    """Measured TTFT/TPOT ratios between engines on rows identical in everything else (the engines.py citation)."""
    with path.open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["static_batch"] == "0"]
    same = defaultdict(dict)
    for row in rows:
        model = row["model"].replace("DeepSeek-R1", "DeepSeek-V3")
        key = (model, row["gpu"], row["precision"], row["tp"], row["attention_dp"], row["moe_tp"], row["moe_ep"],
               row["input_tokens"], row["output_tokens"], row["concurrency"])  # fmt: skip
        same[key].setdefault(row["engine"], row)
    print("\nEngine pairings (same model, GPU, precision, parallelism, ISL/OSL, concurrency)")
    for first, second in (("TRTLLM", "VLLM"), ("SGLANG", "TRTLLM"), ("SGLANG", "VLLM")):
        for precision in (None, "FP8", "FP4"):
            tpot, ttft = [], []
            for key, by_engine in same.items():
                if first in by_engine and second in by_engine and (precision is None or key[2] == precision):
                    a, b = by_engine[first], by_engine[second]
                    tpot.append(float(a["tpot_ms"]) / float(b["tpot_ms"]))
                    ttft.append(float(a["ttft_ms"]) / float(b["ttft_ms"]))
            label = f"{first}/{second} {precision or 'all'}"
            if tpot:
                print(
                    f"  {label:<20} pairs {len(tpot):4d}  TPOT ratio median {np.median(tpot):.3f} "
                    f"(p25 {np.percentile(tpot, 25):.2f}, p75 {np.percentile(tpot, 75):.2f})  "
                    f"TTFT ratio median {np.median(ttft):.3f}"
                )
            else:
                print(f"  {label:<20} pairs    0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=ROOT / "data" / "benchmarks.csv")
    parser.add_argument("--by-model", action="store_true", help="also break the errors down by model")
    args = parser.parse_args()
    outcomes, skipped = evaluate(args.csv)
    print(f"rows evaluated: {len(outcomes)}")
    for reason, count in sorted(skipped.items()):
        print(f"  skipped {count:4d}: {reason}")
    print("APE = |predicted / measured - 1|; bias x = median predicted/measured (throughput, TTFT, TPOT)")

    by_engine: dict[tuple[str, ...], list[Outcome]] = defaultdict(list)
    by_slice: dict[tuple[str, ...], list[Outcome]] = defaultdict(list)
    by_model: dict[tuple[str, ...], list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_engine[(outcome.dataset, outcome.engine)].append(outcome)
        by_engine[(outcome.dataset, "all")].append(outcome)
        for name in outcome.slices:
            by_slice[(outcome.dataset, outcome.engine, name)].append(outcome)
        by_model[(outcome.model, outcome.engine)].append(outcome)
    report(by_engine, "Per dataset and engine", ("dataset", "engine"))
    report(by_slice, "Per approximation slice", ("dataset", "engine", "slice"))
    if args.by_model:
        report(by_model, "Per model", ("model", "engine"))
    engine_pairs(args.csv)


if __name__ == "__main__":
    main()
