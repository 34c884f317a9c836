"""`simulate` predictions run in child processes, so the event loop only parses, reads, writes and answers.

One prediction is 5–20 ms of CPU-bound numpy and XGBoost (bench/simulate.py), most of a `simulate` request's cost.
On the event loop every other request and subscriber would wait for it; in a thread it would still hold the
interpreter lock. A child process runs it on another core at normal priority, ahead of the SCHED_IDLE searches
(`jobs.search_process`).

The loop talks to each child over a pipe it watches itself (`add_reader`): a request is written and its answer read
on the loop thread, with no helper thread in between. A `concurrent.futures` process pool hands each call through
two threads of its own, and under load each hand-off waited for the busy loop to let go of the interpreter lock
(slower than computing inline; bench/load.py measures it). Answers come back in request order, so each child keeps a
FIFO of the futures it owes.

With `processes=0` predictions run inline on the loop: for tools and tests that want no child.
"""

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
from collections import deque
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from budsim.core.architecture import ModelArchitecture
from budsim.core.calibration import measured_gpus
from budsim.core.deployment import Cluster, Workload
from budsim.core.errors import CoreError, describe
from budsim.core.heuristic import PartialConfig
from budsim.core.predictors import ActiveRegressor, ResidualRegressor
from budsim.core.simulation import Prediction, simulate
from budsim.core.types import Engine
from budsim.runtime.pipes import received

log = logging.getLogger("budsim")

# Requests a child may owe at once. A request is under 1 KiB pickled (660 bytes for DeepSeek-V3), so this many never
# fill the pipe's buffer (208 KiB on Linux) and a send never blocks the loop, nor fails where uvloop made the pipe
# non-blocking; requests beyond it wait their turn on the loop instead.
MAX_OWED = 32
# What a child sends once it holds the regressor: the pipe towards it is empty from then on but for requests.
READY = "ready"


class PredictionProcessDied(RuntimeError):
    """The child computing a prediction exited before answering (killed, or crashed in native code)."""


def _serve(connection: Connection) -> None:
    """The child: read the regressor, say so, then answer each request in order until the parent closes the pipe.
    Core errors go back as they are (they name the field at fault); anything else as a RuntimeError with its reason,
    never a traceback."""
    messages = received(connection)
    regressor: ResidualRegressor | None = next(messages, None)
    if regressor is not None:
        try:
            regressor.forest.merge()  # 0.6 s now, before READY, for 3.4 ms less in every REGRESSOR prediction
        except Exception as error:  # a speed-up only: predict member by member rather than not at all
            log.warning("the prediction process predicts booster by booster: merging failed (%s)", describe(error))
        _release_freed_heap()
    try:
        connection.send(READY)
        for request in messages:
            connection.send(_answer(request, regressor))
    except OSError:  # the parent closed the pipe: nobody waits for an answer
        return


def _release_freed_heap() -> None:
    """Give the memory the merge parsed its JSON in back to the system: glibc keeps freed heap for reuse, 70 MB of it
    in every prediction process for the rest of its life."""
    with contextlib.suppress(OSError, AttributeError):  # no glibc (macOS, musl): nothing to do
        ctypes.CDLL(None).malloc_trim(0)


def _answer(request: Any, regressor: ResidualRegressor | None) -> tuple[str, Any]:
    if request == "pid":
        return ("ok", os.getpid())
    try:
        return ("ok", _predict(request, regressor))
    except CoreError as error:
        return ("error", error)
    except Exception as error:
        return ("error", RuntimeError(describe(error)))


def _predict(request: Any, regressor: ResidualRegressor | None) -> Prediction:
    """A request's prediction: corrected when it asks and a regressor is held; either way the GPUs that count as
    measured are the held regressor's, so both methods agree on them."""
    arch, cluster, workload, partial, engine, corrected = request
    correction = regressor if corrected else None
    return simulate(arch, cluster, workload, partial, engine, correction, measured_gpus(regressor))


class _Child:
    """One child process, its end of the pipe and the futures it owes, oldest first."""

    def __init__(self, regressor: ResidualRegressor | None, loop: asyncio.AbstractEventLoop) -> None:
        # spawn, not fork: the parent has an event loop, threads and database connections to not inherit
        context = multiprocessing.get_context("spawn")
        self.connection, theirs = context.Pipe()
        # Only the pipe among the arguments: `start` returns once the child has read them, and the child reads as it
        # imports, so 5 MB of regressor in there held the event loop for a second or more.
        self.process: BaseProcess = context.Process(target=_serve, args=(theirs,), name="budsim-predict", daemon=True)
        self.process.start()
        theirs.close()
        self.owed: deque[asyncio.Future[Any]] = deque()
        self.alive = True
        self._loop = loop
        # The regressor follows from a thread, which then waits for the child to say it has read it; the loop
        # watches and writes to the pipe only after that (`_hand_over`).
        self._ready = loop.run_in_executor(None, self._hand_over, regressor)
        self._ready.add_done_callback(self._watch)

    def _hand_over(self, regressor: ResidualRegressor | None) -> None:
        """In a helper thread: send the regressor (the child reads it after its imports, and the loop must not wait),
        then wait for the child's word that it has read all of it. Until then the loop leaves the pipe alone: uvloop
        makes a pipe it watches non-blocking, on which a 5 MB send fails half-way, and a request written behind the
        regressor's unread tail (up to a full buffer when the child waits for a core) failed with EAGAIN, as if the
        child had died."""
        self.connection.send(regressor)
        self.connection.recv()  # READY; EOFError where the child died first

    def _watch(self, ready: asyncio.Future[None]) -> None:
        if self.alive and not ready.cancelled() and ready.exception() is None:  # else `ask` finds the child dead
            self._loop.add_reader(self.connection.fileno(), self._read)

    async def ask(self, request: object) -> Any:
        try:
            await asyncio.shield(self._ready)  # at once when ready: requests keep their order on the pipe
        except Exception:  # the child died before it was ready, or the pipe was closed under the hand-over
            self._died()
        if not self.alive:
            raise PredictionProcessDied("the prediction process died before it could answer")
        future = self._loop.create_future()
        self.owed.append(future)
        try:
            self.connection.send(request)
        except OSError:
            self._died()
        return await future

    def _read(self) -> None:
        try:
            while self.connection.poll():
                status, value = self.connection.recv()
                future = self.owed.popleft()
                if future.done():  # its request was cancelled (the client went away)
                    continue
                if status == "ok":
                    future.set_result(value)
                else:
                    future.set_exception(value)
        except (EOFError, OSError):
            self._died()

    def _died(self) -> None:
        if not self.alive:
            return
        self.alive = False
        code = self.process.exitcode
        log.warning("the prediction process %s died (exit code %s)", self.process.pid, code)
        self.close()
        while self.owed:
            future = self.owed.popleft()
            if not future.done():
                future.set_exception(PredictionProcessDied(f"the prediction process died (exit code {code})"))

    def close(self) -> None:
        self.alive = False
        with contextlib.suppress(ValueError, OSError):  # already closed
            self._loop.remove_reader(self.connection.fileno())
        self.connection.close()  # the child reads EOF and returns, at most one prediction later
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class Predictions:
    """Runs `core.simulation.simulate` for the API, each request on the child that owes the fewest answers. A child
    that dies is replaced and its requests retried once, so one bad moment costs latency, not errors.

    `use` switches to another regressor version without a restart: children holding it start beside the old ones
    and take over once ready; the old ones answer what they owe, then exit. Every answer says which version made it.
    """

    def __init__(self, active: ActiveRegressor, processes: int) -> None:
        self._active = active
        self._processes = processes
        self._children: list[_Child] = []
        self._slots = asyncio.Semaphore(MAX_OWED * max(processes, 1))
        self._retiring: set[asyncio.Task[None]] = set()

    @property
    def active(self) -> ActiveRegressor:
        return self._active

    async def start(self) -> None:
        """Start the children and return once each has answered, so that the first requests do not wait a second
        or more for a child's imports; the loop runs on meanwhile. Call it on the event loop that will use them."""
        await asyncio.gather(*(child.ask("pid") for child in self._replace_dead()))

    async def use(self, active: ActiveRegressor) -> None:
        """Predict with `active` from now on: once its children are ready, every request goes to them."""
        if self._processes == 0:
            self._active = active
            return
        loop = asyncio.get_running_loop()
        fresh = [_Child(active.regressor, loop) for _ in range(self._processes)]
        try:
            await asyncio.gather(*(child.ask("pid") for child in fresh))
        except BaseException:
            for child in fresh:
                child.close()
            raise
        old, self._children, self._active = self._children, fresh, active
        for child in old:
            task = asyncio.create_task(self._retire(child), name="budsim-predict-retire")
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)

    @staticmethod
    async def _retire(child: _Child) -> None:
        """Close a replaced child once it has answered what it owes (its requests were sent before the switch)."""
        while child.alive and child.owed:
            await asyncio.gather(*child.owed, return_exceptions=True)
        await asyncio.to_thread(child.close)

    def _replace_dead(self) -> list[_Child]:
        loop = asyncio.get_running_loop()
        self._children = [child for child in self._children if child.alive]
        while len(self._children) < self._processes:
            self._children.append(_Child(self._active.regressor, loop))
        return self._children

    async def _ask(self, request: object) -> tuple[Any, ActiveRegressor]:
        """The child's answer, and the regressor it holds: read with the child, as a switch replaces both at once."""
        async with self._slots:
            for attempt in (1, 2):
                child = min(self._replace_dead(), key=lambda c: len(c.owed))
                active = self._active
                try:
                    return await child.ask(request), active
                except PredictionProcessDied:
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    async def simulate(
        self,
        arch: ModelArchitecture,
        cluster: Cluster,
        workload: Workload,
        partial: PartialConfig,
        engine: Engine,
        corrected: bool,
    ) -> tuple[Prediction, int | None]:
        """`core.simulation.simulate`, with the regressor's corrections when `corrected` and one is loaded; and the
        regressor version whose corrections it holds (None when uncorrected or unversioned)."""
        if self._processes == 0:
            active = self._active
            prediction = _predict((arch, cluster, workload, partial, engine, corrected), active.regressor)
        else:
            prediction, active = await self._ask((arch, cluster, workload, partial, engine, corrected))
        return prediction, active.version if corrected and active.regressor is not None else None

    async def child_pid(self) -> int | None:
        """The process the next prediction would run in (None: the event loop's own); for tests."""
        if self._processes == 0:
            return None
        pid, _ = await self._ask("pid")
        return int(pid)

    def close(self) -> None:
        for task in self._retiring:
            task.cancel()
        for child in self._children:
            child.close()
        self._children = []
