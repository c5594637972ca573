"""The Analytics page's numbers, read from the daily rows (never from the calls themselves).

Every section is a table (columns and rows of plain values): the page draws its charts and
table views from them, the CSV export writes them, the API answers them. One source, so the
three always agree.
"""

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.analytics import stats
from app.availability import service as availability
from app.availability.rules import RepFacts, hours_between
from app.extensions import db
from app.models import AnalyticsState, AnswerDay, DateOverride, RepDay, RepSchedule, Site, SiteDay, User

MAX_DAYS = 366
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)  # a year 1 or 9999 would overflow the timezones
FUNNEL = (
    ("badge_shown", "Badge shown"),
    ("widget_opened", "Widget opened"),
    ("qualified", "Qualification finished"),
    ("requested", "Call requested"),
    ("answered", "Answered"),
    ("connected", "Connected (media flowed)"),
    ("completed", "Completed"),
)
# column key -> label, per table; the CSV header and the API's field names are these keys
TABLES = {
    "funnel": (("step", "Step"), ("count", "Count"), ("percent_of_previous", "% of previous step")),
    "outcomes": (("step", "Outcome"), ("count", "Count")),
    "days": (
        ("day", "Day"),
        ("requested", "Requested"),
        ("answered", "Answered"),
        ("completed", "Completed"),
        ("missed", "Missed"),
        ("canceled", "Canceled"),
        ("answer_rate", "Answer rate %"),
        ("median_answer_seconds", "Median time to answer (s)"),
        ("p90_answer_seconds", "90th percentile time to answer (s)"),
    ),
    "heatmap": (
        ("weekday", "Weekday"),
        ("hour", "Hour"),
        ("visitors", "Call requests"),
        ("reps", "Reps available"),
    ),
    "reps": (
        ("rep", "Rep"),
        ("rung", "Rung"),
        ("answered", "Answered"),
        ("missed", "Missed"),
        ("talk_seconds", "Talk time (s)"),
        ("median_answer_seconds", "Median time to answer (s)"),
    ),
    "sites": (
        ("site", "Site"),
        ("badge_shown", "Badge shown"),
        ("widget_opened", "Widget opened"),
        ("requested", "Requested"),
        ("answered", "Answered"),
        ("missed", "Missed"),
        ("answer_rate", "Answer rate %"),
        ("callbacks_left", "Callbacks left"),
    ),
    "answers": (
        ("question", "Question"),
        ("answer", "Answer"),
        ("requested", "Calls requested"),
        ("answered", "Answered"),
        ("answer_rate", "Answer rate %"),
    ),
    "callbacks": (
        ("day", "Day"),
        ("left", "Left"),
        ("done", "Done"),
        ("median_minutes_to_done", "Median time to done (min)"),
    ),
}
REP_TABLES = ("reps",)  # what a rep sees: their own row
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class BadFilters(ValueError):
    def __init__(self, errors: dict):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class Filters:
    first: date
    last: date
    site_id: uuid.UUID | None = None


def parse_filters(args, today: date, site_ids: set) -> Filters:
    """from/to (YYYY-MM-DD, the organization's days) and site; the last 30 days by default."""
    errors = {}
    last = _day(args.get("to"), today, "to", errors)
    first = _day(args.get("from"), last - timedelta(days=29), "from", errors)
    if not errors and first > last:
        errors["from"] = "The start must be on or before the end."
    elif not errors and (last - first).days >= MAX_DAYS:
        errors["from"] = f"Choose at most {MAX_DAYS} days."
    site = None
    if args.get("site"):
        try:
            site = uuid.UUID(args["site"])
        except ValueError:
            site = None
        if site not in site_ids:
            errors["site"] = "Choose one of your sites."
    if errors:
        raise BadFilters(errors)
    return Filters(first, last, site)


def _day(value, default: date, name: str, errors: dict) -> date:
    if not value:
        return default
    try:
        day = date.fromisoformat(value)
    except ValueError:
        errors[name] = "Enter a date as YYYY-MM-DD, e.g. 2026-03-01."
        return default
    if not EARLIEST <= day <= LATEST:
        errors[name] = f"Choose a date from {EARLIEST.year} to {LATEST.year}."
        return default
    return day


