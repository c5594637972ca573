"""Availability: who can take a call now and why; a rep's weekly schedule, read and written.

Hours are "HH:MM" wall-clock times in the rep's IANA timezone, per weekday; an end at or before
its start runs past midnight; "00:00"–"00:00" is the whole day (as on the dashboard's page).
"""

from flask import jsonify

from app.api import bp
from app.api.auth import require_api_key
from app.api.errors import ApiError
from app.api.v1.common import PREFIX, acting_user_id, json_body, org_object_or_404
from app.availability import describe, service
from app.availability.forms import DAYS, Row, WeekDraft, fmt, parse_time, validate
from app.events import iso
from app.models import User
from app.models.base import utcnow
from app.tenancy import current_organization_id

DAY_KEYS = tuple(d.lower() for d in DAYS)


@bp.get(PREFIX + "/availability")
@require_api_key("availability:read")
def availability_now():
    """Whether anyone can take a call now, when someone next can, and each rep's reason."""
    now = utcnow()
    pairs = service.statuses(current_organization_id(), now)
    org = service.org_availability([s for _, s in pairs])
    return jsonify({
        "available": org.available, "nextAvailableAt": iso(org.next_at), "at": iso(now),
        "reps": [{"id": str(f.user_id), "name": f.name, "available": s.available, "reason": s.reason,
                  "explanation": describe.reason(f, s, now), "until": iso(s.until),
                  "nextAvailableAt": iso(s.next_at), "timezone": f.timezone} for f, s in pairs],
    })


def _rep(user_id) -> User:
    user = org_object_or_404(User, user_id, "Teammate")
    acting = acting_user_id()
    if acting is not None and acting != user.id and _acting_role() != "admin":
        # a rep's personal token reads and writes its own schedule only
        raise ApiError(404, "not_found", f"Teammate {user_id} not found.")
    return user


def _acting_role() -> str:
    from flask import g

    return g.get("api_user_role", "admin")


def schedule_json(user: User) -> dict:
    schedule = service.rep_schedule(user)
    default = service.default_schedule(user.organization_id)
    timezone, weekly = service.effective_hours(schedule, default)
    return {"userId": str(user.id), "timezone": timezone,
            "followsDefault": schedule is None or schedule.follows_default,
            "weekly": {DAY_KEYS[d]: [[fmt(s), fmt(e)] for s, e in day] for d, day in enumerate(weekly)}}


@bp.get(PREFIX + "/teammates/<user_id>/schedule")
@require_api_key("availability:read")
def schedule_show(user_id):
    """A rep's timezone and weekly hours (the team default's when they follow it)."""
    return jsonify(schedule_json(_rep(user_id)))


@bp.put(PREFIX + "/teammates/<user_id>/schedule")
@require_api_key("availability:write")
def schedule_replace(user_id):
    """Replace a rep's schedule: timezone, followsDefault and the weekly hours."""
    user = _rep(user_id)
    data = json_body()
    timezone, follows = data.get("timezone"), data.get("followsDefault", False)
    if not isinstance(timezone, str) or not service.valid_timezone(timezone):
        raise ApiError(400, "invalid_request", "timezone must be an IANA timezone, e.g. Europe/Berlin.")
    if not isinstance(follows, bool):
        raise ApiError(400, "invalid_request", "followsDefault must be true or false.")
    weekly = _weekly(data.get("weekly"), timezone) if not follows else []
    service.save_schedule(user, timezone, weekly, follows)
    return jsonify(schedule_json(user))


def _weekly(value, timezone: str) -> list:
    if not isinstance(value, dict) or set(value) - set(DAY_KEYS):
        raise ApiError(400, "invalid_request",
                       f"weekly must be an object with the days {', '.join(DAY_KEYS)}, "
                       'each a list of ["HH:MM", "HH:MM"] intervals.')
    days = [value.get(key, []) for key in DAY_KEYS]
    for key, day in zip(DAY_KEYS, days, strict=True):
        if not isinstance(day, list) or not all(
                isinstance(i, list) and len(i) == 2 and all(isinstance(t, str) and parse_time(t) is not None
                                                            for t in i) for i in day):
            raise ApiError(400, "invalid_request",
                           f'weekly.{key} must be a list of ["HH:MM", "HH:MM"] intervals.')
    draft = WeekDraft(timezone=timezone, days=[[Row(s, e) for s, e in day] for day in days])
    if not validate(draft):
        errors = [f"weekly.{DAY_KEYS[d]} {row.start}–{row.end}: {row.error}"
                  for d, day in enumerate(draft.days) for row in day if row.error]
        raise ApiError(400, "invalid_request", errors[0] if errors else "The schedule is not valid.")
    return draft.weekly()
