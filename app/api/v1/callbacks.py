"""Callbacks: list (filters, cursor, updated_since), get, and work them: claim, done, notes.

The same transitions as the dashboard's Callbacks page (app.callbacks.service), so the same
events go out: callback.claimed, callback.completed, callback.updated.
"""

from flask import jsonify

from app.api import bp
from app.api.auth import require_api_key
from app.api.errors import ApiError
from app.api.v1.common import (
    PREFIX,
    acting_user_id,
    enum_arg,
    json_body,
    list_response,
    listed,
    org_object_or_404,
    uuid_arg,
)
from app.callbacks import service
from app.callbacks.payload import callback_json
from app.extensions import db
from app.models import Callback, User
from app.models.base import utcnow
from app.models.callbacks import CALLBACK_STATUSES
from app.tenancy import org_select

FIELDS = ("status", "notes", "claimedBy")
TRANSITIONS = ("claimed", "done")


def _filtered():
    query = org_select(Callback)
    status = enum_arg("status", CALLBACK_STATUSES)
    site_id, claimed_by = uuid_arg("site_id"), uuid_arg("claimed_by")
    if status is not None:
        query = query.where(Callback.status == status)
    if site_id is not None:
        query = query.where(Callback.site_id == site_id)
    if claimed_by is not None:
        query = query.where(Callback.claimed_by_id == claimed_by)
    return query


def _json(callback: Callback) -> dict:
    return callback_json(callback, utcnow())


@bp.get(PREFIX + "/callbacks")
@require_api_key("callbacks:read")
def callbacks_list():
    """Callbacks, newest request first; with updated_since, oldest change first (sync jobs)."""
    rows, cursor = listed(_filtered(), Callback, Callback.created_at, descending=True)
    now = utcnow()
    return list_response(rows, cursor, lambda c: callback_json(c, now))


@bp.get(PREFIX + "/callbacks/<callback_id>")
@require_api_key("callbacks:read")
def callbacks_show(callback_id):
    """One callback."""
    return jsonify(_json(org_object_or_404(Callback, callback_id, "Callback")))


@bp.patch(PREFIX + "/callbacks/<callback_id>")
@require_api_key("callbacks:write")
def callbacks_update(callback_id):
    """Work a callback: `notes`, and `status` claimed (I call them back) or done (called back)."""
    callback = org_object_or_404(Callback, callback_id, "Callback")
    data = json_body()
    unknown = sorted(set(data) - set(FIELDS))
    if unknown or not data:
        named = f"Unknown field {unknown[0]}: " if unknown else ""
        raise ApiError(400, "invalid_request", f"{named}change any of {', '.join(FIELDS)}.")
    notes = _notes(data)
    status = data.get("status")
    if status is not None and status not in TRANSITIONS:
        raise ApiError(400, "invalid_request",
                       "status must be claimed or done (a callback is never reopened).")
    claimer = _claimer(data)
    if status == "claimed" and claimer is None:
        raise ApiError(400, "invalid_request",
                       "claimedBy is required with an organization key: the teammate calling them back.")
    if status == "claimed":
        _claim(callback, claimer)
    if notes is not None and status != "done":
        service.save_notes(callback, notes)
    if status == "done" and not service.complete(callback, claimer, notes):
        raise ApiError(409, "conflict", f"Callback {callback.id} is already done.")
    db.session.refresh(callback)
    return jsonify(_json(callback))


def _notes(data: dict) -> str | None:
    """The notes to store ("" clears them); None when the body leaves them alone."""
    if "notes" not in data:
        return None
    value = data["notes"]
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > service.MAX_NOTES or "\x00" in value:
        raise ApiError(400, "invalid_request",
                       f"notes must be a string of at most {service.MAX_NOTES} characters.")
    return value.strip()


def _claimer(data: dict) -> User | None:
    """Who works the callback: a personal token's user, or `claimedBy` (a teammate) with an org key."""
    wanted = data.get("claimedBy")
    user_id = acting_user_id()
    if user_id is not None:
        if wanted is not None and str(wanted) != str(user_id):
            raise ApiError(400, "invalid_request", "A personal token claims callbacks as its own user: "
                           "leave claimedBy out or give your own id.")
        return db.session.get(User, user_id)
    if wanted is None:
        return None
    user = _teammate(wanted)
    if user is None:
        raise ApiError(400, "invalid_request", f"claimedBy: teammate {wanted} not found.")
    return user


def _teammate(user_id) -> User | None:
    """An active teammate of the organization, by id."""
    try:
        user = org_object_or_404(User, user_id, "Teammate") if isinstance(user_id, str) else None
    except ApiError:
        return None
    return user if user is not None and user.is_active_member else None


def _claim(callback: Callback, user: User) -> None:
    """Claim it for `user`; claiming again for the same teammate is a no-op, for another a 409."""
    if callback.status == "claimed" and callback.claimed_by_id == user.id:
        return
    if not service.claim(callback, user):
        db.session.refresh(callback)
        holder = "already done" if callback.status == "done" else "already claimed by another teammate"
        raise ApiError(409, "conflict", f"Callback {callback.id} is {holder}.")
