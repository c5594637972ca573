"""What every v1 view shares: the JSON body, ids from the path, list answers, field checks."""

import uuid

from flask import g, jsonify, request

from app.api import pagination
from app.api.errors import ApiError
from app.extensions import db
from app.tenancy import org_select

PREFIX = "/api/v1"


def json_body() -> dict:
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_request", "The body must be a JSON object.")
    return data


def org_object_or_404(model, object_id, name: str):
    """The organization's object; an unknown id, a malformed one and another org's are all a 404."""
    try:
        wanted = uuid.UUID(str(object_id))
    except ValueError:
        wanted = None
    found = wanted and db.session.scalar(org_select(model).where(model.id == wanted))
    if not found:
        raise ApiError(404, "not_found", f"{name} {object_id} not found.")
    return found


def uuid_arg(name: str):
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError as e:
        raise ApiError(400, "invalid_request", f"{name} must be an id (a UUID).") from e


def enum_arg(name: str, allowed) -> str | None:
    value = request.args.get(name)
    if value is not None and value not in allowed:
        raise ApiError(400, "invalid_request", f"{name} must be one of: {', '.join(allowed)}.")
    return value


def list_response(rows, next_cursor, to_json):
    """The list shape of every v1 list: {"data", "has_more", "next_cursor"}."""
    return jsonify({"data": [to_json(r) for r in rows], "has_more": next_cursor is not None,
                    "next_cursor": next_cursor})


def paged(query, sort_column, id_column, column_name: str, descending: bool):
    limit = pagination.limit_arg(request.args)
    query = pagination.after(query, sort_column, id_column, request.args.get("cursor"), descending)
    return pagination.page(db.session, query, column_name, limit)


def listed(query, model, order_column, descending: bool) -> tuple[list, str | None]:
    """One page of a list endpoint's rows and the next cursor: in `order_column` order, or with
    `updated_since` the rows changed at or after that time, oldest change first (sync jobs)."""
    since = pagination.parse_time(request.args, "updated_since")
    if since is not None:
        query = query.where(model.updated_at >= since)
        return paged(query, model.updated_at, model.id, "updated_at", descending=False)
    return paged(query, order_column, model.id, order_column.key, descending)


def text_field(data: dict, name: str, max_length: int, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise ApiError(400, "invalid_request", f"{name} is required.")
        return None
    if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
        raise ApiError(400, "invalid_request", f"{name} must be a string of at most {max_length} characters.")
    return value.strip() or None


def acting_user_id():
    """The user a personal token acts as; None for an organization key."""
    return g.get("api_user_id")
