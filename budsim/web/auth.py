"""Authentication at the edge: every HTTP route needs `Authorization: Bearer <API key>` unless it is public.

`Authenticate` is ASGI middleware around the whole app, so a route added anywhere (GraphQL, REST) is covered
without doing anything; only PUBLIC_PATHS (the probes, which orchestrators call without credentials) and the browser
pages (`web.pages.is_page_request`: the dashboard, its assets and GraphiQL's HTML, none of which holds data) pass
without a key. GraphQL itself, over GET as over POST, always needs one. It puts the caller's `Principal` in the ASGI
scope under PRINCIPAL_KEY (`principal_of(scope)` reads it), where the GraphQL context (and any other adapter) picks it
up for `resolvers.auth.require`.

A websocket cannot carry headers from a browser, so its key comes in `connection_init`'s payload, as
`{"Authorization": "Bearer <key>"}` or `{"token": "<key>"}`; `authenticate_connection` checks it there and the
GraphQL view refuses the connection (graphql-transport-ws: close 4403; graphql-ws: `connection_error`).

With auth disabled (settings.Settings.auth_enabled) every request is the DEVELOPMENT principal, which holds admin.

After authentication an HTTP request (the probes aside) takes a token from its key's bucket
(budsim.web.rate_limit; RATE_LIMIT_PER_MINUTE); without one it is answered 429 with `Retry-After` and the same
error shape as the 401, code RATE_LIMITED. The development principal has one bucket of its own.
"""

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from budsim.db import api_keys
from budsim.db.unavailable import UNAVAILABLE_MESSAGE, is_unavailable
from budsim.resolvers.auth import DEVELOPMENT, Principal
from budsim.web.errors import send_error
from budsim.web.pages import is_page_request
from budsim.web.rate_limit import RateLimiter

PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})
PRINCIPAL_KEY = "budsim.principal"
CODE = "UNAUTHENTICATED"


class Unauthenticated(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_error(self) -> dict[str, object]:
        return {"message": self.message, "extensions": {"code": CODE}}


def principal_of(scope: Mapping[str, object]) -> Principal | None:
    """The caller the middleware authenticated this request as (None on a websocket until `connection_init`)."""
    principal = scope.get(PRINCIPAL_KEY)
    return principal if isinstance(principal, Principal) else None


def bearer_token(value: str | None) -> str:
    """The key in an `Authorization: Bearer <key>` value; Unauthenticated if there is none."""
    if not value:
        raise Unauthenticated("This needs an API key: send `Authorization: Bearer <key>`.")
    kind, _, token = value.strip().partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must be `Bearer <key>`.")
    return token.strip()


async def authenticate(sessions: async_sessionmaker[AsyncSession], token: str) -> Principal:
    principal = await api_keys.authenticate(sessions, token)
    if principal is None:
        raise Unauthenticated("The API key is unknown or revoked.")
    return principal


async def authenticate_connection(
    sessions: async_sessionmaker[AsyncSession], params: Mapping[str, object] | None
) -> Principal:
    """The caller a websocket's `connection_init` payload names, by `Authorization` (any case) or `token`."""
    params = params or {}
    headers = {str(name).lower(): value for name, value in params.items()}
    token = headers.get("token")
    if isinstance(token, str) and token.strip():
        return await authenticate(sessions, token.strip())
    authorization = headers.get("authorization")
    return await authenticate(sessions, bearer_token(authorization if isinstance(authorization, str) else None))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class Authenticate:
    """ASGI middleware: HTTP 401 with a GraphQL-shaped error (code UNAUTHENTICATED) for a request without a valid
    key; the principal in the scope for the rest. Websockets pass through to be checked at `connection_init`."""

    def __init__(self, app: ASGIApp, enabled: bool, rate_limit_per_minute: int = 0) -> None:
        self.app = app
        self.enabled = enabled
        self.limiter = RateLimiter(rate_limit_per_minute) if rate_limit_per_minute > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        public = scope["type"] == "websocket" or scope["path"] in PUBLIC_PATHS or is_page_request(scope)
        if not self.enabled:
            await self._pass(DEVELOPMENT, scope, receive, send, limited=not public)
            return
        if public:
            await self.app(scope, receive, send)
            return
        try:
            token = bearer_token(_header(scope, b"authorization"))
            principal = await authenticate(scope["app"].state.reader, token)
        except Unauthenticated as refusal:
            await _refuse(send, refusal)
            return
        except Exception as error:
            if not is_unavailable(error):
                raise
            await _unavailable(send)  # the key cannot be checked: retry, as for any request meanwhile
            return
        await self._pass(principal, scope, receive, send)

    async def _pass(
        self, principal: Principal, scope: Scope, receive: Receive, send: Send, limited: bool = True
    ) -> None:
        """On to the app as `principal`, if its key's bucket has a token (probes, pages and websockets are not
        limited)."""
        if self.limiter is not None and limited:
            wait = self.limiter.take(principal.key_id)
            if wait is not None:
                await _rate_limited(send, wait)
                return
        await self.app({**scope, PRINCIPAL_KEY: principal}, receive, send)


async def _rate_limited(send: Send, retry_after: int) -> None:
    error = {
        "message": f"Too many requests for this API key (RATE_LIMIT_PER_MINUTE); retry in {retry_after} s.",
        "extensions": {"code": "RATE_LIMITED", "retryAfterSeconds": retry_after},
    }
    await send_error(send, 429, error, [(b"retry-after", str(retry_after).encode())])


async def _unavailable(send: Send) -> None:
    error = {"message": UNAVAILABLE_MESSAGE, "extensions": {"code": "SERVICE_UNAVAILABLE"}}
    await send_error(send, 503, error, [(b"retry-after", b"1")])


async def _refuse(send: Send, refusal: Unauthenticated) -> None:
    await send_error(send, 401, refusal.as_error(), [(b"www-authenticate", b'Bearer realm="budsim"')])
