"""`simulate` predictions computed in a child process: the same numbers as inline, typed errors that name their
field, and a child that dies is replaced without failing the request."""

import asyncio
import multiprocessing
import os
import signal
from collections.abc import AsyncIterator

import pytest
import uvloop

from budsim.core.architecture import parse_hf_config
from budsim.core.catalog.fabrics import catalog_cluster
from budsim.core.catalog.gpus import find_gpu
from budsim.core.catalog.models import CATALOG_BY_ID
from budsim.core.deployment import Cluster, Workload
from budsim.core.errors import CoreError, InfeasibleConfigError
from budsim.core.heuristic import PartialConfig
from budsim.core.predictors import ActiveRegressor, ResidualRegressor
from budsim.core.types import Engine
from budsim.runtime.predictions import MAX_OWED, Predictions
from tests.processes import loaded_xgboost

LLAMA_8B = parse_hf_config(CATALOG_BY_ID["meta-llama/Llama-3.1-8B-Instruct"].config)
WORKLOAD = Workload(input_tokens=1000, output_tokens=200, concurrency=16)


def h100s(count: int) -> Cluster:
    gpu = find_gpu("H100-SXM")
    assert gpu is not None
    return catalog_cluster(gpu, count)


@pytest.fixture
async def in_child(regressor: ResidualRegressor) -> AsyncIterator[Predictions]:
    predictions = Predictions(ActiveRegressor(regressor, 1), processes=1)
    await predictions.start()
    yield predictions
    predictions.close()


@pytest.mark.parametrize("corrected", [False, True], ids=["HEURISTIC", "REGRESSOR"])
async def test_a_prediction_from_the_child_equals_the_one_computed_on_the_loop(
    in_child: Predictions, regressor: ResidualRegressor, corrected: bool
) -> None:
    inline = Predictions(ActiveRegressor(regressor, 1), processes=0)
    args = (LLAMA_8B, h100s(1), WORKLOAD, PartialConfig(), Engine.VLLM, corrected)
    from_child, version = await in_child.simulate(*args)
    assert await in_child.child_pid() not in (None, os.getpid())
    assert (from_child, version) == await inline.simulate(*args)
    assert version == (1 if corrected else None)  # only a corrected answer owes anything to a regressor version
    assert from_child.metrics.output_tokens_per_s > 0  # type: ignore[operator]


async def test_a_core_error_crosses_from_the_child_with_its_field_and_message(in_child: Predictions) -> None:
    with pytest.raises(InfeasibleConfigError) as raised:
        await in_child.simulate(
            LLAMA_8B, h100s(8), WORKLOAD, PartialConfig(gpu_memory_utilization=1.5), Engine.VLLM, False
        )
    assert isinstance(raised.value, CoreError)
    assert raised.value.field == "gpu_memory_utilization"
    assert raised.value.message == "must be in (0, 1], got 1.5"


async def test_starting_a_child_does_not_hold_the_loop_through_its_imports(regressor: ResidualRegressor) -> None:
    # The regressor once travelled among the child's arguments, which `Process.start` hands over only as fast as
    # the child reads them: after its imports, a second or more with the event loop stopped.
    predictions = Predictions(ActiveRegressor(regressor, 1), processes=1)
    others = {process.pid for process in multiprocessing.active_children()}
    try:
        starting = asyncio.create_task(predictions.start())
        await asyncio.sleep(0)  # `start` has spawned the child and waits for it
        [child] = [process for process in multiprocessing.active_children() if process.pid not in others]
        assert child.pid is not None
        assert not starting.done()
        assert not loaded_xgboost(child.pid)  # the loop runs on while the child imports
        await starting
        assert loaded_xgboost(child.pid)  # started means ready to answer at once
        assert await predictions.child_pid() == child.pid
    finally:
        predictions.close()