# --- reading the rows ---------------------------------------------------------------------------


SITE_SUMS = (
    "badge_shown",
    "widget_opened",
    "qualified",
    "disqualified",
    "requested",
    "answered",
    "connected",
    "completed",
    "missed",
    "canceled",
    "callbacks_left",
    "callbacks_done",
    "talk_seconds",
)
REP_SUMS = ("rung", "answered", "talk_seconds")


def _where(model, organization_id, filters: Filters, site_column=True) -> list:
    where = [model.organization_id == organization_id, model.day >= filters.first, model.day <= filters.last]
    if site_column and filters.site_id:
        where.append(model.site_id == filters.site_id)
    return where


def _grouped(model, group, where: list, sums) -> dict:
    """{group value: row} with each of `sums` added up by the database (a year of 50 sites is 18,000 rows)."""
    query = sa.select(group, *[sa.func.coalesce(sa.func.sum(getattr(model, f)), 0) for f in sums])
    rows = db.session.execute(query.where(*where).group_by(group))
    return {
        row[0]: SimpleNamespace(**{f: int(v) for f, v in zip(sums, row[1:], strict=True)}) for row in rows
    }


def _json_sums(column, group, where: list, array: bool = False) -> dict:
    """{group value: Counter} of a JSON histogram ({value: count}) or list (index: count) column,
    added up by the database (json_each), so no row's JSON is parsed here."""
    if db.engine.dialect.name == "postgresql":
        if array:
            each = sa.func.json_array_elements_text(column).table_valued(
                "value", with_ordinality="ordinality"
            )
            key = each.c.ordinality - 1
        else:
            each = sa.func.json_each_text(column).table_valued("key", "value")
            key = each.c.key
    else:
        each = sa.func.json_each(column).table_valued("key", "value")
        key = each.c.key
    query = (
        sa.select(group, key, sa.func.sum(sa.cast(each.c.value, sa.Integer)))
        .select_from(column.table)
        .join(each, sa.true())
        .where(*where)
        .group_by(group, key)
    )
    sums = defaultdict(Counter)
    for owner, value, count in db.session.execute(query):
        if count:
            sums[owner][int(value)] += int(count)
    return sums


def build(organization_id, tz: ZoneInfo, filters: Filters, only_user_id=None) -> dict:
    """Every table of the page for the organization (a rep: only_user_id, their own numbers)."""
    if only_user_id is not None:
        return {"reps": rep_table(organization_id, filters, only_user_id)}
    where = _where(SiteDay, organization_id, filters)
    days = _grouped(SiteDay, SiteDay.day, where, SITE_SUMS)
    waits = _json_sums(SiteDay.answer_seconds, SiteDay.day, where)
    callbacks = _json_sums(SiteDay.callback_minutes, SiteDay.day, where)
    hours = _json_sums(SiteDay.requests_by_hour, SiteDay.day, where, array=True)
    for day, row in days.items():
        row.day, row.answer_seconds, row.callback_minutes = day, waits.get(day, {}), callbacks.get(day, {})
        row.requests_by_hour = [hours.get(day, {}).get(h, 0) for h in range(24)]
    by_day = {day: [row] for day, row in days.items()}
    totals = list(days.values())
    return {
        "summary": summary(totals),
        "funnel": funnel_table(totals),
        "outcomes": outcomes_table(totals),
        "days": days_table(by_day, filters),
        "heatmap": heatmap_table(organization_id, tz, totals, filters),
        "reps": rep_table(organization_id, filters),
        "sites": sites_table(organization_id, _grouped(SiteDay, SiteDay.site_id, where, SITE_SUMS)),
        "answers": answers_table(organization_id, filters),
        "callbacks": callbacks_table(by_day, filters),
    }


def _sum(rows, field: str) -> int:
    return sum(getattr(r, field) for r in rows)


