"""The GraphQL schema: roots, error handling and extensions wired together."""

import logging
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache

from budsim.schema.errors import EXCEPTION_HANDLERS, MaskUnexpectedErrors, is_unexpected
from budsim.schema.limits import QueryLimits, limit_extensions
from budsim.schema.mutation import Mutation
from budsim.schema.query import Query
from budsim.schema.subscription import Subscription

log = logging.getLogger("budsim.graphql")
QUERY_CACHE_SIZE = 512  # distinct operation texts kept parsed and validated


class BudSimSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Client mistakes are answered, not logged as server faults; only unexpected exceptions get a traceback."""
        for error in errors:
            if is_unexpected(error):
                log.error("unexpected error in %s", error.path, exc_info=error.original_error)
            else:
                log.debug("client error: %s", error.message)


def build_schema(limits: QueryLimits | None = None) -> strawberry.Schema:
    """The served schema; `limits` (budsim.schema.limits) come from the settings, through the app."""
    return BudSimSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # A dashboard sends the same few operations over and over: parse and validate each once, not per request
        # (validation was a sixth of a simulate's CPU under load; bench/load.py).
        extensions=[
            MaskUnexpectedErrors,
            partial(ParserCache, maxsize=QUERY_CACHE_SIZE),  # per-request instances share module-level caches
            partial(ValidationCache, maxsize=QUERY_CACHE_SIZE),
            *limit_extensions(limits or QueryLimits()),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
    )
