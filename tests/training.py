"""A slice of data/benchmarks.csv for servers that must retrain in seconds: real rows, four Llama model x GPU groups.

The accuracy a retrain buys on the full data is tests/regressor's and bench/accuracy.py's; what the API and the
processes around a retrain do is the same on 400 rows as on 3,000, and ten times quicker.
"""

import csv
from collections.abc import Collection
from pathlib import Path

from budsim.regressor.stored_runs import StoredRuns
from budsim.regressor.training import DEFAULT_CSV, train_from_csv

SLICE = {
    ("meta-llama/Llama-3.1-8B-Instruct", "H100-SXM"),
    ("meta-llama/Llama-3.1-8B-Instruct", "H200-SXM"),
    ("meta-llama/Llama-3.1-70B", "H100-SXM"),
    ("meta-llama/Llama-3.1-70B", "H200-SXM"),
}


def write_groups(path: Path, groups: Collection[tuple[str, str]]) -> Path:
    """The rows of data/benchmarks.csv whose (model, GPU) is in `groups`, as a CSV at `path`."""
    with DEFAULT_CSV.open(newline="") as source, path.open("w", newline="") as target:
        reader = csv.DictReader(source)
        writer = csv.DictWriter(target, fieldnames=list(reader.fieldnames or ()))
        writer.writeheader()
        writer.writerows(row for row in reader if (row["model"], row["gpu"]) in groups)
    return path


def write_slice(directory: Path) -> tuple[Path, Path]:
    """The slice as a CSV, and the regressor trained on it (a first start on that data reuses it): their paths."""
    path = write_groups(directory / "benchmarks.csv", SLICE)
    model = directory / "start-up.json"
    train_from_csv(path, model, logo=False, stored=StoredRuns((), {}))
    return path, model
