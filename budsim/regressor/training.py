"""Train the residual regressor (`core.predictors`) from measured serving runs; the I/O side of it.

Reads data/benchmarks.csv, rebuilds every closed-loop serving row as the analytical model sees it
(`core.measurements`, the mapping bench/accuracy.py uses too), fits the XGBoost corrections, writes the model (one
JSON file holding the xgboost native JSON of every booster) and a manifest next to it (dataset sha256, features,
metrics), and prints a leave-one-group-out (group = model x GPU) table so that every retrain states how it does on
pairs it never saw.

Rows left out, counted in `Dataset.skipped` and printed by bench/regressor.py:
- static-batch rows (Splitwise): they are predicted by `perf.step`, not `perf.serving.predict`;
- runs BudSim cannot express at prediction time because their GPU count is no tensor-parallel size its search
  generates (`UNEXPRESSIBLE_TP`): replicas spanning nodes, GB200 runs on 12-72 GPUs;
- runs the analytical model cannot serve at all (the weights do not fit, no finite prediction).
Runs with expert or attention data parallelism inside such a group, and FP4 runs, stay: they are predicted as tensor
parallelism and INT4 (`core.measurements`) and described by their own features, which BudSim's configs leave at 1,
1 and 0.
"""

import csv
import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from budsim.core.architecture import ModelArchitecture, parse_hf_config
from budsim.core.calibration import corrected_metrics, fit_log_scales
from budsim.core.catalog.dataset_models import dataset_config
from budsim.core.catalog.gpus import GpuSpec, find_gpu
from budsim.core.deployment import Cluster, ConfigBatch, Workload
from budsim.core.measurements import MeasuredRun, deployment_of, measured_cluster, serving_config
from budsim.core.memory import memory_breakdown, valid_tensor_parallel_sizes
from budsim.core.perf.serving import ServingMetrics, predict
from budsim.core.predictors import (
    FEATURE_NAMES,
    FORMAT,
    TARGETS,
    Z_P90,
    Coverage,
    LogScales,
    ResidualRegressor,
    confidence,
    feature_matrix,
    train,
)
from budsim.core.types import BoolArray, Engine, FloatArray, IntArray
from budsim.regressor.stored_runs import StoredRuns
from budsim.settings import DEFAULT_MODEL_PATH

ROOT = Path(__file__).resolve().parents[2]  # the repository: data/ and models/ sit beside budsim/
DEFAULT_CSV = ROOT / "data" / "benchmarks.csv"
DEFAULT_MODEL = ROOT / DEFAULT_MODEL_PATH  # the service's default MODEL_PATH, run from the repository
# What a dataset's `measured`, `analytical` and a cross-validation's `corrected` hold, column by column.
METRICS: tuple[str, ...] = ("output_tokens_per_s", "ttft_ms", "tpot_ms")
# Skip reason of runs BudSim cannot express: `core.measurements` predicts a run's GPUs as one tensor-parallel group,
# and BudSim only ever generates groups of `memory.valid_tensor_parallel_sizes` (powers of two within a node that
# divide the attention heads). The runs outside it are wide expert-parallel layouts over 16 or 64 B200/H200 GPUs
# (tensor parallelism across nodes once mapped, its all-reduces priced over the inter-node network) and GB200 runs
# of DeepSeek-R1 on 12-72 GPUs (no power of two, or not dividing its 128 heads): no prediction BudSim makes looks like
# them, and the mapping misprices them by up to 10x.
UNEXPRESSIBLE_TP = "GPU count is no tensor-parallel size BudSim generates (multi-node or not a power of two)"


@dataclass(frozen=True, slots=True)
class RunBatch:
    """Runs the serving model predicts in one call (same model, cluster, engine and workload), and their rows."""

    arch: ModelArchitecture
    cluster: Cluster
    configs: ConfigBatch
    workload: Workload
    engine: Engine
    kv_tokens: IntArray
    rows: npt.NDArray[np.intp]  # the dataset rows of `configs`, in order

    def corrected(self, log_scales: FloatArray) -> FloatArray:
        """Throughput, TTFT and TPOT ([n, 3]) of the REGRESSOR's forward model at these log-scales ([n, 3])."""
        metrics = corrected_metrics(
            self.arch, self.cluster, self.configs, self.workload, self.engine, self.kv_tokens, log_scales
        )
        return _metric_columns(metrics, len(self.rows))


