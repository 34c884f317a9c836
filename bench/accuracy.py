"""How far the analytical model lands from measured serving runs (data/benchmarks.csv).

For every row whose model architecture is known (catalog or core/catalog/dataset_models.py) and whose GPU is in the
catalog, the row's deployment is rebuilt by `core.measurements` (which lists the approximations) and predicted:

- closed-loop serving rows (aiconfigurator, agg mode): `perf.serving.predict` at the row's concurrency;
- static-batch rows (Splitwise): `perf.step` directly, TTFT = one prefill step of the whole batch, TPOT = one decode
  step at the mean context.

Each approximation `core.measurements` makes is printed as its own slice ("ep/dp as tp", "fp4 as int4"), and so are
the runs whose GPU count is no tensor-parallel size BudSim generates ("tp size unexpressible": the regressor's
training leaves them out). The "low load" slice holds the closed-loop rows whose clients' prompts fit one step's token
budget together (concurrency x ISL <= max_num_batched_tokens): there the waves of prompts that fixed-length closed
loops send in step cannot queue behind each other, and TTFT is the steady-state queueing model's alone. A last table
scores `core.predictors.benchmark_ttft_ms` (the steady state with those waves weighed in, as the REGRESSOR's forward
model predicts closed loops) against the same rows.

Prints the median and p90 absolute percentage error of output throughput, TTFT and TPOT per dataset and engine, then
the slices above, then the engine pairings `perf/engines.py` cites.

Then the REGRESSOR method held out (skip with --no-held-out): the regressor is retrained without each model
(leave-one-model-out) and without each GPU (leave-one-GPU-out) and predicts the rows it never saw, never a random row
split. For each split: median and p90 APE before (the analytical model) and after (the corrected one), and the signed
bias (median predicted / measured) by TP degree, pipeline degree, engine, share of steps carrying prefill, and batch in
service; then the static-batch steps of Splitwise (pure prefill, pure decode) by TP degree.

Then, with --retrain, --stored or --synthetic, before and after a retrain (`budsim.regressor.retrain`): the active
version rebuilt from the CSV alone against a candidate trained on the CSV plus the stored runs (--stored DATABASE_URL,
every usable run recorded there) and/or a synthetic demo set (--synthetic: Mistral-7B and Qwen2.5-7B on an A100, GPU
and families the CSV lacks, 30% slower than the physics), both scored on the same leave-one-group-out folds (or
--folds k): per metric median and p90 APE over every row and the median over the stored runs' rows, and whether the
activation rule (`Evaluation.not_worse`) lets the candidate in. On the CSV alone both versions are the same model.

Run: .venv/bin/python bench/accuracy.py [--csv data/benchmarks.csv] [--by-model] [--no-held-out]
     [--retrain] [--stored DATABASE_URL] [--synthetic] [--folds K]
"""

import argparse
import asyncio
import csv
import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from budsim.core.architecture import ModelArchitecture, parse_hf_config
from budsim.core.catalog.dataset_models import dataset_config
from budsim.core.catalog.gpus import GpuSpec, find_gpu
from budsim.core.measurements import MeasuredRun, deployment_of, measured_cluster
from budsim.core.memory import memory_breakdown, valid_tensor_parallel_sizes
from budsim.core.perf.engines import engine_profile
from budsim.core.perf.serving import predict
from budsim.core.perf.step import decode_load, prefill_load, replica_cost, step_time
from budsim.core.predictors import FEATURE_NAMES, benchmark_ttft_ms
from budsim.regressor.retrain import Evaluation, RetrainProgress, retrain
from budsim.regressor.stored_runs import StoredRuns, fetch_stored_runs
from budsim.regressor.synthetic import combined, demo_runs
from budsim.regressor.training import Dataset, cross_validate, load_dataset

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Outcome:
    dataset: str
    engine: str
    model: str
    slices: tuple[str, ...]
    measured: tuple[float, float, float]  # throughput, ttft, tpot
    predicted: tuple[float, float, float]
    benchmark_ttft: float | None = None  # closed-loop serving rows: TTFT with the benchmark's waves weighed in
    tp: int = 1


def _dataset(row: dict[str, str]) -> str:
    if row["source"].startswith("Mutinifni"):
        return "splitwise (power-capped)" if "power-capped" in row["source"] else "splitwise"
    return "aiconfigurator agg"


