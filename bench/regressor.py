"""Leave-one-group-out accuracy of the residual regressor (`core.predictors`) against the analytical model alone.

Group = model x GPU: every pair is predicted by a model trained without it, which is what a user asking about an
unmeasured pair gets. Prints which rows `training.load_dataset` left out and why (runs BudSim cannot express, e.g.
GPU counts that are no tensor-parallel size BudSim generates), per target the median and p90 absolute percentage
error of the analytical prediction and the corrected one, the same per slice (engine, the approximations
`core.measurements` makes, load, concurrency), the confidence buckets' errors, and the time to load the data and to
train the full model.

Run: .venv/bin/python bench/regressor.py [--csv data/benchmarks.csv] [--folds K] [--ensemble M]
"""

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from budsim.core.measurements import MeasuredRun
from budsim.core.predictors import PRODUCTION_READY, TARGETS, VALIDATE_IN_STAGING, Z_P90, train
from budsim.regressor.training import (
    DEFAULT_CSV,
    METRICS,
    CrossValidation,
    Dataset,
    cross_validate,
    format_table,
    load_dataset,
)

SLICES: dict[str, Callable[[MeasuredRun], str]] = {
    "engine": lambda run: run.engine.value,
    "expert/attention-DP run (as TP)": lambda run: str(run.ep_or_dp),
    "FP4 weights (as INT4)": lambda run: str(run.fp4),
    "low load (prompts fit one step)": lambda run: str(run.low_load),
    "concurrency": lambda run: next((f"<= {c}" for c in (4, 16, 64, 256) if run.concurrency <= c), "> 256"),
}


def print_slices(data: Dataset, result: CrossValidation) -> None:
    """Median APE (throughput / TTFT / TPOT), analytical -> corrected, per value of each slice."""
    ours = np.abs(result.corrected / data.measured - 1.0) * 100
    base = np.abs(data.analytical / data.measured - 1.0) * 100
    print("\nheld-out median APE per slice, analytical -> corrected (throughput | TTFT | TPOT)")
    for name, key in SLICES.items():
        print(f"  {name}")
        values = np.array([key(run) for run in data.runs])
        for value in sorted(set(values), key=lambda v: (len(v), v)):
            rows = values == value
            cells = " | ".join(f"{np.median(base[rows, c]):5.1f}% ->{np.median(ours[rows, c]):5.1f}%" for c in range(3))
            print(f"    {value:<10} rows {int(rows.sum()):5d}  {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--folds", type=int, default=None, help="K folds of whole groups instead of leave-one-out")
    parser.add_argument("--ensemble", type=int, default=3)
    args = parser.parse_args()
    start = time.perf_counter()
    data = load_dataset(args.csv)
    print(
        f"rows {len(data.groups)}, groups {np.unique(data.groups).size}, mapped in {time.perf_counter() - start:.1f}s"
    )
    for reason, count in sorted(data.skipped.items()):
        print(f"  skipped {count:5d}: {reason}")
    start = time.perf_counter()
    train(data.features, data.targets, data.groups, 0, ensemble=args.ensemble, coverage=data.coverage())
    seconds = time.perf_counter() - start
    print(f"full training ({args.ensemble} members x {len(TARGETS)} learned scales): {seconds:.1f}s")
    result = cross_validate(data, args.folds, 0, ensemble=args.ensemble)
    label = "leave-one-group-out" if args.folds is None else f"{args.folds}-fold by group"
    print(format_table(result.summary(data), f"{label} ({result.folds} folds, {result.seconds:.1f}s)"))
    print_slices(data, result)
    ape = np.abs(result.corrected / data.measured - 1.0) * 100
    print("\nheld-out median APE by confidence bucket (throughput / TTFT / TPOT)")
    score = result.confidence
    staging = (score >= VALIDATE_IN_STAGING) & (score < PRODUCTION_READY)
    buckets = (
        (f">= {PRODUCTION_READY}", score >= PRODUCTION_READY),
        (f"{VALIDATE_IN_STAGING}-{PRODUCTION_READY}", staging),
        (f"< {VALIDATE_IN_STAGING}", score < VALIDATE_IN_STAGING),
    )
    for name, rows in buckets:
        if rows.any():
            cells = " / ".join(f"{np.median(ape[rows, c]):5.1f}%" for c in range(3))
            print(f"  {name:<10} rows {int(rows.sum()):5d}  {cells}")
    inside = (result.low <= data.measured) & (data.measured <= result.high)
    below = data.measured < result.low
    print("\nheld-out measurements inside their predicted p10-p90 interval (80% if calibrated; below p10 in brackets)")
    print("  " + " / ".join(f"{n} {inside[:, c].mean():.0%} ({below[:, c].mean():.0%})" for c, n in enumerate(METRICS)))
    fitted = [data.targets[np.isfinite(data.targets[:, c]), c] for c in range(len(TARGETS))]
    spreads = [(np.percentile(f, 90) - np.percentile(f, 10)) / (2 * Z_P90) for f in fitted]
    print("spread of the fitted log-scales, decode / prefill / front end (predictors.PHYSICS_LOG_SCALE_SD): "
          + " / ".join(f"{v:.2f}" for v in spreads))  # fmt: skip


if __name__ == "__main__":
    main()
