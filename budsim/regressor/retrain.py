"""Retrain the residual regressor from data/benchmarks.csv plus every stored run, and judge it against the active
version on the same held-out folds before it may replace it (issue 18). Pure computation: it reads the CSV and
nothing else; the job that calls it fetches the stored runs, stores the version and swaps it in.

The evaluation. Every usable row (the CSV's and every stored run's) is split into folds of whole model x GPU groups:
`folds` seeded folds (DEFAULT_FOLDS), or one per group (leave-one-group-out) when `folds` is None. In each fold two
regressors are trained on the rows not held out: the candidate on all of them, the baseline on those the active
version trained on (the CSV's and the stored runs in `active_run_ids`); both predict the held-out rows. So a baseline
that never saw the user's runs is scored on them too, and both are scored on exactly the same rows. A group is always
held out whole, its CSV rows with its stored runs: what is measured is how well each version predicts a model x GPU
pair it has not seen, which is what a new recorded pair improves (a user's runs on one new GPU help the held-out rows
of another model on that GPU) and what wrong runs damage (the pairs near them, whose predictions they pull away).

The activation rule (`Evaluation.not_worse`): for every metric, the candidate's median and p90 APE over all rows, and
its median over the stored runs' rows, are no more than the baseline's plus a tolerance for training noise
(`MEDIAN_TOLERANCE`, `P90_TOLERANCE`): retraining the same data with another seed moves them by that much.

Cost on the 3,074 rows of data/benchmarks.csv (2 cores, one used): loading 13 s, one training 3.4 s (1-member
ensemble) or 5.2 s (the served 3-member one). With 60 stored runs and a baseline, a retrain took 98 s on the default
12 folds and 302 s leave-one-group-out (38 folds); docs/model.md has the figures.
"""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from budsim.core.predictors import ResidualRegressor, train
from budsim.core.predictors.evaluation import MEDIAN_TOLERANCE, P90_TOLERANCE, Evaluation, MetricAccuracy
from budsim.core.types import BoolArray, FloatArray
from budsim.regressor.stored_runs import StoredRuns
from budsim.regressor.training import (
    METRICS,
    CrossValidation,
    Dataset,
    cross_validate,
    dataset_digest,
    fold_of,
    load_dataset,
)

# Members per ensemble in the evaluation's folds: one trains in 3.4 s where three take 5.2 s, and the comparison is
# between two versions trained alike. The regressor that is kept has the served ensemble (`predictors.ENSEMBLE`).
EVALUATION_ENSEMBLE = 1
# Folds of whole model x GPU groups a retrain is evaluated on by default: 12 keep a retrain on the full data with a
# baseline within two minutes (98 s), where one fold per group (folds=None, 38 folds) took 302 s. Both versions are
# scored on the same folds either way; with fewer folds each trains on a little less, which both pay alike.
DEFAULT_FOLDS = 12
STAGES: tuple[str, ...] = ("loading", "evaluating", "training")


@dataclass(frozen=True, slots=True)
class RetrainProgress:
    """Where a retrain is: `stage` (one of STAGES) and `done` of `total` steps in it. "loading" and "training" are one
    step; "evaluating" counts the folds trained, the candidate's then the baseline's (2 x folds with a baseline)."""

    stage: str
    done: int
    total: int


@dataclass(frozen=True)
class Retrained:
    """A new version: the regressor trained on every usable row (its `info` as `training.train_from_csv` sets it),
    how it did held out against the active version, and what it learned from."""

    regressor: ResidualRegressor
    evaluation: Evaluation
    rows: int
    groups: int
    dataset_sha256: str
    run_ids: tuple[str, ...]  # the stored runs it trained on (those `load_dataset` could use), in stored order
    skipped: Mapping[str, int] = field(default_factory=dict)  # rows left out, by reason (`load_dataset`)
    seconds: float = 0.0


def _ape(predicted: FloatArray, measured: FloatArray) -> FloatArray:
    ape = np.abs(predicted / measured - 1.0) * 100.0
    finite: FloatArray = ape[np.isfinite(ape)]
    return finite


def _median(values: FloatArray) -> float | None:
    return float(np.median(values)) if values.size else None