def _predict_row(
    run: MeasuredRun, arch: ModelArchitecture, gpu: GpuSpec
) -> tuple[tuple[float, float, float], float | None] | None:
    """Throughput, TTFT, TPOT; and for serving rows the benchmark TTFT (waves weighed in)."""
    deployment = deployment_of(run, arch, gpu)
    cluster, batch = deployment.cluster, deployment.batch
    if run.static_batch:
        cost = replica_cost(arch, cluster, batch, engine_profile(run.engine))
        window = cost.window or None
        prompt, output, seqs = float(run.input_tokens), run.output_tokens, float(run.concurrency)
        ttft = float(step_time(cost, prefill_load(prompt, 0.0, window, seqs=seqs)).total_s[0])
        tpot = float(step_time(cost, decode_load(seqs, prompt + output / 2.0, window)).total_s[0])
        e2e = ttft + tpot * (output - 1)
        return (seqs * output / e2e, ttft * 1e3, tpot * 1e3), None
    memory = memory_breakdown(arch, gpu.usable_memory_gb, batch)
    if not bool(memory.fits[0]):
        return None
    metrics = predict(arch, cluster, batch, deployment.workload, run.engine, memory.kv_tokens)
    point = metrics.at(0)
    benchmark = float(benchmark_ttft_ms(metrics, run.engine, closed_loop=True)[0])
    return (float(point.output_tokens_per_s), float(point.ttft_mean_ms), float(point.tpot_ms)), benchmark


def evaluate(path: Path) -> tuple[list[Outcome], dict[str, int]]:
    outcomes: list[Outcome] = []
    skipped: dict[str, int] = defaultdict(int)
    archs: dict[str, ModelArchitecture | None] = {}
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        run = MeasuredRun.from_record(row)
        if run.model not in archs:
            config = dataset_config(run.model)
            archs[run.model] = parse_hf_config(config) if config else None
        arch = archs[run.model]
        gpu = find_gpu(run.gpu)
        if arch is None:
            skipped[f"architecture unknown: {run.model}"] += 1
            continue
        if gpu is None:
            skipped[f"GPU not in catalog: {run.gpu}"] += 1
            continue
        result = _predict_row(run, arch, gpu)
        if result is None:
            skipped["does not fit memory per core.memory"] += 1
            continue
        predicted, benchmark = result
        tp_sizes = valid_tensor_parallel_sizes(arch, measured_cluster(gpu, run.gpu_count).gpus_per_node)
        flags = (
            ("fp4 as int4", run.fp4),
            ("ep/dp as tp", run.ep_or_dp),
            ("tp size unexpressible", run.gpu_count not in tp_sizes),
        )
        slices = [name for name, flagged in flags if flagged] or ["expressible"]
        if run.low_load:
            slices.append("low load")
        outcomes.append(
            Outcome(_dataset(row), row["engine"], run.model, tuple(slices), run.measured, predicted, benchmark, run.tp)
        )
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


def benchmark_ttft(groups: dict[tuple[str, ...], list[Outcome]]) -> None:
    """TTFT APE of the steady state alone against the steady state with a benchmark's waves weighed in, over the rows
    the regressor trains on (the tensor-parallel size is one BudSim generates)."""
    print("\nTTFT with the synchronised waves weighed in (core.predictors.benchmark_ttft_ms, the regressor's base),")
    print("rows whose tensor-parallel size BudSim generates")
    print(
        f"{'dataset':<24} | {'engine':<8} | {'rows':>5} | {'steady med/p90':>15} | {'with waves med/p90':>18} | bias x"
    )
    for key in sorted(groups):
        items = [o for o in groups[key] if o.benchmark_ttft is not None and "tp size unexpressible" not in o.slices]
        if not items:
            continue
        steady = np.array([abs(o.predicted[1] / o.measured[1] - 1.0) * 100 for o in items])
        waves = np.array([abs(o.benchmark_ttft / o.measured[1] - 1.0) * 100 for o in items if o.benchmark_ttft])
        bias = float(np.exp(np.median([np.log(o.benchmark_ttft / o.measured[1]) for o in items if o.benchmark_ttft])))
        cells = [f"{np.median(a):6.1f}% /{np.percentile(a, 90):6.1f}%" for a in (steady, waves)]
        print(f"{key[0]:<24} | {key[1]:<8} | {len(items):5d} | {cells[0]:>15} | {cells[1]:>18} | {bias:.2f}")


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