def summary(rows) -> dict:
    """The range in a few numbers: answer rate, time to answer, talk time, callbacks."""
    waits = stats.merge(r.answer_seconds for r in rows)
    callbacks = stats.merge(r.callback_minutes for r in rows)
    requested, answered = _sum(rows, "requested"), _sum(rows, "answered")
    return {
        "requested": requested,
        "answered": answered,
        "answer_rate": stats.rate(answered, requested),
        "median_answer_seconds": stats.percentile(waits, 0.5),
        "p90_answer_seconds": stats.percentile(waits, 0.9),
        "talk_seconds": _sum(rows, "talk_seconds"),
        "callbacks_left": _sum(rows, "callbacks_left"),
        "callbacks_done": _sum(rows, "callbacks_done"),
        "median_minutes_to_done": stats.percentile(callbacks, 0.5),
    }


def funnel_table(rows) -> list[dict]:
    table, previous = [], None
    for key, label in FUNNEL:
        count = _sum(rows, key)
        table.append(
            {
                "step": label,
                "key": key,
                "count": count,
                "percent_of_previous": stats.rate(count, previous) if previous is not None else None,
            }
        )
        previous = count
    return table


def outcomes_table(rows) -> list[dict]:
    return [
        {"step": label, "key": key, "count": _sum(rows, key)}
        for key, label in (
            ("completed", "Completed"),
            ("missed", "Missed"),
            ("canceled", "Canceled"),
            ("disqualified", "Disqualified"),
            ("callbacks_left", "Callbacks left"),
        )
    ]


def days_table(by_day: dict, filters: Filters) -> list[dict]:
    table = []
    for day in stats.local_days(filters.first, filters.last):
        rows = by_day.get(day, [])
        waits = stats.merge(r.answer_seconds for r in rows)
        requested, answered = _sum(rows, "requested"), _sum(rows, "answered")
        table.append(
            {
                "day": day.isoformat(),
                "requested": requested,
                "answered": answered,
                "completed": _sum(rows, "completed"),
                "missed": _sum(rows, "missed"),
                "canceled": _sum(rows, "canceled"),
                "answer_rate": stats.rate(answered, requested),
                "median_answer_seconds": stats.percentile(waits, 0.5),
                "p90_answer_seconds": stats.percentile(waits, 0.9),
            }
        )
    return table


def callbacks_table(by_day: dict, filters: Filters) -> list[dict]:
    table = []
    for day in stats.local_days(filters.first, filters.last):
        rows = by_day.get(day, [])
        table.append(
            {
                "day": day.isoformat(),
                "left": _sum(rows, "callbacks_left"),
                "done": _sum(rows, "callbacks_done"),
                "median_minutes_to_done": stats.percentile(
                    stats.merge(r.callback_minutes for r in rows), 0.5
                ),
            }
        )
    return table


def sites_table(organization_id, by_site: dict) -> list[dict]:
    domains = dict(
        db.session.execute(
            sa.select(Site.id, Site.domain).where(Site.organization_id == organization_id)
        ).all()
    )
    table = []
    for site_id, row in by_site.items():
        table.append(
            {
                "site": domains.get(site_id, "(deleted site)"),
                "site_id": str(site_id),
                "badge_shown": row.badge_shown,
                "widget_opened": row.widget_opened,
                "requested": row.requested,
                "answered": row.answered,
                "missed": row.missed,
                "answer_rate": stats.rate(row.answered, row.requested),
                "callbacks_left": row.callbacks_left,
            }
        )
    return sorted(table, key=lambda r: (-r["requested"], r["site"]))


def rep_table(organization_id, filters: Filters, only_user_id=None) -> list[dict]:
    """Per rep over the range: rung, answered, missed (rung and not answered by them), talk time."""
    where = _where(RepDay, organization_id, filters, site_column=False)
    if only_user_id is not None:
        where.append(RepDay.user_id == only_user_id)
    reps = _grouped(RepDay, RepDay.user_id, where, REP_SUMS)
    waits = _json_sums(RepDay.answer_seconds, RepDay.user_id, where)
    if only_user_id is not None and not reps:
        reps[only_user_id] = SimpleNamespace(rung=0, answered=0, talk_seconds=0)
    names = dict(
        db.session.execute(sa.select(User.id, User.name).where(User.organization_id == organization_id)).all()
    )
    table = []
    for user_id, row in reps.items():
        table.append(
            {
                "rep": names.get(user_id, "(removed teammate)"),
                "rep_id": str(user_id),
                "rung": row.rung,
                "answered": row.answered,
                "missed": max(row.rung - row.answered, 0),
                "talk_seconds": row.talk_seconds,
                "median_answer_seconds": stats.percentile(waits.get(user_id, Counter()), 0.5),
            }
        )
    return sorted(table, key=lambda r: (-r["answered"], r["rep"]))


