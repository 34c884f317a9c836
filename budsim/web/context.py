"""The resolvers' Context for one request, built the same way for every edge (GraphQL, websockets, REST)."""

from starlette.requests import HTTPConnection

from budsim.resolvers.context import Context
from budsim.web.admission import SCOPE_KEY
from budsim.web.auth import principal_of


def request_context(connection: HTTPConnection) -> Context:
    """What the app's lifespan built, handed to the resolvers; a websocket's turn rides along in its scope."""
    state = connection.app.state
    return Context(
        settings=state.settings,
        sessionmaker=state.sessionmaker,
        reader=state.reader,
        events=state.events,
        news=state.news,
        regressor=state.regressors.current.regressor,
        regressor_version=state.regressors.current.version,
        retrainer=state.retrainer,
        predictions=state.predictions,
        bulk=state.bulk,
        turn=connection.scope.get(SCOPE_KEY),
        principal=principal_of(connection.scope),
    )
