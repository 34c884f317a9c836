"""The Strawberry GraphQL app as served: a request context per request, and an error code on every error."""

from typing import Any

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema import BaseSchema
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from budsim.resolvers.context import Context
from budsim.web.auth import Unauthenticated, authenticate_connection
from budsim.web.context import request_context
from budsim.web.pages import PAGE_HEADERS, page_response

GRAPHIQL_OFF = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>BudSim: GraphiQL is off</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; line-height: 1.5">
<h1>GraphiQL is off on this server</h1>
<p>It answers only the dashboard's own operations (<code>TRUSTED_DOCUMENTS=true</code>), so GraphiQL could run
nothing else. Use <a href="/">the dashboard</a>, the REST routes, or a server without that setting.</p>
</body></html>
"""
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
    def __init__(self, schema: BaseSchema, *, trusted_documents: bool = False) -> None:
        super().__init__(schema)
        self.trusted_documents = trusted_documents

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Context:
        return request_context(request)

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL built from npm into BudSim's own assets (web.pages), not Strawberry's page, which loads React
        and GraphiQL from a public CDN and so stays blank on a cluster without internet access. Where only the
        dashboard's operations run (TRUSTED_DOCUMENTS) GraphiQL could run nothing else, so a page says so."""
        if self.trusted_documents:
            return HTMLResponse(GRAPHIQL_OFF, status_code=404, headers=PAGE_HEADERS)
        return page_response("graphiql.html", "GraphiQL page")

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

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        """503 when nothing could be served because the database was away: load balancers and retrying clients read
        the status, not the body. A partial answer (some fields served) stays 200 with its errors."""
        response = super().create_response(response_data, sub_response)
        if isinstance(response_data, dict) and _unavailable(response_data):
            response.status_code = 503
            response.headers["retry-after"] = "1"
        return response


def _unavailable(response: GraphQLHTTPResponse) -> bool:
    errors = response.get("errors") or []
    data = response.get("data")
    served = isinstance(data, dict) and any(value is not None for value in data.values())
    codes = [error.get("extensions", {}).get("code") for error in errors if isinstance(error, dict)]
    return bool(codes) and not served and all(code == "SERVICE_UNAVAILABLE" for code in codes)
