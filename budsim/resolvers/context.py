"""The per-request GraphQL context: shared factories from the app, fresh DataLoaders for every request."""

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from budsim.core.auth import Principal
from budsim.core.predictors import ResidualRegressor
from budsim.jobs.news import JobNews
from budsim.jobs.retrain import Retrainer
from budsim.resolvers.loaders import Loaders
from budsim.runtime.events import EventBus
from budsim.runtime.predictions import Predictions
from budsim.settings import Settings


class Turn(Protocol):
    """A websocket opening's turn (`web.admission`): the context only ever gives it back."""

    def end(self) -> None: ...


@dataclass
class Context:
    """Holds a session *factory*, never a session: sibling resolvers run concurrently and each opens its own."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]  # a transaction per session: for writes
    reader: async_sessionmaker[AsyncSession]  # a statement at a time, no transaction: reads, one-INSERT writes
    events: EventBus
    news: JobNews  # job news: queued (to workers), cancel (to the worker running it), progress and ends
    regressor: ResidualRegressor | None  # the REGRESSOR method's corrections; None until one could be loaded
    regressor_version: int | None  # the stored version `regressor` is: what answers compare theirs against
    retrainer: Retrainer  # starts `retrainRegressor` jobs in this process
    predictions: Predictions  # runs `simulate` off the event loop
    # A job submission holds one of BULK_CONCURRENCY places while it runs: the event loop serves its ready work first
    # come, first served, so a burst of them would queue every other request behind it, step by step. Waiting here
    # costs nothing; interactive requests pass it by. (Websocket openings take turns of their own: web.admission.)
    bulk: asyncio.Semaphore
    turn: Turn | None = None  # on a websocket: the turn its opening's work holds while it runs
    # Who asks (web.auth): over HTTP set from the request, on a websocket by its `connection_init`. None: nobody was
    # authenticated, and `resolvers.auth.require` refuses everything.
    principal: Principal | None = None
    connection_params: dict[str, object] | None = None  # a websocket's `connection_init` payload (Strawberry sets it)
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.reader)

    def started(self) -> None:
        """For a subscription with nothing to send until something happens: its opening's work is done, so the
        next opening need not wait for its first event."""
        if self.turn is not None:
            self.turn.end()
