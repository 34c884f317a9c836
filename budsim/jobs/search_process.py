"""Searches run in child processes, one search at a time each, at the lowest CPU priority (SCHED_IDLE on Linux).

A search is CPU-bound Python (DEAP) for up to OPTIMIZATION_TIMEOUT. In a thread it would share the server's global
interpreter lock, so every query would wait for the search's time slices. In a child process it runs on another
core, at a priority that lets the server's requests win any core they share, and a crash in native code (XGBoost)
loses one job, not the server.

The parent talks to a child over a pipe: ("regressor", regressor) in before the first search and again whenever
the active regressor version changed since the child last got one; ("solve", problem, settings, attempt) in;
("progress", document) per generation, then ("done", outcome) or ("failed", field, message) out; ("stop",) in at
any time asks the search to end after its current generation. Children start on first use and live as long as
the worker.
"""

import contextlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from budsim.core.errors import CoreError, describe
from budsim.core.optimization import OptimizationOutcome, SearchSettings
from budsim.core.predictors import ActiveRegressor, ResidualRegressor
from budsim.core.search.nsga2 import GenerationReport
from budsim.jobs.request import Problem, generation_progress, solve
from budsim.runtime.pipes import received

log = logging.getLogger("budsim.jobs")

NICENESS = 19  # where SCHED_IDLE is not available: the lowest ordinary priority
POLL_S = 0.05  # how often the parent looks for a stop to pass on while it waits for the child


class SearchFailed(Exception):
    """The search raised, or its process died; `field` is set when the request itself was at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def yield_to_the_server(pid: int) -> None:
    """SCHED_IDLE where Linux offers it: the search gets only CPU time nothing else wants, so a request never waits
    behind a generation; elsewhere (or where refused) plain niceness. Set by the parent the instant the child starts:
    a call of the child's own would come only after its imports (a second or two of CPU at normal priority)."""
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
            return
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, pid, NICENESS)


def _child(connection: Connection) -> None:
    """The child's loop: one search per "solve", with the latest regressor sent, until the parent closes the pipe."""
    regressor: ResidualRegressor | None = None
    for message in received(connection):
        if message[0] == "regressor":
            regressor = message[1]
            continue
        if message[0] != "solve":
            continue  # a stop that arrived after its search had ended
        _, task, search, attempt = message
        stopped = False

        def on_generation(report: GenerationReport, task: Problem = task, attempt: int = attempt) -> bool:
            nonlocal stopped
            connection.send(("progress", generation_progress(task, report, attempt)))
            while connection.poll():
                stopped = stopped or connection.recv()[0] == "stop"
            return not stopped

        try:
            outcome = solve(task, search, regressor, on_generation)
        except CoreError as error:
            connection.send(("failed", error.field, error.message))
        except (BrokenPipeError, EOFError):
            return  # the parent is gone: nobody is waiting for the answer
        except Exception as error:
            connection.send(("failed", None, describe(error)))
        else:
            connection.send(("done", outcome))


class SearchProcess:
    """One child and its pipe. Not thread-safe: one search at a time, from one thread."""

    def __init__(self, active: ActiveRegressor) -> None:
        self._active = active
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None
        self._regressor_sent = False

    def start(self) -> Connection:
        """Start the child unless it runs; answer the parent's end of its pipe."""
        if self._process is None or not self._process.is_alive() or self._connection is None:
            # spawn, not fork: the parent has an event loop, a thread pool and database connections to not inherit
            context = multiprocessing.get_context("spawn")
            parent, child = context.Pipe()
            # No regressor among the arguments: `process.start` writes them to the child and returns only once the
            # child has read them, which it does as it imports. With 5 MB of regressor in there that was a second or
            # more (three under load) of imports at normal priority, competing with the server's requests, before
            # the priority below could be set. The regressor goes down the pipe with the first search instead.
            process = context.Process(target=_child, args=(child,), name="budsim-search", daemon=True)
            process.start()
            if process.pid is not None:
                yield_to_the_server(process.pid)
            child.close()
            self._process, self._connection, self._regressor_sent = process, parent, False
        return self._connection

    def use(self, active: ActiveRegressor) -> None:
        """Search with `active` from the next search on (the child gets it with that search)."""
        if active is not self._active:
            self._active, self._regressor_sent = active, False

    @property
    def active(self) -> ActiveRegressor:
        """The regressor the next search runs with."""
        return self._active

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def solve(
        self,
        task: Problem,
        search: SearchSettings,
        attempt: int,
        emit: Callable[[dict[str, Any]], None],
        stop: threading.Event,
    ) -> OptimizationOutcome:
        """Run one search in the child, passing each generation's document to `emit`; blocks (call it in a thread).

        Setting `stop` ends the search after its current generation with the best found so far.
        """
        connection = self.start()
        stop_sent = False
        try:
            if not self._regressor_sent:
                # The child reads it after its imports (at idle priority by then), or between two searches.
                connection.send(("regressor", self._active.regressor))
                self._regressor_sent = True
            connection.send(("solve", task, search, attempt))
            while True:
                if stop.is_set() and not stop_sent:
                    connection.send(("stop",))
                    stop_sent = True
                if not connection.poll(POLL_S):
                    continue
                message = connection.recv()
                if message[0] == "progress":
                    emit(message[1])
                elif message[0] == "done":
                    outcome: OptimizationOutcome = message[1]
                    return outcome
                else:
                    raise SearchFailed(message[2], field=message[1])
        except (EOFError, OSError):
            code = self._process.exitcode if self._process is not None else None
            self.close()
            raise SearchFailed(f"the search process died (exit code {code})") from None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        if self._process is not None:
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        self._process = self._connection = None
