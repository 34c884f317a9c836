"""Train the residual regressor (`core.predictors`) from measured serving runs; the I/O side of it.

Reads data/benchmarks.csv, rebuilds every closed-loop serving row as the analytical model sees it
(`core.measurements`, the mapping bench/accuracy.py uses too), fits the XGBoost corrections, writes the model (one
JSON file holding the xgboost native JSON of every booster) and a manifest next to it (dataset sha256, features,
metrics), and prints a leave-one-group-out (group = model x GPU) table so that every retrain states how it does on
pairs it never saw.
Static-batch rows (Splitwise) are skipped: they are predicted by `perf.step`, not `perf.serving.predict`.
"""

import csv
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from budsim.core.architecture import ModelArchitecture, parse_hf_config
from budsim.core.catalog.dataset_models import dataset_config
from budsim.core.catalog.gpus import find_gpu
from budsim.core.measurements import MeasuredRun, deployment_of
from budsim.core.memory import memory_breakdown
from budsim.core.perf.serving import predict
from budsim.core.predictors import (
    FEATURE_NAMES,
    TARGETS,
    Coverage,
    ResidualRegressor,
    confidence,
    feature_matrix,
    log_ratio_targets,
    train,
)
from budsim.stored_runs import StoredRuns

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CSV = ROOT / "data" / "benchmarks.csv"
DEFAULT_MODEL = ROOT / "models" / "residual.json"
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Dataset:
    """One row per closed-loop benchmark run the analytical model can express."""

    features: FloatArray  # [N, F]
    measured: FloatArray  # [N, 3] in TARGETS order
    analytical: FloatArray  # [N, 3]
    groups: npt.NDArray[np.str_]  # model x GPU
    gpus: list[str]
    families: list[str]
    log_params: FloatArray
    tps: FloatArray
    log_concurrency: FloatArray
    skipped: dict[str, int]

    @property
    def targets(self) -> FloatArray:
        return log_ratio_targets(self.measured, self.analytical)

    def coverage(self, rows: npt.NDArray[np.bool_] | None = None) -> Coverage:
        keep = np.ones(len(self.groups), bool) if rows is None else rows
        index = np.flatnonzero(keep)
        return Coverage.from_rows(
            [self.gpus[i] for i in index],
            [self.families[i] for i in index],
            self.log_params[keep],
            self.tps[keep],
            self.log_concurrency[keep],
        )


def load_dataset(csv_path: Path, stored: StoredRuns | None = None) -> Dataset:
    """Map every closed-loop row onto the analytical model (`core.measurements`, as bench/accuracy.py does)."""
    with csv_path.open(newline="") as handle:
        runs = [MeasuredRun.from_record(record) for record in csv.DictReader(handle)]
    runs.extend(stored.runs if stored else ())
    registered = stored.architectures if stored else {}
    archs: dict[str, ModelArchitecture | None] = {}
    feats, measured, analytical, groups, gpus, families, log_params, tps, concs = [], [], [], [], [], [], [], [], []
    skipped: dict[str, int] = {}

    def skip(reason: str) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1

    for run in runs:
        if run.static_batch:
            skip("static batch (perf.step rows)")
            continue
        if run.model not in archs:
            config = dataset_config(run.model) or registered.get(run.model)
            archs[run.model] = parse_hf_config(config) if config else None
        arch, gpu = archs[run.model], find_gpu(run.gpu)
        if arch is None or gpu is None:
            skip("architecture or GPU unknown")
            continue
        deployment = deployment_of(run, arch, gpu)
        cluster, batch, workload = deployment.cluster, deployment.batch, deployment.workload
        memory = memory_breakdown(arch, gpu.usable_memory_gb, batch)
        if not bool(memory.fits[0]):
            skip("does not fit memory")
            continue
        metrics = predict(arch, cluster, batch, workload, run.engine, memory.kv_tokens)
        point = metrics.at(0)
        predicted = (float(point.output_tokens_per_s), float(point.ttft_mean_ms), float(point.tpot_ms))
        truth = run.measured
        if not all(math.isfinite(v) and v > 0 for v in predicted + truth):
            skip("no finite prediction or measurement")
            continue
        feats.append(feature_matrix(arch, cluster, batch, workload, run.engine, metrics)[0])
        measured.append(truth)
        analytical.append(predicted)
        groups.append(f"{run.model}|{gpu.name}")
        gpus.append(gpu.name)
        families.append(arch.model_type)
        log_params.append(math.log(arch.param_count))
        tps.append(run.gpu_count)
        concs.append(math.log(run.concurrency))
    return Dataset(
        np.array(feats),
        np.array(measured),
        np.array(analytical),
        np.array(groups),
        gpus,
        families,
        np.array(log_params),
        np.array(tps, dtype=np.float64),
        np.array(concs),
        skipped,
    )


def _ape(predicted: FloatArray, measured: FloatArray) -> FloatArray:
    return np.abs(predicted / measured - 1.0) * 100.0


@dataclass
class CrossValidation:
    """Out-of-fold corrected predictions, their confidence, and APE summaries per target."""

    corrected: FloatArray  # [N, 3]
    confidence: FloatArray  # [N]
    folds: int
    seconds: float

    def summary(self, data: Dataset) -> dict[str, dict[str, float]]:
        table: dict[str, dict[str, float]] = {}
        for column, target in enumerate(TARGETS):
            base = _ape(data.analytical[:, column], data.measured[:, column])
            ours = _ape(self.corrected[:, column], data.measured[:, column])
            table[target] = {
                "analytical_median_ape": float(np.median(base)),
                "analytical_p90_ape": float(np.percentile(base, 90)),
                "corrected_median_ape": float(np.median(ours)),
                "corrected_p90_ape": float(np.percentile(ours, 90)),
            }
        return table


