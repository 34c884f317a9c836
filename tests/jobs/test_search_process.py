"""Search processes yield the CPU to the server from their first instant, imports included."""

import os
from pathlib import Path

import pytest

from budsim.core.predictors import ActiveRegressor
from budsim.jobs.search_process import SearchProcess
from budsim.regressor.training import load_or_train
from tests.processes import loaded_xgboost


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_a_search_process_runs_at_idle_priority_before_its_imports_finish(model_path: Path) -> None:
    # With the real regressor: when it travelled among the process's arguments, starting the child waited until
    # the child had imported XGBoost to read them, all at normal priority, before the priority could be lowered.
    search = SearchProcess(ActiveRegressor(load_or_train(model_path), 1))
    try:
        search.start()
        assert search.pid is not None
        assert os.sched_getscheduler(search.pid) == os.SCHED_IDLE
        assert not loaded_xgboost(search.pid)  # the imports lie ahead, at idle priority
    finally:
        search.close()
