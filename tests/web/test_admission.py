"""Websocket openings take turns (budsim.web.admission): the server's work on an opening waits for a place while
interactive requests pass it by, and a turn spans that work only, never the client's silence."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import pytest
import websockets

from budsim.settings import Settings
from budsim.web import admission
from tests.api.helpers import PROGRESS, SUBSCRIPTION, places_taken, simulate, submit_job, until_subscribed
from tests.api.ws import PROTOCOLS, connection_init, subscribe
from tests.conftest import LiveServer, migrated_database, serve


@pytest.fixture(scope="module")
async def one_place(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> AsyncIterator[LiveServer]:
    """A server whose openings get one place, and no worker: its jobs stay QUEUED, their first event comes at once."""
    async with (
        migrated_database("sqlite", tmp_path_factory.mktemp("admission")) as url,
        serve(Settings(database_url=url, model_path=model_path, bulk_concurrency=1, run_worker=False)) as server,
    ):
        yield server


@pytest.fixture
async def one_place_http(one_place: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with one_place.client(timeout=30) as client:
        yield client


async def connect(server: LiveServer) -> websockets.ClientConnection:
    return await websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]


def place_free(server: LiveServer) -> bool:
    return not server.app.state.openings.locked()


def place_held(server: LiveServer) -> AbstractAsyncContextManager[None]:
    """The one place taken, as another opening's work would take it."""
    return places_taken(server.app.state.openings, 1)


async def test_an_opening_waits_for_its_turn_while_simulate_is_answered(
    one_place: LiveServer, one_place_http: httpx.AsyncClient
) -> None:
    queued = await submit_job(one_place_http, wait=False)
    async with place_held(one_place):
        opening = asyncio.create_task(connect(one_place))
        simulated = await simulate(one_place_http, "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM x1")
        assert simulated["__typename"] == "Simulation"  # interactive requests take no turn
        await asyncio.sleep(0.2)
        assert not opening.done()  # the handshake is not accepted while the place is held
    async with await opening:
        pass
    async with subscribe(one_place, PROGRESS, id=queued["id"]) as events:
        first = await events.next()
    assert first is not None
    assert first["data"]["optimizationProgress"]["status"] == "QUEUED"


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
async def test_a_subscription_start_holds_the_place_until_its_first_event(
    one_place: LiveServer, one_place_http: httpx.AsyncClient, protocol: str
) -> None:
    queued = await submit_job(one_place_http, wait=False)
    async with subscribe(one_place, PROGRESS, protocol, id=queued["id"]) as events:
        async with place_held(one_place):  # taken between the acknowledgement and the subscribe's arrival
            with pytest.raises(TimeoutError):
                await events.next(timeout_s=0.2)  # well under TURN_LIMIT_S: the subscribe waits for its turn
        first = await events.next()
        assert first is not None
        assert first["data"]["optimizationProgress"]["status"] == "QUEUED"
        assert place_free(one_place)  # given back with the first event, while the subscription goes on


async def test_a_subscription_that_fails_at_its_start_gives_its_place_back(one_place: LiveServer) -> None:
    missing = str(uuid.uuid4())
    async with subscribe(one_place, PROGRESS, id=missing) as events:
        failed = await events.next()
        assert failed is not None
        assert failed["errors"][0]["message"] == f"OptimizationJob {missing} does not exist"
        assert place_free(one_place)  # the error was the answer that ended the turn


async def test_a_client_that_connects_and_says_nothing_holds_no_place(one_place: LiveServer) -> None:
    async with await connect(one_place) as ws:
        assert place_free(one_place)  # the handshake's turn ended with the accept; silence takes none
        await ws.send(connection_init(one_place.token))
        assert json.loads(await asyncio.wait_for(ws.recv(), timeout=10))["type"] == "connection_ack"
        assert place_free(one_place)


async def test_a_subscription_with_nothing_to_send_yet_gives_its_place_back(one_place: LiveServer) -> None:
    async with subscribe(one_place, SUBSCRIPTION):
        await until_subscribed(one_place)
        assert place_free(one_place)  # hardwareProfileEvents waits for a change, not for TURN_LIMIT_S


async def test_a_turn_whose_answer_never_comes_ends_at_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admission, "TURN_LIMIT_S", 0.05)
    places = asyncio.Semaphore(1)
    turn = admission.Turn(places)
    await turn.begin()
    assert places.locked()
    await asyncio.sleep(0.2)
    assert not places.locked()


async def test_a_turn_gives_its_place_back_once_however_often_it_ends() -> None:
    places = asyncio.Semaphore(1)
    turn = admission.Turn(places)
    await turn.begin()
    await turn.begin()  # a second message's turn replaces the first: still one place
    turn.end()
    turn.end()
    assert not places.locked()
    await places.acquire()
    assert places.locked()  # one place, not two: the repeated end gave back nothing more
