"""The roll-up: Redis counters and the calls, callbacks and connection reports, into daily rows.

Every pass recomputes whole days from their sources and replaces their rows, so running it twice
(or after a crash halfway) gives the same rows. Days are the organization's calendar days.
"""

import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.analytics import counters
from app.analytics.stats import day_bounds
from app.extensions import db
from app.models import (
    AnalyticsCounter,
    AnalyticsState,
    AnswerDay,
    Call,
    Callback,
    CallConnection,
    Organization,
    RepDay,
    Site,
    SiteDay,
    User,
)
from app.models.base import utcnow
from app.redis_store import get_redis

NO_SITE = uuid.UUID(int=0)  # the rows of calls whose site was deleted
COUNTER_HOURS = 7 * 24  # every hour a counter hash may still be kept for (counters.KEEP_SECONDS)
CHOICE_TYPES = ("single_select", "multi_select")


# --- counters: Redis hashes to AnalyticsCounter rows ----------------------------------------------


def copy_counters(now: datetime) -> int:
    """Copy the kept hours' counter hashes into the database (the larger value wins); the rows copied."""
    counters.flush()  # this process's buffered counts (another process's arrive within seconds)
    hours = [
        (now - timedelta(hours=i)).replace(minute=0, second=0, microsecond=0) for i in range(COUNTER_HOURS)
    ]
    pipe = get_redis().pipeline(transaction=False)
    for hour in hours:
        pipe.hgetall(counters.hour_key(hour.timestamp()))
    rows = [
        (hour, *field.decode().split("|", 1), int(value))
        for hour, fields in zip(hours, pipe.execute(), strict=True)
        for field, value in fields.items()
    ]
    owners = _owners({subject for _, subject, _, _ in rows})
    values = [
        {
            "hour": hour,
            "subject_id": uuid.UUID(subject),
            "step": step,
            "count": count,
            "organization_id": owners[subject],
        }
        for hour, subject, step, count in rows
        if subject in owners
    ]
    if values:
        _upsert_max(values)
    return len(values)


def _owners(subjects: set) -> dict:
    """{subject id: organization id} of the sites and users still there (others are dropped)."""
    ids = []
    for subject in subjects:
        try:
            ids.append(uuid.UUID(subject))
        except ValueError:
            continue
    found = dict(db.session.execute(sa.select(Site.id, Site.organization_id).where(Site.id.in_(ids))).all())
    found |= dict(db.session.execute(sa.select(User.id, User.organization_id).where(User.id.in_(ids))).all())
    return {str(k): v for k, v in found.items()}


def _upsert_max(values: list[dict]) -> None:
    table = AnalyticsCounter.__table__
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        larger = sa.func.greatest
    else:
        from sqlalchemy.dialects.sqlite import insert

        larger = sa.func.max
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=["hour", "subject_id", "step"],
        set_={"count": larger(table.c.count, statement.excluded.count)},
    )
    for start in range(0, len(values), 1000):
        db.session.execute(statement, values[start : start + 1000])


# --- days: sources to SiteDay, RepDay and AnswerDay rows ----------------------------------------


def _site_row() -> dict:
    return {
        "badge_shown": 0,
        "widget_opened": 0,
        "qualified": 0,
        "disqualified": 0,
        "requested": 0,
        "answered": 0,
        "connected": 0,
        "completed": 0,
        "missed": 0,
        "canceled": 0,
        "callbacks_left": 0,
        "callbacks_done": 0,
        "talk_seconds": 0,
        "answer_seconds": Counter(),
        "callback_minutes": Counter(),
        "requests_by_hour": [0] * 24,
    }


def _rep_row() -> dict:
    return {"rung": 0, "answered": 0, "talk_seconds": 0, "answer_seconds": Counter()}