BIAS_SLICES: dict[str, Callable[[Dataset, int], object]] = {
    "TP": lambda data, i: data.runs[i].gpu_count,
    "PP": lambda data, i: 1,  # every measured run is one pipeline stage (the data holds no PP runs)
    "engine": lambda data, i: data.runs[i].engine.value,
    "prefill share of steps": lambda data, i: _bucket(
        float(data.features[i, FEATURE_NAMES.index("prefill_step_share")]), (0.05, 0.25, 0.5, 0.75)
    ),
    "batch in service": lambda data, i: _bucket(
        float(np.exp(data.features[i, FEATURE_NAMES.index("log_batch_in_service")])), (4, 16, 64, 256)
    ),
}


def _bucket(value: float, edges: tuple[float, ...]) -> str:
    low = 0.0
    for edge in edges:
        if value <= edge:
            return f"{low:g}-{edge:g}"
        low = edge
    return f"> {edges[-1]:g}"


def _signed_bias(predicted: np.ndarray, measured: np.ndarray) -> str:
    """Median predicted/measured of throughput, TTFT and TPOT, as a x factor each."""
    ratios = np.log(predicted / measured)
    return "  ".join(f"{np.exp(np.nanmedian(ratios[:, c])):5.2f}" for c in range(3))


def held_out(data: Dataset, seed: int, ensemble: int) -> None:
    """Leave-one-model-out and leave-one-GPU-out accuracy of the REGRESSOR method, before and after correction."""
    splits = {
        "leave-one-model-out": np.array([run.model for run in data.runs]),
        "leave-one-GPU-out": np.array(data.gpus),
    }
    results = {}
    physics = np.abs(data.corrected(np.zeros_like(data.targets)) / data.measured - 1.0) * 100
    print("\nREGRESSOR held out: median / p90 APE of throughput | TTFT | TPOT, before (analytical) -> after")
    cells = " | ".join(f"{np.median(physics[:, c]):5.1f}/{np.percentile(physics[:, c], 90):4.0f}%" for c in range(3))
    print(f"  {'the forward model with no learned scale (physics, benchmark waves)':<69} {cells}")
    for name, groups in splits.items():
        start = time.perf_counter()
        result = cross_validate(data, None, seed, ensemble=ensemble, groups=groups)
        results[name] = result
        before = np.abs(data.analytical / data.measured - 1.0) * 100
        after = np.abs(result.corrected / data.measured - 1.0) * 100
        cells = " | ".join(
            f"{np.median(before[:, c]):5.1f}/{np.percentile(before[:, c], 90):4.0f}% -> "
            f"{np.median(after[:, c]):5.1f}/{np.percentile(after[:, c], 90):4.0f}%"
            for c in range(3)
        )
        print(f"  {name:<20} {result.folds:3d} folds  {cells}  ({time.perf_counter() - start:.0f}s)")
    print(
        "\nsigned bias, median predicted / measured (throughput  TTFT  TPOT); 1.00 is unbiased, goal within 0.90-1.10"
    )
    for slice_name, key in BIAS_SLICES.items():
        print(f"  by {slice_name}")
        values = np.array([str(key(data, i)) for i in range(len(data.runs))])
        for value in sorted(set(values), key=lambda v: (len(v), v)):
            rows = values == value
            cells = "   ".join(
                f"{name.split('-')[2]}: {_signed_bias(result.corrected[rows], data.measured[rows])}"
                for name, result in results.items()
            )
            before = _signed_bias(data.analytical[rows], data.measured[rows])
            print(f"    {value:<10} rows {int(rows.sum()):5d}  before: {before}   after, {cells}")


