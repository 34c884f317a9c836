"""Which errors mean "the database could not be reached or dropped us", decided in one place.

The API answers those SERVICE_UNAVAILABLE (503 when nothing was served) instead of an internal error, and the worker
leaves a job whose end it could not write to its lease instead of failing it.
"""

from sqlalchemy import exc as sa_exc

# asyncpg's own connection errors (refused, dropped, "the database system is shutting down") are OSError,
# ConnectionError or PostgresConnectionError / CannotConnectNowError / AdminShutdownError (class 08 and 57P0x);
# SQLAlchemy wraps those it sees in OperationalError / InterfaceError, or raises DisconnectionError itself.
_UNAVAILABLE_TYPES: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # no pooled connection came free: the database is not keeping up
    OSError,  # ConnectionRefusedError, ConnectionResetError, socket.gaierror, TimeoutError
)
# 08: connection exceptions; 53300: max_connections reached (the fuzz suite met it on a busy shared server);
# 57P01-57P03: shut down by an administrator, crashed, or starting up
_UNAVAILABLE_SQLSTATES = ("08", "53300", "57P01", "57P02", "57P03")
UNAVAILABLE_MESSAGE = "The database is unavailable; retry shortly."


def is_unavailable(error: BaseException | None) -> bool:
    """True when `error`, or an error it was raised from, says the database could not be reached or dropped us.

    One place decides, so every resolver, mutation and probe answers a lost database the same way."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, _UNAVAILABLE_TYPES):
            return True
        if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
            return True
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        error = error.__cause__ or error.__context__
    return False
