"""PLACEHOLDER until the evaluation lands: trains on everything, evaluates nothing."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from budsim.core.predictors import ResidualRegressor, train
from budsim.core.predictors.evaluation import Evaluation
from budsim.regressor.stored_runs import StoredRuns
from budsim.regressor.training import _digest, load_dataset


@dataclass(frozen=True, slots=True)
class RetrainProgress:
    stage: str
    done: int
    total: int


@dataclass(frozen=True)
class Retrained:
    regressor: ResidualRegressor
    evaluation: Evaluation
    rows: int
    groups: int
    dataset_sha256: str
    run_ids: tuple[str, ...]


def retrain(
    csv_path: Path,
    stored: StoredRuns,
    active_run_ids: frozenset[str] | None,
    *,
    folds: int | None = None,
    seed: int = 0,
    on_progress: Callable[[RetrainProgress], None] | None = None,
) -> Retrained:
    report = on_progress or (lambda _p: None)
    report(RetrainProgress("loading", 0, 1))
    data = load_dataset(csv_path, stored)
    report(RetrainProgress("training", 0, 1))
    regressor = train(data.features, data.targets, data.groups, seed, coverage=data.coverage())
    digest = _digest(csv_path, stored)
    groups = int(np.unique(data.groups).size)
    regressor.info = {"dataset_sha256": digest, "rows": len(data.groups), "groups": groups}
    evaluation = Evaluation(folds or 0, len(data.groups), len(stored.runs), ())
    return Retrained(regressor, evaluation, len(data.groups), groups, digest, stored.ids)