def evaluation_of(
    data: Dataset, candidate: CrossValidation, baseline: CrossValidation | None, folds: int
) -> Evaluation:
    """Per metric APE of the candidate's (and the baseline's) out-of-fold predictions of `data`."""
    user = data.user
    metrics = []
    for column, name in enumerate(METRICS):
        measured = data.measured[:, column]
        ours = _ape(candidate.corrected[:, column], measured)
        ours_user = _ape(candidate.corrected[user, column], measured[user])
        theirs = None if baseline is None else _ape(baseline.corrected[:, column], measured)
        theirs_user = None if baseline is None else _ape(baseline.corrected[user, column], measured[user])
        metrics.append(
            MetricAccuracy(
                name,
                float(np.median(ours)),
                float(np.percentile(ours, 90)),
                None if theirs is None else float(np.median(theirs)),
                None if theirs is None else float(np.percentile(theirs, 90)),
                _median(ours_user),
                None if theirs_user is None else _median(theirs_user),
            )
        )
    return Evaluation(folds, len(data.groups), int(user.sum()), tuple(metrics))


def baseline_rows(data: Dataset, active_run_ids: frozenset[str]) -> BoolArray:
    """The rows the active version trained on: the CSV's, and the stored runs' it names."""
    user = data.user
    if not user.any():
        return np.ones(len(data.groups), dtype=bool)
    active = np.array([run_id in active_run_ids for run_id in data.stored_ids], dtype=bool)
    rows: BoolArray = ~user | active
    return rows


def retrain(
    csv_path: Path,
    stored: StoredRuns,
    active_run_ids: frozenset[str] | None,
    *,
    folds: int | None = DEFAULT_FOLDS,
    seed: int = 0,
    ensemble: int = EVALUATION_ENSEMBLE,
    on_progress: Callable[[RetrainProgress], None] | None = None,
) -> Retrained:
    """A regressor trained on `csv_path` plus every usable run of `stored`, evaluated against the baseline rebuilt
    from the CSV plus the stored runs in `active_run_ids` (None: no baseline, `not_worse()` is True) on the same
    folds: `folds` seeded folds of whole model x GPU groups, or one per group when `folds` is None (with at least as
    many folds as groups, that is what an int gives too). `ensemble` is
    the evaluation's members per ensemble; `on_progress` is called at each step (`RetrainProgress`), in the caller's
    thread. Minutes on the full data (module docstring): run it off the event loop."""
    start = time.perf_counter()

    def report(stage: str, done: int, total: int) -> None:
        if on_progress is not None:
            on_progress(RetrainProgress(stage, done, total))

    report("loading", 0, 1)
    digest = dataset_digest(csv_path, stored)
    data = load_dataset(csv_path, stored)
    report("loading", 1, 1)

    base = None if active_run_ids is None else baseline_rows(data, active_run_ids)
    separate = base is not None and not bool(base.all())  # a baseline that trained on every row is the candidate
    evaluated = [0]
    total_folds = int(np.unique(fold_of(data.groups, folds, seed)).size)
    total = total_folds * (2 if separate else 1)

    def fold_done(done: int, of: int) -> None:
        evaluated[0] += 1
        report("evaluating", evaluated[0], total)

    report("evaluating", 0, total)
    candidate = cross_validate(data, folds, seed, ensemble=ensemble, on_fold=fold_done)
    baseline: CrossValidation | None = None
    if base is not None:
        baseline = (
            cross_validate(data, folds, seed, ensemble=ensemble, train_rows=base, on_fold=fold_done)
            if separate
            else candidate
        )
    evaluation = evaluation_of(data, candidate, baseline, candidate.folds)

    report("training", 0, 1)
    regressor = train(data.features, data.targets, data.groups, seed, coverage=data.coverage())
    groups = int(np.unique(data.groups).size)
    regressor.info = {"dataset_sha256": digest, "rows": len(data.groups), "groups": groups}
    report("training", 1, 1)
    used = set(data.stored_ids)
    run_ids = tuple(run_id for run_id in stored.run_ids() if run_id in used)
    return Retrained(
        regressor, evaluation, len(data.groups), groups, digest, run_ids, dict(data.skipped),
        time.perf_counter() - start,
    )  # fmt: skip


__all__ = [
    "DEFAULT_FOLDS",
    "EVALUATION_ENSEMBLE",
    "MEDIAN_TOLERANCE",
    "P90_TOLERANCE",
    "STAGES",
    "Evaluation",
    "MetricAccuracy",
    "RetrainProgress",
    "Retrained",
    "baseline_rows",
    "evaluation_of",
    "retrain",
]