@dataclass(frozen=True)
class Dataset:
    """One row per closed-loop benchmark run the analytical model can express."""

    features: FloatArray  # [N, F]
    measured: FloatArray  # [N, 3]: throughput, TTFT, TPOT (`METRICS`)
    analytical: FloatArray  # [N, 3]
    targets: FloatArray  # [N, 3]: the log-scales (`TARGETS`) under which the forward model meets each measurement
    groups: npt.NDArray[np.str_]  # model x GPU
    gpus: list[str]
    families: list[str]
    log_params: FloatArray
    tps: FloatArray
    log_concurrency: FloatArray
    skipped: dict[str, int]
    runs: tuple[MeasuredRun, ...] = ()  # the run behind each row
    batches: tuple[RunBatch, ...] = ()
    # Per row, the id of the stored run behind it (`StoredRuns.run_ids`), "" for a row of the CSV.
    stored_ids: tuple[str, ...] = ()

    @property
    def user(self) -> BoolArray:
        """Rows from stored runs (a user's measurements), not from the CSV."""
        if not self.stored_ids:
            return np.zeros(len(self.groups), dtype=bool)
        return np.array([bool(run_id) for run_id in self.stored_ids], dtype=bool)

    def corrected(self, log_scales: FloatArray) -> FloatArray:
        """Every row's throughput, TTFT and TPOT ([N, 3]) at the given log-scales ([N, 3])."""
        out = np.full((len(self.groups), len(METRICS)), np.nan)
        for batch in self.batches:
            out[batch.rows] = batch.corrected(log_scales[batch.rows])
        return out

    def coverage(self, rows: BoolArray | None = None) -> Coverage:
        keep = np.ones(len(self.groups), bool) if rows is None else rows
        index = np.flatnonzero(keep)
        return Coverage.from_rows(
            [self.gpus[i] for i in index],
            [self.families[i] for i in index],
            self.log_params[keep],
            self.tps[keep],
            self.log_concurrency[keep],
        )


def _metric_columns(metrics: ServingMetrics, n: int) -> FloatArray:
    return np.column_stack(
        [np.broadcast_to(np.asarray(getattr(metrics, name), dtype=np.float64).reshape(-1), (n,)) for name in
         ("output_tokens_per_s", "ttft_mean_ms", "tpot_ms")]
    )  # fmt: skip


def _batch_key(run: MeasuredRun, gpu: GpuSpec) -> tuple[object, ...]:
    """Runs the analytical model predicts in one call: same model, cluster, engine and workload; they differ only in
    their configs (parallelism, precisions, limits), which `perf.serving.predict` takes as one `ConfigBatch`."""
    cluster = measured_cluster(gpu, run.gpu_count)
    shape = (cluster.gpu.name, cluster.gpus_per_node, cluster.node_count)
    return (run.model, shape, run.engine, run.input_tokens, run.output_tokens, run.concurrency)


