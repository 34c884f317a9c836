"""A regressor from MODEL_PATH, trained first when absent or trained on other data; `regressor.versions` stores it."""

import logging
from pathlib import Path

from budsim.core.predictors import ResidualRegressor
from budsim.regressor.stored_runs import StoredRuns

log = logging.getLogger("budsim")


def load_regressor(
    model_path: Path, stored: StoredRuns | None = None, csv_path: Path | None = None
) -> ResidualRegressor | None:
    """MODEL_PATH, trained first if absent (seconds) from `csv_path` (data/benchmarks.csv) plus the `stored` runs;
    None if neither works.

    Without a regressor the service still answers: REGRESSOR requests fall back to the analytical model and say so
    in their confidence and warnings, which beats refusing to start over a missing or corrupt model file.
    """
    from budsim.regressor.training import DEFAULT_CSV, load_or_train  # numpy/xgboost-heavy: imported where it runs

    try:
        if not model_path.exists():
            log.info("no regressor at %s: training one from data/benchmarks.csv", model_path)
        regressor = load_or_train(model_path, csv_path or DEFAULT_CSV, stored)
    except Exception:
        log.exception("regressor unavailable (MODEL_PATH=%s); REGRESSOR falls back to the analytical model", model_path)
        return None
    log.info("regressor loaded from %s (%s)", model_path, regressor.info)
    _ = regressor.saved  # serialised now, off the event loop, for the child processes that will need a copy
    return regressor
