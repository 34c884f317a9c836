"""Search processes yield the CPU to the server from their first instant, imports included."""

import os

import pytest

from budsim.jobs.search_process import SearchProcess


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_a_search_process_runs_at_idle_priority_before_its_imports_finish() -> None:
    search = SearchProcess(regressor=None)
    try:
        search.start()
        assert search.pid is not None
        # Checked at once: the child's own call to sched_setscheduler runs only after it has imported numpy, xgboost
        # and deap, a second or more later.
        assert os.sched_getscheduler(search.pid) == os.SCHED_IDLE
    finally:
        search.close()