def load_dataset(csv_path: Path, stored: StoredRuns | None = None) -> Dataset:
    """Map every closed-loop row onto the analytical model (`core.measurements`, as bench/accuracy.py does), and
    find each row's target log-scales by inverting the REGRESSOR's forward model (`calibration.fit_log_scales`).

    Rows sharing model, cluster, engine and workload are predicted together (one `predict` over their configs), so
    the ~3,000 serving rows take about a thousand calls per pass. The rows left out are counted in `skipped` by reason
    (module docstring); runs with expert or attention data parallelism and FP4 weights stay in, described by their own
    features (`core.predictors.features`).
    """
    with csv_path.open(newline="") as handle:
        runs = [MeasuredRun.from_record(record) for record in csv.DictReader(handle)]
    run_ids = [""] * len(runs)
    runs.extend(stored.runs if stored else ())
    run_ids.extend(stored.run_ids() if stored else ())
    registered = stored.architectures if stored else {}
    archs: dict[str, ModelArchitecture | None] = {}
    skipped: dict[str, int] = {}

    def skip(reason: str) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1

    grouped: dict[tuple[object, ...], tuple[ModelArchitecture, GpuSpec, list[int]]] = {}
    for index, run in enumerate(runs):
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
        if run.gpu_count not in valid_tensor_parallel_sizes(arch, measured_cluster(gpu, run.gpu_count).gpus_per_node):
            skip(UNEXPRESSIBLE_TP)
            continue
        grouped.setdefault(_batch_key(run, gpu), (arch, gpu, []))[2].append(index)

    kept: list[tuple[int, FloatArray, FloatArray, ModelArchitecture, GpuSpec]] = []
    pending: list[tuple[RunBatch, list[MeasuredRun]]] = []
    for arch, gpu, indices in grouped.values():
        members = [runs[i] for i in indices]
        deployment = deployment_of(members[0], arch, gpu)  # cluster and workload are the batch's, configs per run
        configs = ConfigBatch.from_configs([serving_config(run) for run in members])
        memory = memory_breakdown(arch, gpu.usable_memory_gb, configs)
        engine = members[0].engine
        metrics = predict(arch, deployment.cluster, configs, deployment.workload, engine, memory.kv_tokens)
        features = feature_matrix(
            arch, deployment.cluster, configs, deployment.workload, engine, metrics,
            expert_parallel=np.array([run.moe_ep for run in members], dtype=np.float64),
            attention_dp=np.array([run.attention_dp for run in members], dtype=np.float64),
            fp4_weights=np.array([run.fp4 for run in members], dtype=np.float64),
        )  # fmt: skip
        fits = np.broadcast_to(np.asarray(memory.fits, dtype=bool), (len(members),))
        predicted = _metric_columns(metrics, len(members))
        usable = []
        for position, run in enumerate(members):
            values = tuple(float(v) for v in predicted[position])
            if not fits[position]:
                skip("does not fit memory")
            elif not all(math.isfinite(v) and v > 0 for v in values + run.measured):
                skip("no finite prediction or measurement")
            else:
                usable.append(position)
        if not usable:
            continue
        take = np.array(usable)
        sub = configs.take(take)
        first = len(kept)
        for position in usable:
            kept.append((indices[position], features[position], predicted[position], arch, gpu))
        rows = np.arange(first, len(kept))
        batch = RunBatch(arch, deployment.cluster, sub, deployment.workload, engine, memory.kv_tokens[take], rows)
        pending.append((batch, [members[p] for p in usable]))

    targets = np.empty((len(kept), len(TARGETS)))
    for batch, members in pending:
        measured = np.array([run.measured for run in members])
        targets[batch.rows] = fit_log_scales(
            batch.arch, batch.cluster, batch.configs, batch.workload, batch.engine, batch.kv_tokens,
            measured[:, 1], measured[:, 2],
        )  # fmt: skip
    kept_runs = tuple(runs[row[0]] for row in kept)
    n = len(kept)
    return Dataset(
        np.array([row[1] for row in kept]).reshape(n, len(FEATURE_NAMES)),
        np.array([run.measured for run in kept_runs]).reshape(n, len(METRICS)),
        np.array([row[2] for row in kept]).reshape(n, len(METRICS)),
        targets,
        np.array([f"{run.model}|{row[4].name}" for run, row in zip(kept_runs, kept, strict=True)]),
        [row[4].name for row in kept],
        [row[3].model_type for row in kept],
        np.array([math.log(row[3].param_count) for row in kept]),
        np.array([run.gpu_count for run in kept_runs], dtype=np.float64),
        np.array([math.log(run.concurrency) for run in kept_runs]),
        skipped,
        kept_runs,
        tuple(batch for batch, _ in pending),
        tuple(run_ids[row[0]] for row in kept),
    )


def _ape(predicted: FloatArray, measured: FloatArray) -> FloatArray:
    return np.abs(predicted / measured - 1.0) * 100.0


@dataclass
class CrossValidation:
    """Out-of-fold corrected predictions, their confidence, and APE summaries per metric."""

    corrected: FloatArray  # [N, 3]: throughput, TTFT, TPOT
    log_scales: FloatArray  # [N, 3]: the out-of-fold scales behind them
    low: FloatArray  # [N, 3]: each metric's p10 (`calibration.metrics_at`)
    high: FloatArray  # [N, 3]: its p90
    confidence: FloatArray  # [N]
    folds: int
    seconds: float

    def summary(self, data: Dataset) -> dict[str, dict[str, float]]:
        table: dict[str, dict[str, float]] = {}
        for column, metric in enumerate(METRICS):
            base = _ape(data.analytical[:, column], data.measured[:, column])
            ours = _ape(self.corrected[:, column], data.measured[:, column])
            table[metric] = {
                "analytical_median_ape": float(np.median(base)),
                "analytical_p90_ape": float(np.percentile(base, 90)),
                "corrected_median_ape": float(np.median(ours)),
                "corrected_p90_ape": float(np.percentile(ours, 90)),
            }
        return table


def fold_of(keys: npt.NDArray[np.str_], folds: int | None = None, seed: int = 0) -> IntArray:
    """Each row's fold, whole groups (`keys`) at a time: one fold per group when `folds` is None (leave-one-group-out),
    else `folds` folds of groups dealt in a random order drawn from `seed`. The same arguments give the same folds."""
    unique = np.unique(keys)
    if folds is None:
        assignment = {g: i for i, g in enumerate(unique)}
    else:
        order = np.random.default_rng(seed).permutation(len(unique))
        assignment = {unique[j]: k % folds for k, j in enumerate(order)}
    return np.array([assignment[g] for g in keys], dtype=np.int64)


