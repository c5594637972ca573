"""Analytics: the Analytics page's tables, with the same filters and the same numbers."""

from flask import jsonify, request

from app.analytics import report
from app.analytics.service import organization_today, organization_zone_of
from app.api import bp
from app.api.auth import require_api_key
from app.api.errors import ApiError
from app.api.v1.common import PREFIX
from app.extensions import db
from app.models import Site
from app.tenancy import current_organization_id, org_select

REPORTS = ("summary", *report.TABLES)


@bp.get(PREFIX + "/analytics/<name>")
@require_api_key("analytics:read")
def analytics_show(name):
    """One table of the Analytics page (or the summary) for from/to (the organization's days) and site_id."""
    if name not in REPORTS:
        raise ApiError(404, "not_found", f"No analytics report {name}. Reports: {', '.join(REPORTS)}.")
    organization_id = current_organization_id()
    tz = organization_zone_of(organization_id)
    sites = set(db.session.scalars(org_select(Site).with_only_columns(Site.id)))
    args = {
        "from": request.args.get("from"),
        "to": request.args.get("to"),
        "site": request.args.get("site_id"),
    }
    try:
        filters = report.parse_filters(args, organization_today(tz), sites)
    except report.BadFilters as e:
        field, message = next(iter(e.errors.items()))
        raise ApiError(400, "invalid_request", f"{'site_id' if field == 'site' else field}: {message}") from e
    data = camel(report.build(organization_id, tz, filters)[name])
    return jsonify(
        {
            "report": name,
            "from": filters.first.isoformat(),
            "to": filters.last.isoformat(),
            "timezone": tz.key,
            "siteId": str(filters.site_id) if filters.site_id else None,
            "data": data,
        }
    )


def camel(value):
    """The report's snake_case keys as the API's camelCase (answer_rate → answerRate)."""
    if isinstance(value, list):
        return [camel(v) for v in value]
    if isinstance(value, dict):
        return {_camel_key(k): v for k, v in value.items()}
    return value


def _camel_key(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.title() for word in rest)
