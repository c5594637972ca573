"""Keyset pages for the dashboard's long lists (calls, contacts): newest first, "Newer" and "Older"
links carrying the edge row's (time, id) as a cursor. No count(*) and no OFFSET, so a page costs
the same on the 100,000th call as on the first: the (organization, time, id) index is walked from
the cursor on."""

from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db


@dataclass
class Page:
    items: list
    newer: str | None  # cursor of the page before this one (newer rows), None on the newest page
    older: str | None  # cursor of the next page (older rows), None on the last page


def _cursor(value: str | None):
    # the API's cursors (imported here: the api package imports the blueprints that use this)
    from app.api.errors import ApiError
    from app.api.pagination import decode

    try:
        return decode(value) if value else None
    except ApiError:
        return None  # a mangled link: the newest page rather than an error


def newest_first(query, column, id_column, args, per_page: int) -> Page:
    """One page of `query`, newest first by (column, id); `args`: the request's `before`/`after`."""
    key = sa.tuple_(column, id_column)
    after = _cursor(args.get("after"))
    if after is not None:  # going back towards the newest: read upwards, show newest first
        rows = db.session.scalars(query.where(key > after).order_by(column, id_column)
                                  .limit(per_page + 1)).all()
        more_newer, rows = len(rows) > per_page, rows[:per_page][::-1]
        return Page(rows, _edge(rows[0], column) if more_newer and rows else None,
                    _edge(rows[-1], column) if rows else None)
    before = _cursor(args.get("before"))
    if before is not None:
        query = query.where(key < before)
    rows = db.session.scalars(query.order_by(column.desc(), id_column.desc()).limit(per_page + 1)).all()
    more_older, rows = len(rows) > per_page, rows[:per_page]
    return Page(rows, _edge(rows[0], column) if before is not None and rows else None,
                _edge(rows[-1], column) if more_older else None)


def _edge(row, column) -> str:
    from app.api.pagination import encode

    return encode(getattr(row, column.key), row.id)
