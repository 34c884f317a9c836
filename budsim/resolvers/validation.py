"""Input checks shared by resolvers. Each names the offending field so clients can point at it."""

import math
import uuid
from typing import Any

from budsim.resolvers.errors import BadUserInput, Invalid


def parse_id(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Invalid(field, f"is not a valid id: {value!r}") from None


# PostgreSQL's text and jsonb cannot hold U+0000; refused here, by its field, rather than failing the write.
NUL = "\x00"


def filter_text(value: str | None, field: str) -> str | None:
    """A query's text filter (a search, a GPU type) as given; NUL refused as the query's error, since PostgreSQL
    cannot compare against it either (it failed the query as an internal error)."""
    if value is not None and NUL in value:
        raise BadUserInput(field, "must not contain the NUL character (U+0000)")
    return value


def text(value: str, field: str, *, max_length: int) -> str:
    stripped = value.strip()
    if not stripped:
        raise Invalid(field, "must not be blank")
    if NUL in stripped:
        raise Invalid(field, "must not contain the NUL character (U+0000)")
    if len(stripped) > max_length:
        raise Invalid(field, f"must be at most {max_length} characters, got {len(stripped)}")
    return stripped


def number(value: float, field: str, *, minimum: float, maximum: float, exclusive_minimum: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid(field, f"must be a finite number, got {value!r}")
    if value < minimum or (exclusive_minimum and value == minimum):
        bound = "greater than" if exclusive_minimum else "at least"
        raise Invalid(field, f"must be {bound} {minimum:g}, got {value:g}")
    if value > maximum:
        raise Invalid(field, f"must be at most {maximum:g}, got {value:g}")
    return float(value)


def integer(value: int, field: str, *, minimum: int, maximum: int) -> int:
    number(value, field, minimum=minimum, maximum=maximum)
    return int(value)


def json_object(value: Any, field: str) -> dict[str, Any]:
    """A JSON object to store as given. Python's json reads `Infinity` and `NaN`, and strings with U+0000, but
    PostgreSQL's jsonb refuses them, so any of those anywhere in it is refused here, by its path, rather than failing
    the write."""
    if not isinstance(value, dict):
        raise Invalid(field, f"must be a JSON object, got {type(value).__name__}")
    pending: list[tuple[str, Any]] = [(field, value)]
    while pending:  # a stack, not recursion: the nesting is the client's to choose
        path, item = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise Invalid(path, f"must be a finite number, got {item!r}")
        if isinstance(item, str) and NUL in item:
            raise Invalid(path, "must not contain the NUL character (U+0000)")
        if isinstance(item, dict):
            for key in item:
                if NUL in key:
                    raise Invalid(path, "must not have a key with the NUL character (U+0000)")
            pending.extend((f"{path}.{key}", child) for key, child in item.items())
        elif isinstance(item, list):
            pending.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
    return value


def whole_number(value: float, field: str, *, minimum: int, maximum: int) -> int:
    """A count that arrives as a Float in a shared input type (e.g. `WorkloadInput.concurrency`) but must be whole."""
    number(value, field, minimum=minimum, maximum=maximum)
    if not float(value).is_integer():
        raise Invalid(field, f"must be a whole number, got {value:g}")
    return int(value)