def static_steps(outcomes: list[Outcome]) -> None:
    """Splitwise's static batches (a whole batch's prefill, then decode steps) by TP: the step model alone."""
    print("\nSplitwise static batches by TP (the step model alone): median predicted / measured and APE")
    print(f"  {'dataset':<26} {'TP':>3} {'rows':>5}  {'prefill bias  APE':>18}  {'decode bias  APE':>17}")
    groups: dict[tuple[str, int], list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.dataset.startswith("splitwise"):
            groups[(outcome.dataset, outcome.tp)].append(outcome)
    for (dataset, tp), items in sorted(groups.items()):
        cells = []
        for index in (1, 2):
            ratios = np.array([o.predicted[index] / o.measured[index] for o in items])
            cells.append(f"{np.exp(np.median(np.log(ratios))):5.2f}  {np.median(np.abs(ratios - 1)) * 100:5.1f}%")
        print(f"  {dataset:<26} {tp:>3} {len(items):5d}  {cells[0]:>18}  {cells[1]:>17}")


def _cell(median: float | None, p90: float | None = None) -> str:
    if median is None:
        return "n/a"
    return f"{median:6.1f}%" if p90 is None else f"{median:6.1f}% /{p90:6.1f}%"


def retrain_table(evaluation: Evaluation, title: str) -> None:
    """Per metric, the active version's held-out APE next to the retrained candidate's: all rows, then stored runs."""
    print(f"\n{title}")
    print(
        f"{'metric':<20} | {'active med/p90':>17} | {'retrained med/p90':>17} | "
        f"{'stored runs: active':>19} | {'retrained':>9}"
    )
    for m in evaluation.metrics:
        active, retrained = _cell(m.active_median_ape, m.active_p90_ape), _cell(m.median_ape, m.p90_ape)
        stored = f"{_cell(m.active_user_median_ape):>19} | {_cell(m.user_median_ape):>9}"
        print(f"{m.metric:<20} | {active:>17} | {retrained:>17} | {stored}")
    regressions = evaluation.regressions()
    print(f"not worse (activated): {evaluation.not_worse()}" + "".join(f"\n  worse: {line}" for line in regressions))


def before_and_after(csv_path: Path, stored: StoredRuns, folds: int | None) -> None:
    """The active version (the CSV alone) against the candidate retrained with `stored`, on the same folds."""
    start = time.perf_counter()
    last = [""]

    def progress(step: RetrainProgress) -> None:
        if step.stage != last[0]:
            print(f"  {step.stage} ({time.perf_counter() - start:.0f}s)", flush=True)
            last[0] = step.stage

    print(f"\nRetraining with {len(stored.runs)} stored run(s) against the CSV alone")
    result = retrain(csv_path, stored, frozenset(), folds=folds, on_progress=progress)
    evaluation = result.evaluation
    split = "leave-one-group-out (model x GPU)" if folds is None else f"{folds} folds of model x GPU groups"
    retrain_table(
        evaluation,
        f"Before and after a retrain: {split}, {evaluation.folds} folds, {evaluation.rows} rows "
        f"({evaluation.user_rows} from {len(result.run_ids)} stored runs); held-out APE, "
        f"{time.perf_counter() - start:.0f}s in all",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=ROOT / "data" / "benchmarks.csv")
    parser.add_argument("--by-model", action="store_true", help="also break the errors down by model")
    parser.add_argument("--no-held-out", action="store_true", help="the analytical model only (seconds, not minutes)")
    parser.add_argument("--ensemble", type=int, default=3, help="members per ensemble in the held-out folds")
    parser.add_argument("--retrain", action="store_true", help="before and after a retrain (minutes)")
    parser.add_argument("--stored", metavar="DATABASE_URL", help="retrain with the runs stored there")
    parser.add_argument("--synthetic", action="store_true", help="retrain with the synthetic demo runs")
    parser.add_argument("--folds", type=int, help="k folds of whole groups for the retrain (default: one per group)")
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
    benchmark_ttft(by_engine)
    if args.by_model:
        report(by_model, "Per model", ("model", "engine"))
    engine_pairs(args.csv)
    static_steps(outcomes)
    if not args.no_held_out:
        held_out(load_dataset(args.csv), 0, args.ensemble)
    if args.retrain or args.stored or args.synthetic:
        parts = [asyncio.run(fetch_stored_runs(args.stored))] if args.stored else []
        parts += [demo_runs()] if args.synthetic else []
        before_and_after(args.csv, combined(*parts), args.folds)


if __name__ == "__main__":
    main()
