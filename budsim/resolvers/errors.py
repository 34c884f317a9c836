"""Exceptions resolvers raise for expected failures; schema/errors.py maps each onto its GraphQL union member."""

from graphql import GraphQLError

from budsim.core.errors import ConfigError, CoreError
from budsim.db.unavailable import UNAVAILABLE_MESSAGE, is_unavailable
from budsim.jobs.api_fields import input_field, model_config_field

__all__ = ["UNAVAILABLE_MESSAGE", "BadUserInput", "Conflict", "Invalid", "NotFound", "is_unavailable"]


class Invalid(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class TooManyJobs(Invalid):
    """The caller's key has MAX_ACTIVE_JOBS_PER_KEY optimizations queued or running: a ValidationError on field
    `input` in GraphQL; REST answers 429, since the same request succeeds once one of them ends."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            "input",
            f"this API key has {limit} optimizations queued or running, the most it may have "
            "(MAX_ACTIVE_JOBS_PER_KEY); retry when one of them ends",
        )
        self.limit = limit


class NotFound(Exception):
    def __init__(self, entity: str, id: str) -> None:
        super().__init__(f"{entity} {id} does not exist")
        self.entity = entity
        self.id = id
        self.message = str(self)


class Conflict(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class BadUserInput(GraphQLError):
    """For queries, whose results are plain types: a GraphQL error carrying `code` and the offending `field`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", extensions={"code": "BAD_USER_INPUT", "field": field})


def invalid_input(error: CoreError) -> Invalid:
    """A core error about a simulate or optimize request, naming the input to fix rather than core's field."""
    return Invalid(f"input.{input_field(error.field)}", error.message)


def invalid_model_config(error: ConfigError) -> Invalid:
    """A config.json that core cannot read, naming the key under registerModel's `config` argument."""
    return Invalid(model_config_field(error.field), error.message)
