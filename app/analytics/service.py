"""The organization's calendar, today's numbers and the coverage warning of the home page."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.analytics import stats
from app.analytics.rollup import organization_zone
from app.availability import service as availability
from app.availability.rules import hours_between
from app.extensions import db
from app.models import Organization, RepDay, SiteDay
from app.models.base import utcnow

WARN_HOURS = 6  # how far ahead the home page looks for hours nobody covers
HISTORY_WEEKS = 4  # what "usually" means for the coverage warning


def organization_zone_of(organization_id) -> ZoneInfo:
    return organization_zone(db.session.get(Organization, organization_id))


def organization_today(tz: ZoneInfo, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(tz).date()


def today_numbers(organization_id, tz: ZoneInfo, user_id=None, now: datetime | None = None) -> dict:
    """Today's totals for the home page (a rep: their own rung / answered / talk time)."""
    today = organization_today(tz, now)
    if user_id is not None:
        rows = db.session.scalars(
            sa.select(RepDay).where(
                RepDay.organization_id == organization_id, RepDay.day == today, RepDay.user_id == user_id
            )
        ).all()
        rung, answered = sum(r.rung for r in rows), sum(r.answered for r in rows)
        return {
            "day": today,
            "rung": rung,
            "answered": answered,
            "missed": max(rung - answered, 0),
            "talk_seconds": sum(r.talk_seconds for r in rows),
        }
    rows = db.session.scalars(
        sa.select(SiteDay).where(SiteDay.organization_id == organization_id, SiteDay.day == today)
    ).all()
    totals = {
        key: sum(getattr(r, key) for r in rows)
        for key in ("badge_shown", "requested", "answered", "missed", "canceled", "callbacks_left")
    }
    waits = stats.merge(r.answer_seconds for r in rows)
    return {
        "day": today,
        **totals,
        "answer_rate": stats.rate(totals["answered"], totals["requested"]),
        "median_answer_seconds": stats.percentile(waits, 0.5),
    }


def coverage_warnings(organization_id, tz: ZoneInfo, now: datetime | None = None) -> list[dict]:
    """The next hours where visitors usually ask for calls (same weekday and hour, last four weeks)
    and nobody is scheduled, runs joined: {"start", "end", "visitors", "text"}."""
    now = now or utcnow()
    usual = _usual_requests(organization_id, tz, now)
    facts = availability.load_facts(organization_id, now)
    end = now + timedelta(hours=WARN_HOURS)
    spans = [hours_between(f, now, end) for f in facts if f.active]
    warnings = []
    first = now.astimezone(tz).replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    for step in range(WARN_HOURS):
        start = first + timedelta(hours=step)  # UTC steps: a DST night has one hour fewer or more
        slot = start.astimezone(tz)
        expected = usual.get((slot.weekday(), slot.hour), 0)
        covered = any(s < start + timedelta(hours=1) and e > start for rep in spans for s, e in rep)
        if not expected or covered:
            continue
        if warnings and warnings[-1]["last"] == start - timedelta(hours=1):
            warnings[-1].update(
                last=start, end=(slot.hour + 1) % 24, visitors=warnings[-1]["visitors"] + expected
            )
        else:
            warnings.append(
                {
                    "last": start,
                    "start": slot.hour,
                    "end": (slot.hour + 1) % 24,
                    "visitors": expected,
                    "day": slot.date(),
                }
            )
    today = now.astimezone(tz).date()
    for w in warnings:
        when = "Today" if w["day"] == today else "Tomorrow"
        plural = "s" if w["visitors"] != 1 else ""
        w["text"] = (
            f"{when} {w['start']}–{w['end'] or 24}: {w['visitors']} visitor{plural} "
            f"asked for a call at these hours over the last {HISTORY_WEEKS} weeks, and nobody is scheduled."
        )
    return warnings


def _usual_requests(organization_id, tz: ZoneInfo, now: datetime) -> dict:
    """{(weekday, hour): call requests} over the last HISTORY_WEEKS weeks."""
    today = organization_today(tz, now)
    rows = db.session.execute(
        sa.select(SiteDay.day, SiteDay.requests_by_hour).where(
            SiteDay.organization_id == organization_id,
            SiteDay.day >= today - timedelta(weeks=HISTORY_WEEKS),
            SiteDay.day < today,
        )
    )
    totals = defaultdict(int)
    for day, hours in rows:
        for hour, count in enumerate(hours or []):
            totals[(day.weekday(), hour)] += count
    return dict(totals)