def cross_validate(
    data: Dataset,
    folds: int | None = None,
    seed: int = 0,
    ensemble: int = 3,
    groups: npt.NDArray[np.str_] | None = None,
    *,
    train_rows: BoolArray | None = None,
    on_fold: Callable[[int, int], None] | None = None,
) -> CrossValidation:
    """Group cross-validation: leave-one-group-out when `folds` is None, else `folds` random folds of whole groups
    (`fold_of`). Every row is predicted by a model trained on the other folds.

    `groups` (default: the dataset's model x GPU) chooses what is held out together: the model alone for
    leave-one-model-out, the GPU alone for leave-one-GPU-out. `train_rows` (default: all) limits what a fold may train
    on, never what it predicts: a fold trains on the rows of `train_rows` it does not hold out, so two training sets
    (a regressor version's data and a candidate's) are scored on the same held-out rows. `on_fold(done, total)` is
    called after each fold.
    """
    start = time.perf_counter()
    keys = data.groups if groups is None else groups
    assigned = fold_of(keys, folds, seed)
    eligible = np.ones(len(data.groups), bool) if train_rows is None else np.asarray(train_rows, dtype=bool)
    log_scales = np.full_like(data.targets, np.nan)
    sd = np.full_like(data.targets, np.nan)
    score = np.full(len(data.groups), np.nan)
    present = np.unique(assigned)
    for done, fold in enumerate(present, start=1):
        test = assigned == fold
        fit = ~test & eligible
        coverage = data.coverage(fit)
        model = train(
            data.features[fit], data.targets[fit], data.groups[fit], seed, ensemble=ensemble, coverage=coverage
        )
        scales = model.log_scales(data.features[test])
        held_out = np.flatnonzero(test)
        alike: dict[tuple[str, str, float], list[int]] = {}  # rows `confidence` scores in one call
        for local, i in enumerate(held_out):
            alike.setdefault((data.gpus[i], data.families[i], float(data.log_params[i])), []).append(local)
        for (gpu, family, log_params), locals_ in alike.items():
            rows = held_out[locals_]
            score[rows] = confidence(
                coverage, gpu, family, log_params, data.tps[rows], data.log_concurrency[rows],
                scales.mean_spread[locals_],
            )  # fmt: skip
            log_scales[rows], sd[rows] = model.estimate(
                LogScales(scales.mean[locals_], scales.spread[locals_]), gpu, family
            )
        if on_fold is not None:
            on_fold(done, len(present))
    corrected = data.corrected(log_scales)
    ends = [data.corrected(log_scales + z * sd) for z in (-Z_P90, Z_P90)]
    low, high = np.fmin(*ends), np.fmax(*ends)
    seconds = time.perf_counter() - start
    return CrossValidation(corrected, log_scales, low, high, score, len(present), seconds)


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


def dataset_digest(csv_path: Path, stored: StoredRuns | None) -> str:
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
    digest = dataset_digest(csv_path, stored)
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
    """The stored model, or a fresh one trained (in seconds, without the LOGO table) when none is stored, when it was
    trained on other data than the CSV and `stored` (the dataset digest tells: a model built into an image before
    any run was recorded, say), or when it was
    written by another BudSim: a residual-regressor file of another format or feature list would have its
    corrections read against the wrong columns, and the file is only a cache of what data/benchmarks.csv (plus
    `stored`) trains. A file that is no model at all raises, as before: the caller decides what to do without one."""
    if not model_path.exists() or _written_by_another_budsim(model_path):
        train_from_csv(csv_path, model_path, logo=False, stored=stored)
        return read_model(model_path)
    regressor = read_model(model_path)
    if stored is not None and regressor.info.get("dataset_sha256") != dataset_digest(
        csv_path, stored
    ):  # e.g. built into an image before any run was recorded
        print(f"{model_path} was trained on other data: training on the current data and stored runs")
        train_from_csv(csv_path, model_path, logo=False, stored=stored)
        regressor = read_model(model_path)
    return regressor


def _written_by_another_budsim(model_path: Path) -> bool:
    try:
        meta = json.loads(model_path.read_text()).get("meta.json", {})
    except (ValueError, AttributeError):
        return False  # not a model file: read_model says so
    kind = str(meta.get("format", ""))
    stale_format = kind.startswith(FORMAT.split("/")[0] + "/") and kind != FORMAT
    return stale_format or (kind == FORMAT and tuple(meta.get("feature_names", ())) != FEATURE_NAMES)


if __name__ == "__main__":
    train_from_csv()