def cross_validate(data: Dataset, folds: int | None = None, seed: int = 0, ensemble: int = 3) -> CrossValidation:
    """Group cross-validation: leave-one-group-out when `folds` is None, else `folds` random folds of whole groups."""
    start = time.perf_counter()
    unique = np.unique(data.groups)
    if folds is None:
        assignment = {g: i for i, g in enumerate(unique)}
    else:
        order = np.random.default_rng(seed).permutation(len(unique))
        assignment = {unique[j]: k % folds for k, j in enumerate(order)}
    fold_of = np.array([assignment[g] for g in data.groups])
    targets = data.targets
    corrected = np.full_like(data.measured, np.nan)
    score = np.full(len(data.groups), np.nan)
    for fold in np.unique(fold_of):
        test = fold_of == fold
        model = train(data.features[~test], targets[~test], data.groups[~test], seed, ensemble=ensemble)
        means, spreads = model.log_corrections(data.features[test])
        for column, target in enumerate(TARGETS):
            corrected[test, column] = data.analytical[test, column] * np.exp(means[target])
        spread = np.mean(np.stack(list(spreads.values())), axis=0)
        coverage = data.coverage(~test)
        for i in np.flatnonzero(test):
            local = np.flatnonzero(test).tolist().index(i)
            score[i] = confidence(
                coverage, data.gpus[i], data.families[i], data.log_params[i], data.tps[i], data.log_concurrency[i],
                spread[local],
            )[0]  # fmt: skip
    return CrossValidation(corrected, score, len(np.unique(fold_of)), time.perf_counter() - start)


def format_table(summary: dict[str, dict[str, float]], title: str) -> str:
    lines = [title, f"{'target':<20} | {'analytical med/p90':>20} | {'corrected med/p90':>20}"]
    for target, row in summary.items():
        base = f"{row['analytical_median_ape']:6.1f}% /{row['analytical_p90_ape']:6.1f}%"
        ours = f"{row['corrected_median_ape']:6.1f}% /{row['corrected_p90_ape']:6.1f}%"
        lines.append(f"{target:<20} | {base:>20} | {ours:>20}")
    return "\n".join(lines)


@dataclass
class TrainingReport:
    rows: int
    groups: int
    train_seconds: float
    logo_seconds: float
    logo: dict[str, dict[str, float]]
    dataset_sha256: str
    model_path: Path
    manifest_path: Path
    skipped: dict[str, int] = field(default_factory=dict)


def write_model(regressor: ResidualRegressor, model_path: Path) -> None:
    """One JSON file: {blob name: parsed xgboost native JSON / meta}, so the model is a single reviewable artefact."""
    blobs = regressor.save()
    model_path.parent.mkdir(parents=True, exist_ok=True)
    model_path.write_text(json.dumps({name: json.loads(blob) for name, blob in blobs.items()}))


def read_model(model_path: Path) -> ResidualRegressor:
    stored = json.loads(model_path.read_text())
    return ResidualRegressor.load({name: json.dumps(value).encode() for name, value in stored.items()})


def _digest(csv_path: Path, stored: StoredRuns | None) -> str:
    """The training data's identity: the CSV's bytes plus every stored run, so a new recorded run changes it."""
    digest = hashlib.sha256(csv_path.read_bytes())
    for run in stored.runs if stored else ():
        digest.update(repr(run).encode())
    return digest.hexdigest()


def train_from_csv(
    csv_path: Path = DEFAULT_CSV,
    model_path: Path = DEFAULT_MODEL,
    *,
    logo: bool = True,
    seed: int = 0,
    stored: StoredRuns | None = None,
) -> TrainingReport:
    """Train on every usable row (the CSV's and `stored` runs), write model + manifest, print the LOGO table."""
    digest = _digest(csv_path, stored)
    data = load_dataset(csv_path, stored)
    start = time.perf_counter()
    regressor = train(data.features, data.targets, data.groups, seed, coverage=data.coverage())
    train_seconds = time.perf_counter() - start
    summary: dict[str, dict[str, float]] = {}
    logo_seconds = 0.0
    if logo:
        result = cross_validate(data, None, seed)
        summary, logo_seconds = result.summary(data), result.seconds
        print(
            format_table(summary, f"leave-one-group-out (model x GPU), {result.folds} groups, {len(data.groups)} rows")
        )
    regressor.info = {"dataset_sha256": digest, "rows": len(data.groups), "groups": int(np.unique(data.groups).size)}
    write_model(regressor, model_path)
    manifest = model_path.with_suffix(".manifest.json")
    manifest.write_text(
        json.dumps(
            {
                "dataset": str(csv_path),
                "dataset_sha256": digest,
                "stored_runs": len(stored.runs) if stored else 0,
                "rows": len(data.groups),
                "groups": int(np.unique(data.groups).size),
                "skipped": data.skipped,
                "features": list(FEATURE_NAMES),
                "targets": list(TARGETS),
                "train_seconds": train_seconds,
                "leave_one_group_out": summary,
            },
            indent=2,
        )
    )
    print(f"trained on {len(data.groups)} rows in {train_seconds:.1f}s -> {model_path}")
    return TrainingReport(
        len(data.groups), int(np.unique(data.groups).size), train_seconds, logo_seconds, summary, digest, model_path,
        manifest, data.skipped,
    )  # fmt: skip


def load_or_train(
    model_path: Path = DEFAULT_MODEL, csv_path: Path = DEFAULT_CSV, stored: StoredRuns | None = None
) -> ResidualRegressor:
    """The stored model, or a fresh one trained (in seconds, without the LOGO table) when none is stored."""
    if not model_path.exists():
        train_from_csv(csv_path, model_path, logo=False, stored=stored)
    return read_model(model_path)


if __name__ == "__main__":
    train_from_csv()
