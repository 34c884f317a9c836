"""The one scope check every resolver that writes or administers calls: `require(ctx, Scope.WRITE)`.

`Forbidden` is a GraphQL error (code FORBIDDEN), not a union member: the field that needed the scope answers null
with the error, and sibling query fields still answer. Mutation fields are non-null, so a refused mutation nulls
`data` as any top-level error does; one error shape for every field keeps clients' handling to one code. The REST
adapters call these same resolvers, and so refuse with the same check.
"""

import uuid

from graphql import GraphQLError

from budsim.core.auth import DEVELOPMENT, Principal, Scope
from budsim.resolvers.context import Context

__all__ = ["DEVELOPMENT", "Forbidden", "Principal", "Scope", "caller_key_id", "require"]


class Forbidden(GraphQLError):
    def __init__(self, needed: Scope, principal: Principal | None) -> None:
        holder = f"API key {principal.name!r} holds {principal.scope.label!r}" if principal else "no API key was given"
        super().__init__(
            f"This needs the {needed.label!r} scope; {holder}.",
            extensions={"code": "FORBIDDEN", "scope": needed.label},
        )
        self.needed = needed


def require(ctx: Context, needed: Scope) -> Principal:
    """The caller, if it holds `needed` (or a scope implying it); Forbidden otherwise."""
    principal = ctx.principal
    if principal is None or not principal.allows(needed):
        raise Forbidden(needed, principal)
    return principal


def caller_key_id(ctx: Context) -> uuid.UUID | None:
    """The API key a row the caller creates belongs to (jobs, endpoints); None without one (auth disabled)."""
    principal = ctx.principal
    return uuid.UUID(principal.key_id) if principal and principal.key_id else None
