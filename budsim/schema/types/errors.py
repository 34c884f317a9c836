"""Expected failures are part of the schema: mutations return them as union members, never as raw exceptions."""

import strawberry


@strawberry.interface(description="A failure the client can act on.")
class Error:
    message: str


@strawberry.type(description="An input value is missing, malformed or out of range; `field` is its dotted path.")
class ValidationError(Error):
    field: str


@strawberry.type(description="No object of this kind has the given id.")
class NotFoundError(Error):
    id: strawberry.ID
    entity: str


@strawberry.type(description="The change conflicts with stored data (a duplicate name, a row still referenced).")
class ConflictError(Error):
    field: str


@strawberry.type(description="The API key lacks the scope this mutation needs (`scope`: read, write or admin).")
class ForbiddenError(Error):
    scope: str
