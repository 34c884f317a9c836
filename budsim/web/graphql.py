"""The Strawberry GraphQL app as served: a request context per request, and an error code on every error."""

from typing import Any

from graphql import GraphQLError
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from budsim.resolvers.context import Context
from budsim.web.admission import SCOPE_KEY
from budsim.web.auth import Unauthenticated, authenticate_connection, principal_of

BARE_ACK: UnsetType = UNSET  # on_ws_connect's answer for a `connection_ack` without a payload


def _error_code(error: GraphQLError) -> str:
    """Apollo-style codes let clients tell a malformed request from a server fault without parsing messages."""
    if error.extensions and "code" in error.extensions:
        return str(error.extensions["code"])
    if error.original_error is None:
        return "GRAPHQL_PARSE_FAILED" if error.message.startswith("Syntax Error") else "GRAPHQL_VALIDATION_FAILED"
    if isinstance(error.original_error, GraphQLError):  # a variable's value failed to coerce to its declared type
        return "BAD_USER_INPUT"
    return "INTERNAL_SERVER_ERROR"


class BudSimGraphQL(GraphQL[Context, None]):
    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Context:
        state = request.app.state
        return Context(
            settings=state.settings,
            sessionmaker=state.sessionmaker,
            reader=state.reader,
            events=state.events,
            news=state.news,
            regressor=state.regressor,
            predictions=state.predictions,
            bulk=state.bulk,
            turn=request.scope.get(SCOPE_KEY),
            principal=principal_of(request.scope),
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """A websocket is authenticated by its `connection_init` payload (web.auth); the middleware already set the
        development principal when auth is off."""
        if context.principal is None:
            try:
                context.principal = await authenticate_connection(context.reader, context.connection_params)
            except Unauthenticated as refusal:
                raise ConnectionRejectionError(refusal.as_error()) from refusal
        return BARE_ACK

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        processed = await super().process_result(request, result)
        for error, formatted in zip(result.errors or [], processed.get("errors") or [], strict=False):
            if isinstance(formatted, dict):  # GraphQLError.formatted: a dict, typed `object` by Strawberry
                formatted.setdefault("extensions", {})["code"] = _error_code(error)
        return processed