def answers_table(organization_id, filters: Filters) -> list[dict]:
    query = (
        sa.select(
            AnswerDay.question,
            AnswerDay.answer,
            sa.func.sum(AnswerDay.requested),
            sa.func.sum(AnswerDay.answered),
        )
        .where(
            AnswerDay.organization_id == organization_id,
            AnswerDay.day >= filters.first,
            AnswerDay.day <= filters.last,
        )
        .group_by(AnswerDay.question, AnswerDay.answer)
    )
    if filters.site_id:
        query = query.where(AnswerDay.site_id == filters.site_id)
    rows = sorted(db.session.execute(query).all(), key=lambda r: (r[0], -r[2], r[1]))
    return [
        {"question": q, "answer": a, "requested": int(n), "answered": int(k), "answer_rate": stats.rate(k, n)}
        for q, a, n, k in rows
    ]


# --- the heatmap: call requests by local weekday and hour against reps scheduled -----------------


def scheduled_spans(organization_id, start: datetime, end: datetime) -> list[list]:
    """Each active member's scheduled UTC spans in [start, end): weekly hours and date overrides,
    each in the rep's own timezone (the toggle and presence are not history we keep)."""
    users = db.session.scalars(
        sa.select(User).where(User.organization_id == organization_id, User.is_active_member.is_(True))
    ).all()
    default = availability.default_schedule(organization_id)
    schedules = {
        s.user_id: s
        for s in db.session.scalars(
            sa.select(RepSchedule).where(RepSchedule.organization_id == organization_id)
        )
    }
    overrides = defaultdict(dict)
    for user_id, day, intervals in db.session.execute(
        sa.select(DateOverride.user_id, DateOverride.day, DateOverride.intervals).where(
            DateOverride.organization_id == organization_id,
            DateOverride.day >= start.date() - timedelta(days=2),
            DateOverride.day <= end.date() + timedelta(days=2),
        )
    ):
        overrides[user_id][day] = intervals
    spans = []
    for user in users:
        timezone, weekly = availability.effective_hours(schedules.get(user.id), default)
        facts = RepFacts(
            user_id=user.id, name=user.name, timezone=timezone, weekly=weekly, overrides=overrides[user.id]
        )
        spans.append(hours_between(facts, start, end))
    return spans


def heatmap_grid(organization_id, tz: ZoneInfo, site_days, filters: Filters) -> list[list[dict]]:
    requests = defaultdict(int)
    for row in site_days:
        for hour, count in enumerate(row.requests_by_hour or []):
            if count:
                requests[(row.day, hour)] += count
    start, end = stats.day_bounds(filters.first, filters.last, tz)
    slots = list(stats.hour_slots(filters.first, filters.last, tz))
    reps = stats.reps_per_slot(slots, scheduled_spans(organization_id, start, end))
    return stats.heatmap(requests, reps)


def heatmap_table(organization_id, tz, site_days, filters) -> list[dict]:
    grid = heatmap_grid(organization_id, tz, site_days, filters)
    return [
        {"weekday": WEEKDAY_NAMES[w], "hour": h, "visitors": cell["visitors"], "reps": cell["reps"]}
        for w, row in enumerate(grid)
        for h, cell in enumerate(row)
    ]


def grid_of(heatmap_rows: list[dict]) -> list[list[dict]]:
    """The heatmap table back as 7 rows of 24 cells."""
    return [heatmap_rows[w * 24 : (w + 1) * 24] for w in range(7)]


def as_of(organization_id) -> datetime | None:
    """When the rows were last rolled up."""
    state = db.session.get(AnalyticsState, organization_id)
    return state.rolled_up_at if state else None