class Days:
    """The rows of a run of days, filled from each source in turn."""

    def __init__(self, tz: ZoneInfo):
        self.tz = tz
        self.sites: dict = defaultdict(_site_row)
        self.reps: dict = defaultdict(_rep_row)
        self.answers: dict = defaultdict(lambda: {"requested": 0, "answered": 0})

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def add_call(self, call) -> None:
        local = self.local(call.requested_at)
        site = self.sites[(local.date(), call.site_id or NO_SITE)]
        site["requested"] += 1
        site["requests_by_hour"][local.hour] += 1
        answered = call.accepted_at is not None
        if answered:
            wait = max(int((call.accepted_at - call.requested_at).total_seconds()), 0)
            site["answered"] += 1
            site["answer_seconds"][wait] += 1
            site["connected"] += bool(call.connected)
            if call.accepted_by_id:
                rep = self.reps[(local.date(), call.accepted_by_id)]
                rep["answered"] += 1
                rep["answer_seconds"][wait] += 1
        if call.status == "ended" and answered and call.ended_at:
            talk = max(int((call.ended_at - call.accepted_at).total_seconds()), 0)
            site["completed"] += 1
            site["talk_seconds"] += talk
            if call.accepted_by_id:
                self.reps[(local.date(), call.accepted_by_id)]["talk_seconds"] += talk
        elif call.status in ("missed", "canceled"):
            site[call.status] += 1
        for question, answer in choices(call.answers):
            row = self.answers[(local.date(), call.site_id or NO_SITE, question, answer)]
            row["requested"] += 1
            row["answered"] += answered

    def add_counter(self, hour: datetime, subject_id, step: str, count: int, sites: set) -> None:
        day = self.local(hour).date()
        if step == "rung":
            self.reps[(day, subject_id)]["rung"] += count
        elif subject_id in sites:
            self.sites[(day, subject_id)][step] += count

    def add_callback_left(self, created_at: datetime, site_id) -> None:
        self.sites[(self.local(created_at).date(), site_id or NO_SITE)]["callbacks_left"] += 1

    def add_callback_done(self, created_at: datetime, completed_at: datetime, site_id) -> None:
        site = self.sites[(self.local(completed_at).date(), site_id or NO_SITE)]
        site["callbacks_done"] += 1
        site["callback_minutes"][max(int((completed_at - created_at).total_seconds() // 60), 0)] += 1


def choices(answers) -> list[tuple[str, str]]:
    """(question label, option label) of each choice the visitor made; free text is never counted."""
    picked = []
    for entry in answers or []:
        question = entry.get("question") or {}
        if question.get("type") not in CHOICE_TYPES:
            continue
        labels = {o.get("value"): o.get("label") for o in question.get("options") or []}
        value = (entry.get("answer") or {}).get("value")
        for chosen in value if isinstance(value, list) else [value]:
            if chosen is not None:
                picked.append((str(question.get("label"))[:200], str(labels.get(chosen, chosen))[:200]))
    return picked


def recompute(organization_id, tz: ZoneInfo, first: date, last: date) -> None:
    """Replace the organization's rows of the local days first..last with ones computed afresh."""
    start, end = day_bounds(first, last, tz)
    days = Days(tz)
    _read_calls(days, organization_id, start, end)
    _read_counters(days, organization_id, start, end)
    _read_callbacks(days, organization_id, start, end)
    for model in (SiteDay, RepDay, AnswerDay):
        db.session.execute(
            sa.delete(model).where(
                model.organization_id == organization_id, model.day >= first, model.day <= last
            )
        )
    _insert(
        SiteDay,
        [
            {"organization_id": organization_id, "day": day, "site_id": site, **row}
            for (day, site), row in days.sites.items()
        ],
    )
    _insert(
        RepDay,
        [
            {"organization_id": organization_id, "day": day, "user_id": user, **row}
            for (day, user), row in days.reps.items()
        ],
    )
    _insert(
        AnswerDay,
        [
            {
                "organization_id": organization_id,
                "day": day,
                "site_id": site,
                "question": q,
                "answer": a,
                **row,
            }
            for (day, site, q, a), row in days.answers.items()
        ],
    )


def _insert(model, rows: list[dict]) -> None:
    for start in range(0, len(rows), 2000):
        db.session.execute(sa.insert(model), rows[start : start + 2000])


def _read_calls(days: Days, organization_id, start: datetime, end: datetime) -> None:
    connected = sa.exists().where(
        CallConnection.call_id == Call.id, CallConnection.connected_after_ms.is_not(None)
    )
    query = sa.select(
        Call.site_id,
        Call.status,
        Call.requested_at,
        Call.accepted_at,
        Call.ended_at,
        Call.accepted_by_id,
        Call.answers,
        connected.label("connected"),
    ).where(Call.organization_id == organization_id, Call.requested_at >= start, Call.requested_at < end)
    for call in db.session.execute(query.execution_options(yield_per=5000)):
        days.add_call(call)


def _read_counters(days: Days, organization_id, start: datetime, end: datetime) -> None:
    sites = set(db.session.scalars(sa.select(Site.id).where(Site.organization_id == organization_id)))
    query = sa.select(
        AnalyticsCounter.hour, AnalyticsCounter.subject_id, AnalyticsCounter.step, AnalyticsCounter.count
    ).where(
        AnalyticsCounter.organization_id == organization_id,
        AnalyticsCounter.hour >= start,
        AnalyticsCounter.hour < end,
    )
    for hour, subject, step, count in db.session.execute(query):
        days.add_counter(hour, subject, step, count, sites)


def _read_callbacks(days: Days, organization_id, start: datetime, end: datetime) -> None:
    mine = Callback.organization_id == organization_id
    for created_at, site_id in db.session.execute(
        sa.select(Callback.created_at, Callback.site_id).where(
            mine, Callback.created_at >= start, Callback.created_at < end
        )
    ):
        days.add_callback_left(created_at, site_id)
    for created_at, completed_at, site_id in db.session.execute(
        sa.select(Callback.created_at, Callback.completed_at, Callback.site_id).where(
            mine, Callback.status == "done", Callback.completed_at >= start, Callback.completed_at < end
        )
    ):
        days.add_callback_done(created_at, completed_at, site_id)


# --- the pass: which days each organization needs recomputed ------------------------------------


def organization_zone(organization: Organization) -> ZoneInfo:
    try:
        return ZoneInfo(organization.timezone or "UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def _first_moment(organization_id) -> datetime | None:
    """The earliest thing the organization's rows count (a full rebuild starts there)."""
    firsts = [
        db.session.scalar(sa.select(sa.func.min(column)).where(model.organization_id == organization_id))
        for model, column in (
            (Call, Call.requested_at),
            (Callback, Callback.created_at),
            (AnalyticsCounter, AnalyticsCounter.hour),
        )
    ]
    firsts = [f if f.tzinfo else f.replace(tzinfo=UTC) for f in firsts if f is not None]
    return min(firsts) if firsts else None


def _dirty_since(organization_id, since: datetime) -> datetime:
    """From when rows must be recomputed: the last pass (less a day of slack for late counters),
    or earlier when an older call changed since (it ended late, its contact was erased)."""
    older = db.session.scalar(
        sa.select(sa.func.min(Call.requested_at)).where(
            Call.organization_id == organization_id, Call.updated_at >= since - timedelta(minutes=5)
        )
    )
    start = since - timedelta(days=1)
    if older is not None:
        older = older if older.tzinfo else older.replace(tzinfo=UTC)
        start = min(start, older)
    return start


def rollup_organization(organization: Organization, now: datetime) -> tuple[date, date] | None:
    """Recompute the organization's days touched since its last pass (all, the first time or after
    its timezone changed); the local days recomputed."""
    state = db.session.get(AnalyticsState, organization.id) or AnalyticsState(organization_id=organization.id)
    tz = organization_zone(organization)
    if state.rolled_up_at is None or state.timezone != str(tz.key):
        since = _first_moment(organization.id)
    else:
        since = _dirty_since(organization.id, state.rolled_up_at)
    span = None
    if since is not None:
        if state.timezone != str(tz.key):  # rows cut in the old timezone go
            for model in (SiteDay, RepDay, AnswerDay):
                db.session.execute(sa.delete(model).where(model.organization_id == organization.id))
        span = (since.astimezone(tz).date(), now.astimezone(tz).date())
        recompute(organization.id, tz, *span)
    state.rolled_up_at, state.timezone = now, str(tz.key)
    db.session.add(state)
    db.session.commit()
    return span


def rollup(now: datetime | None = None) -> dict:
    """One pass over every organization: counters first, then the days each one needs."""
    now = now or utcnow()
    copied = copy_counters(now)
    db.session.commit()
    recomputed = {}
    for organization in db.session.scalars(sa.select(Organization)).all():
        recomputed[str(organization.id)] = rollup_organization(organization, now)
    return {"counters": copied, "organizations": recomputed}
