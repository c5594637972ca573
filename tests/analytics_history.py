"""A known history for the analytics tests: an organization in Europe/Berlin across the night
its clocks went back (Sunday 2026-10-25, 03:00 CEST → 02:00 CET), two sites, two reps with
schedules, calls of every outcome, callbacks and widget counters."""

from datetime import UTC, date, datetime, timedelta

from app.analytics import counters
from app.extensions import db
from app.models import Call, Callback, CallConnection, DefaultSchedule, Organization, RepSchedule, User
from app.sites.service import create_site
from tests.conftest import make_member

TZ = "Europe/Berlin"
FIRST, LAST = date(2026, 10, 24), date(2026, 10, 26)  # Saturday to Monday


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def single(label: str, chosen: str, options=("1-10", "11-50", "51+")) -> dict:
    """A seed-shaped qualification answer to a single-select question."""
    return {
        "question": {
            "label": label,
            "type": "single_select",
            "options": [{"label": o, "value": o.lower()} for o in options],
        },
        "answer": {"value": chosen.lower()},
    }


def add_call(
    org_id, site, requested_at, status, answered_after=None, talk=None, rep=None, connected=False, answers=()
):
    accepted_at = requested_at + timedelta(seconds=answered_after) if answered_after is not None else None
    ended_at = accepted_at + timedelta(seconds=talk) if talk is not None else None
    if status in ("missed", "canceled"):
        ended_at = requested_at + timedelta(seconds=30)
    call = Call(
        organization_id=org_id,
        site_id=site.id,
        status=status,
        visitor_fingerprint="fp",
        requested_at=requested_at,
        accepted_at=accepted_at,
        ended_at=ended_at,
        accepted_by_id=rep.id if rep else None,
        answers=list(answers),
    )
    db.session.add(call)
    db.session.flush()
    if connected:
        db.session.add(
            CallConnection(organization_id=org_id, call_id=call.id, side="visitor", connected_after_ms=800)
        )
    return call


class History:
    def __init__(self, admin):
        self.org_id = admin.organization_id
        org = db.session.get(Organization, self.org_id)
        org.timezone = TZ
        self.admin = admin
        self.rep = make_member(self.org_id, "rita@acme.example.com", "rep", "Rita Rep")
        self.site_a = create_site(self.org_id, "a.example.com")
        self.site_b = create_site(self.org_id, "b.example.com")
        # the team works Monday to Friday 9–17 Berlin time; Rita keeps Saturday 10–12 in London
        db.session.add(
            DefaultSchedule(organization_id=self.org_id, timezone=TZ, weekly=[[[540, 1020]]] * 5 + [[], []])
        )
        db.session.add(
            RepSchedule(
                organization_id=self.org_id,
                user_id=self.rep.id,
                timezone="Europe/London",
                follows_default=False,
                weekly=[[]] * 5 + [[[600, 720]], []],
            )
        )
        db.session.commit()
        self.calls()
        self.callbacks()

    def call(self, site, requested_at, status, answered_after=None, talk=None, rep=None, **kwargs):
        return add_call(self.org_id, site, requested_at, status, answered_after, talk, rep, **kwargs)

    def calls(self):
        a, b, rita = self.site_a, self.site_b, self.rep
        # Saturday 23:30 CEST: answered by Rita after 10 s, media flowed, 120 s of talk
        self.call(
            a,
            utc(2026, 10, 24, 21, 30),
            "ended",
            10,
            120,
            rita,
            connected=True,
            answers=[single("Team size", "11-50")],
        )
        # Saturday 10:15 CEST (Rita on her hours: 09:15 in London): answered by Ada after 4 s, 60 s
        self.call(
            a,
            utc(2026, 10, 24, 8, 15),
            "ended",
            4,
            60,
            self.admin,
            connected=True,
            answers=[single("Team size", "1-10")],
        )
        # Sunday 02:30 happens twice: first in CEST (canceled), then in CET (missed); both hour 2
        self.call(a, utc(2026, 10, 25, 0, 30), "canceled")
        self.call(a, utc(2026, 10, 25, 1, 30), "missed", answers=[single("Team size", "11-50")])
        # Sunday 23:30 UTC is Monday 00:30 CET: Monday's. Answered after 30 s, still talking
        self.call(a, utc(2026, 10, 25, 23, 30), "accepted", 30, None, rita)
        # Monday 11:00 CET on site B: answered by Rita after 20 s, 300 s, media never flowed
        self.call(b, utc(2026, 10, 26, 10, 0), "ended", 20, 300, rita)
        # Monday 11:40 CET on site B: missed
        self.call(b, utc(2026, 10, 26, 10, 40), "missed")
        db.session.commit()

    def callbacks(self):
        # left Sunday 13:00 CET, done Monday 13:30 CET (1470 minutes later)
        db.session.add(
            Callback(
                organization_id=self.org_id,
                site_id=self.site_a.id,
                reason="missed",
                status="done",
                created_at=utc(2026, 10, 25, 12, 0),
                completed_at=utc(2026, 10, 26, 12, 30),
            )
        )
        # left Monday 09:00 CET, still open
        db.session.add(
            Callback(
                organization_id=self.org_id,
                site_id=self.site_b.id,
                reason="no_one_available",
                created_at=utc(2026, 10, 26, 8, 0),
            )
        )
        db.session.commit()

    def count(self, redis, subject, step, moment: datetime, times: int = 1):
        pipe = redis.pipeline(transaction=False)
        for _ in range(times):
            counters.add(pipe, subject, step, moment.timestamp())
        pipe.execute()

    def counters(self, redis):
        a, b = self.site_a.id, self.site_b.id
        self.count(redis, a, "badge_shown", utc(2026, 10, 24, 21, 5), 5)  # Saturday 23:05 CEST
        self.count(redis, a, "badge_shown", utc(2026, 10, 24, 22, 5), 3)  # Sunday 00:05 CEST
        self.count(redis, a, "widget_opened", utc(2026, 10, 24, 21, 10), 2)
        self.count(redis, a, "qualified", utc(2026, 10, 24, 21, 20), 7)
        self.count(redis, a, "disqualified", utc(2026, 10, 25, 1, 20), 1)  # Sunday 02:20 CET
        self.count(redis, b, "badge_shown", utc(2026, 10, 26, 9, 0), 4)
        self.count(redis, self.rep.id, "rung", utc(2026, 10, 24, 21, 30), 1)
        self.count(redis, self.rep.id, "rung", utc(2026, 10, 25, 1, 30), 1)
        self.count(redis, self.admin.id, "rung", utc(2026, 10, 25, 1, 30), 1)
        self.count(redis, self.rep.id, "rung", utc(2026, 10, 26, 10, 0), 2)


def rows_by(model, *keys) -> dict:
    import sqlalchemy as sa

    return {tuple(getattr(r, k) for k in keys): r for r in db.session.scalars(sa.select(model))}


def rita(history) -> User:
    return history.rep
