"""Leave-one-group-out accuracy of the residual regressor (`core.predictors`) against the analytical model alone.

Group = model x GPU: every pair is predicted by a model trained without it, which is what a user asking about an
unmeasured pair gets. Prints per target the median and p90 absolute percentage error of the analytical prediction
and the corrected one, the confidence buckets' errors, and the training time of the full model.

Run: .venv/bin/python bench/regressor.py [--csv data/benchmarks.csv] [--folds K] [--ensemble M]
"""

import argparse
import time
from pathlib import Path

import numpy as np

from budsim.core.predictors import PRODUCTION_READY, VALIDATE_IN_STAGING, train
from budsim.training import DEFAULT_CSV, cross_validate, format_table, load_dataset


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
    start = time.perf_counter()
    train(data.features, data.targets, data.groups, 0, ensemble=args.ensemble, coverage=data.coverage())
    print(f"full training ({args.ensemble} members x 3 targets): {time.perf_counter() - start:.1f}s")
    result = cross_validate(data, args.folds, 0, ensemble=args.ensemble)
    label = "leave-one-group-out" if args.folds is None else f"{args.folds}-fold by group"
    print(format_table(result.summary(data), f"{label} ({result.folds} folds, {result.seconds:.1f}s)"))
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


if __name__ == "__main__":
    main()
