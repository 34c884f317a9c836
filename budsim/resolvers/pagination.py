"""Opaque cursors and page-size checks for the Relay-style connections."""

import base64
import json
import uuid
from datetime import datetime
from typing import Any

from budsim.resolvers.errors import BadUserInput
from budsim.schema.types.pagination import PageInfo

MAX_PAGE_SIZE = 100


def encode_cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps([str(p) for p in parts]).encode()).decode()


def decode_cursor(cursor: str, arity: int) -> list[str]:
    try:
        parts: object = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        raise BadUserInput("after", "is not a cursor returned by this API") from None
    if not isinstance(parts, list) or len(parts) != arity:
        raise BadUserInput("after", "is not a cursor returned by this API")
    names = [p for p in parts if isinstance(p, str) and "\x00" not in p]  # NUL: no stored name holds one
    if len(names) != arity:
        raise BadUserInput("after", "is not a cursor returned by this API")
    return names


def decode_time_id_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    created_at, row_id = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(created_at), uuid.UUID(row_id)
    except ValueError:
        raise BadUserInput("after", "is not a cursor returned by this API") from None


def check_first(first: int) -> int:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput("first", f"must be between 1 and {MAX_PAGE_SIZE}, got {first}")
    return first


def query_id(value: str, field: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise BadUserInput(field, f"is not a valid id: {value!r}") from None


def page_info(cursors: list[str], has_next_page: bool, after: str | None) -> PageInfo:
    """Relay page info for a forward-only page whose edges carry `cursors`, in order."""
    return PageInfo(
        has_next_page=has_next_page,
        has_previous_page=after is not None,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )
