"""Times on dashboard pages: stored in UTC, shown in the viewer's timezone and always labelled."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask import g
from flask_login import current_user

from app.extensions import db
from app.models import DefaultSchedule, RepSchedule


def viewer_timezone() -> str:
    """The timezone the viewer set with their hours, else the team's, else UTC (once per request)."""
    if "viewer_timezone" not in g:
        tz = None
        if current_user.is_authenticated:
            own = sa.select(RepSchedule.timezone).where(RepSchedule.user_id == current_user.id)
            team = sa.select(DefaultSchedule.timezone).where(
                DefaultSchedule.organization_id == current_user.organization_id)
            # one statement for both
            mine, teams = db.session.execute(sa.select(own.scalar_subquery(), team.scalar_subquery())).one()
            tz = mine or teams
        g.viewer_timezone = tz or "UTC"
    return g.viewer_timezone


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """`value` in the viewer's timezone with the zone's abbreviation: "2026-11-27 15:03 CET"."""
    if value is None:
        return ""
    try:
        zone = ZoneInfo(viewer_timezone())
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(zone)
    return f"{local.strftime(fmt)} {local.tzname()}"
