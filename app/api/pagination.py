"""Cursor pagination shared by every list of the API: `limit`, `cursor`, `next_cursor`.

A cursor is opaque to clients (base64url of the last row's sort key and id); the sort is always
a timestamp and then the id, so it is stable and a row never appears on two pages. Rows added
after the first page land in later pages (ascending lists) or before the first (newest first).
"""

import base64
import json
import uuid
from datetime import datetime

import sqlalchemy as sa

from app.api.errors import ApiError
from app.events import iso

DEFAULT_LIMIT, MAX_LIMIT = 25, 100


def encode(moment: datetime, row_id) -> str:
    raw = json.dumps([iso_micro(moment), str(row_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def iso_micro(moment: datetime) -> str:
    return moment.isoformat()


def decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        when = datetime.fromisoformat(moment)
        if when.tzinfo is None:
            raise ValueError("naive")
        return when, uuid.UUID(row_id)
    except (ValueError, TypeError, UnicodeError, json.JSONDecodeError) as e:
        raise ApiError(400, "invalid_request",
                       "cursor is not valid: pass next_cursor from the last page.") from e


def limit_arg(args, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT, name: str = "limit") -> int:
    value = args.get(name, str(default))
    if not value.isdigit() or not 1 <= int(value) <= maximum:
        raise ApiError(400, "invalid_request", f"{name} must be a number from 1 to {maximum}.")
    return int(value)


def after(query, column, id_column, cursor: str | None, descending: bool = False):
    """The query ordered by (column, id) and, with a cursor, starting after it."""
    if cursor:
        moment, row_id = decode(cursor)
        # a row-value comparison: PostgreSQL walks the (org, column, id) index from the cursor on
        key = sa.tuple_(column, id_column)
        query = query.where(key < (moment, row_id) if descending else key > (moment, row_id))
    order = (column.desc(), id_column.desc()) if descending else (column.asc(), id_column.asc())
    return query.order_by(*order)


def page(session, query, column_name: str, limit: int) -> tuple[list, str | None]:
    """Fetch one page (one row more, to know if there is a next one) and its next cursor."""
    rows = session.scalars(query.limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode(getattr(rows[-1], column_name), rows[-1].id) if more and rows else None
    return rows, next_cursor


def parse_time(args, name: str) -> datetime | None:
    value = args.get(name)
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        raise ApiError(400, "invalid_request", f"{name} must be an ISO-8601 time, e.g. "
                       "2024-01-02T00:00:00Z.") from e
    if when.tzinfo is None:
        raise ApiError(400, "invalid_request", f"{name} needs a timezone, e.g. a trailing Z for UTC.")
    return when


__all__ = ["after", "decode", "encode", "iso", "limit_arg", "page", "parse_time"]