def test_a_child_answers_on_uvloop_the_loop_budsim_serve_runs(regressor: ResidualRegressor) -> None:
    # uvloop makes a socket it watches non-blocking: the regressor's 5 MB once failed half-way down the pipe there.
    async def predict() -> float:
        predictions = Predictions(ActiveRegressor(regressor, 1), processes=1)
        await predictions.start()
        try:
            args = (LLAMA_8B, h100s(1), WORKLOAD, PartialConfig(), Engine.VLLM, True)
            prediction, _version = await predictions.simulate(*args)
            return float(prediction.metrics.output_tokens_per_s)  # type: ignore[arg-type]
        finally:
            predictions.close()

    assert uvloop.run(predict()) > 0


async def test_a_killed_child_is_replaced_and_the_prediction_still_answered(in_child: Predictions) -> None:
    before = await in_child.child_pid()
    assert before is not None
    os.kill(before, signal.SIGKILL)
    prediction, _version = await in_child.simulate(LLAMA_8B, h100s(1), WORKLOAD, PartialConfig(), Engine.VLLM, False)
    assert prediction.config.tensor_parallel == 1
    after = await in_child.child_pid()
    assert after not in (None, before)


def test_requests_sent_while_the_child_is_slow_to_read_its_regressor_wait_for_it(regressor: ResidualRegressor) -> None:
    # A busy machine in miniature: the loop and its new child share one core, the child at the lowest priority, so
    # it reads only while the loop's threads wait. uvloop makes a watched pipe non-blocking, and requests written
    # while the tail of the regressor's 5 MB was still unread failed with EAGAIN, taken for a dead child (CI: two
    # API servers and two workers starting at once on two cores).
    async def burst() -> list[float]:
        predictions = Predictions(ActiveRegressor(regressor, 1), processes=1)
        others = {process.pid for process in multiprocessing.active_children()}
        args = (LLAMA_8B, h100s(1), WORKLOAD, PartialConfig(), Engine.VLLM, True)
        asks = [asyncio.ensure_future(predictions.simulate(*args)) for _ in range(MAX_OWED)]
        await asyncio.sleep(0)  # the first has started the child
        [child] = [process for process in multiprocessing.active_children() if process.pid not in others]
        assert child.pid is not None
        os.sched_setscheduler(child.pid, os.SCHED_IDLE, os.sched_param(0))
        try:
            return [prediction.metrics.output_tokens_per_s for prediction, _ in await asyncio.gather(*asks)]
        finally:
            predictions.close()

    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})  # this thread, and the loop's helper threads and child it starts
    try:
        answers = uvloop.run(burst())
    finally:
        os.sched_setaffinity(0, cores)
    assert answers[0] > 0
    assert answers == [answers[0]] * MAX_OWED  # every request answered, none failed as if the child had died


async def test_switching_versions_moves_every_later_prediction_to_new_children(in_child: Predictions) -> None:
    args = (LLAMA_8B, h100s(1), WORKLOAD, PartialConfig(), Engine.VLLM, True)
    corrected, version = await in_child.simulate(*args)
    old_pid = await in_child.child_pid()
    assert version == 1
    await in_child.use(ActiveRegressor(None, 2))  # a version whose model could not be loaded: no corrections
    switched, version = await in_child.simulate(*args)
    uncorrected, _ = await in_child.simulate(*args[:-1], False)
    assert version is None  # nothing was corrected, so no version is owed
    assert switched == uncorrected != corrected
    assert await in_child.child_pid() not in (None, old_pid)
    assert in_child.active == ActiveRegressor(None, 2)


async def test_a_switch_lets_the_replaced_child_answer_what_it_owes_first(
    in_child: Predictions, regressor: ResidualRegressor
) -> None:
    args = (LLAMA_8B, h100s(1), WORKLOAD, PartialConfig(), Engine.VLLM, True)
    owed = [asyncio.ensure_future(in_child.simulate(*args)) for _ in range(8)]
    await asyncio.sleep(0)  # all eight are on the old child's pipe
    await in_child.use(ActiveRegressor(regressor, 2))
    answers = await asyncio.gather(*owed)
    assert {version for _, version in answers} == {1}  # answered by the version they were sent to
    _, version = await in_child.simulate(*args)
    assert version == 2
