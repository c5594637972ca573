"""Analytics: funnel counters, the daily roll-up, the Analytics page, its CSV and API."""

from flask import Blueprint

bp = Blueprint("analytics", __name__)


@bp.app_template_global()
def duration_text(seconds):
    from app.analytics.stats import duration_text as text

    return text(seconds)


@bp.app_template_global()
def analytics_today():
    """The home page's lead: today's numbers (a rep: their own) and, for admins, the hours ahead
    where visitors usually come and nobody is scheduled."""
    from flask_login import current_user

    from app.analytics import service

    tz = service.organization_zone_of(current_user.organization_id)
    mine = None if current_user.is_admin else current_user.id
    warnings = service.coverage_warnings(current_user.organization_id, tz) if current_user.is_admin else []
    return {
        "tz": tz,
        "numbers": service.today_numbers(current_user.organization_id, tz, mine),
        "warnings": warnings,
    }


from app.analytics import routes  # noqa: E402,F401
