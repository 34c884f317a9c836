"""The Strawberry GraphQL app as served: a request context per request, and an error code on every error."""

from typing import Any

from graphql import GraphQLError
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from budsim.resolvers.context import Context
from budsim.web.context import request_context


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
        return request_context(request)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        processed = await super().process_result(request, result)
        for error, formatted in zip(result.errors or [], processed.get("errors") or [], strict=False):
            if isinstance(formatted, dict):  # GraphQLError.formatted: a dict, typed `object` by Strawberry
                formatted.setdefault("extensions", {})["code"] = _error_code(error)
        return processed
