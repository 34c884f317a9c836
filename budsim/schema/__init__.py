"""The GraphQL schema: roots, error handling and extensions wired together."""

import logging
from typing import Any

import strawberry
from graphql import GraphQLError

from budsim.schema.errors import EXCEPTION_HANDLERS, MaskUnexpectedErrors, is_unexpected
from budsim.schema.mutation import Mutation
from budsim.schema.query import Query
from budsim.schema.subscription import Subscription

log = logging.getLogger("budsim.graphql")


class BudSimSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Client mistakes are answered, not logged as server faults; only unexpected exceptions get a traceback."""
        for error in errors:
            if is_unexpected(error):
                log.error("unexpected error in %s", error.path, exc_info=error.original_error)
            else:
                log.debug("client error: %s", error.message)


def build_schema() -> strawberry.Schema:
    return BudSimSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[MaskUnexpectedErrors],
        exception_handlers=EXCEPTION_HANDLERS,
    )
