import csv
import io
from datetime import timedelta

from flask import Response, abort, render_template, request
from flask_login import current_user, login_required

from app.analytics import bp, report, view
from app.analytics.service import organization_today, organization_zone_of
from app.models import Site
from app.tenancy import org_list


def _filters(sites, today):
    """The request's filters, or the default ones and the messages to show by the fields."""
    try:
        return report.parse_filters(request.args, today, {s.id for s in sites}), {}
    except report.BadFilters as e:
        return report.Filters(today - timedelta(days=29), today), e.errors


@bp.get("/analytics")
@login_required
def index():
    """The funnel, calls, answer times, coverage, reps, sites, answers and callbacks (a rep: their own)."""
    tz, sites = organization_zone_of(current_user.organization_id), org_list(Site, Site.domain)
    today = organization_today(tz)
    filters, errors = _filters(sites, today)
    data = report.build(
        current_user.organization_id, tz, filters, None if current_user.is_admin else current_user.id
    )
    return render_template(
        "analytics/index.html",
        data=data,
        page=view.page(data),
        filters=filters,
        errors=errors,
        sites=sites,
        tz=tz,
        today=today,
        presets=view.presets(today, filters.site_id),
        query=view.query(filters.first, filters.last, filters.site_id),
        as_of=report.as_of(current_user.organization_id),
        columns=report.TABLES,
    ), 400 if errors else 200


@bp.get("/analytics/<name>.csv")
@login_required
def export(name):
    """One table of the page, with the page's filters, as CSV."""
    allowed = report.TABLES if current_user.is_admin else report.REP_TABLES
    if name not in allowed:
        abort(404)
    tz, sites = organization_zone_of(current_user.organization_id), org_list(Site, Site.domain)
    filters, errors = _filters(sites, organization_today(tz))
    if errors:
        abort(400)
    data = report.build(
        current_user.organization_id, tz, filters, None if current_user.is_admin else current_user.id
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([label for _, label in report.TABLES[name]])
    for row in data[name]:
        writer.writerow([csv_safe(row[key]) for key, _ in report.TABLES[name]])
    filename = f"analytics-{name}-{filters.first}-{filters.last}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def csv_safe(value):
    """Text a spreadsheet would run as a formula (=, +, -, @) is quoted with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
