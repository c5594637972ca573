"""The availability rule, table-driven: timezones, daylight saving both ways, midnight, overrides,
busy blocks at the exact instant. Times in the tables are UTC unless the comment says otherwise."""

from datetime import UTC, date, datetime, timedelta

import pytest

from app.availability.forms import WeekDraft, validate
from app.availability.rules import RepFacts, RepStatus, can_take_call_now, org_availability, rep_status


def t(text: str) -> datetime:
    """'2026-03-02 14:00' as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def hm(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def week(**days) -> list:
    """week(mon="09:00-17:00", sun="22:00-02:00,03:00-04:00") -> the stored weekly shape."""
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    weekly = [[] for _ in names]
    for name, spec in days.items():
        targets = names[:5] if name == "weekdays" else names if name == "every" else [name]
        for target in targets:
            weekly[names.index(target)] = [[hm(p.split("-")[0]), hm(p.split("-")[1])]
                                           for p in spec.split(",")]
    return weekly


def rep(tz="UTC", weekly=None, overrides=None, busy=(), toggled=True, active=True, name="Rex"):
    return RepFacts(user_id=name, name=name, timezone=tz, weekly=weekly or week(every="00:00-00:00"),
                    overrides=overrides or {}, busy=tuple((t(s), t(e)) for s, e in busy),
                    toggled=toggled, active=active)


NY_9_TO_5 = week(weekdays="09:00-17:00")
BERLIN_LATE = week(mon="22:00-02:00")

CASES = [
    # (id, facts, now, expected available, reason, until)
    ("inside hours, New York winter (EST)", rep("America/New_York", NY_9_TO_5),
     "2026-03-02 14:00", True, "available", "2026-03-02 22:00"),
    ("one minute before hours", rep("America/New_York", NY_9_TO_5),
     "2026-03-02 13:59", False, "outside_hours", "2026-03-02 14:00"),
    ("exactly at the end of hours: half-open", rep("America/New_York", NY_9_TO_5),
     "2026-03-02 22:00", False, "outside_hours", "2026-03-03 14:00"),
    ("Friday evening waits for Monday", rep("America/New_York", NY_9_TO_5),
     "2026-03-06 23:00", False, "outside_hours", "2026-03-09 13:00"),  # Monday 9:00 is EDT by then
    ("toggled off", rep(toggled=False), "2026-03-02 14:00", False, "toggled_off", None),
    ("deactivated account", rep(active=False), "2026-03-02 14:00", False, "inactive", None),
    # crossing midnight: Monday 22:00-02:00 Berlin (CET, UTC+1)
    ("after midnight, in Monday's late interval", rep("Europe/Berlin", BERLIN_LATE),
     "2026-03-02 23:30", True, "available", "2026-03-03 01:00"),
    ("before Monday's late interval", rep("Europe/Berlin", BERLIN_LATE),
     "2026-03-02 20:59", False, "outside_hours", "2026-03-02 21:00"),
    ("Sunday night into Monday", rep("UTC", week(sun="22:00-02:00")),
     "2026-03-02 01:00", True, "available", "2026-03-02 02:00"),
    ("touching intervals across midnight are one", rep("UTC", week(mon="20:00-00:00", tue="00:00-04:00")),
     "2026-03-02 23:00", True, "available", "2026-03-03 04:00"),
    # US spring forward, Sunday 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z)
    ("spring forward: 01:00-05:00 is three real hours", rep("America/New_York", week(sun="01:00-05:00")),
     "2026-03-08 08:30", True, "available", "2026-03-08 09:00"),
    ("spring forward: ends at 05:00 EDT", rep("America/New_York", week(sun="01:00-05:00")),
     "2026-03-08 09:00", False, "outside_hours", "2026-03-15 05:00"),
    ("spring forward: a start in the skipped hour moves forward by the jump (02:30 -> 03:30 EDT)",
     rep("America/New_York", week(sun="02:30-04:00")), "2026-03-08 07:15", False, "outside_hours",
     "2026-03-08 07:30"),
    ("spring forward: from the moved start", rep("America/New_York", week(sun="02:30-04:00")),
     "2026-03-08 07:30", True, "available", "2026-03-08 08:00"),
    # US fall back, Sunday 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z)
    ("fall back: 00:00-03:00 is four real hours", rep("America/New_York", week(sun="00:00-03:00")),
     "2026-11-01 07:30", True, "available", "2026-11-01 08:00"),
    ("fall back: a repeated end time means its first occurrence",
     rep("America/New_York", week(sat="22:00-01:30")), "2026-11-01 05:45", False, "outside_hours",
     "2026-11-08 03:00"),
    ("fall back: just before that first 01:30", rep("America/New_York", week(sat="22:00-01:30")),
     "2026-11-01 05:29", True, "available", "2026-11-01 05:30"),
    # Europe spring forward, Sunday 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z)
    ("Berlin 09:00 is 08:00Z on Saturday (CET)", rep("Europe/Berlin", week(every="09:00-17:00")),
     "2026-03-28 07:30", False, "outside_hours", "2026-03-28 08:00"),
    ("Berlin 09:00 is 07:00Z on Sunday (CEST)", rep("Europe/Berlin", week(every="09:00-17:00")),
     "2026-03-29 07:30", True, "available", "2026-03-29 15:00"),
    # Europe fall back, Sunday 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z)
    ("Berlin 17:00 is 16:00Z after fall back", rep("Europe/Berlin", week(every="09:00-17:00")),
     "2026-10-25 15:30", True, "available", "2026-10-25 16:00"),
    # reps far apart
    ("Tokyo 9-17 at 01:00Z is 10:00 JST", rep("Asia/Tokyo", NY_9_TO_5),
     "2026-03-02 01:00", True, "available", "2026-03-02 08:00"),
    ("Los Angeles at the same instant is Sunday evening", rep("America/Los_Angeles", NY_9_TO_5),
     "2026-03-02 01:00", False, "outside_hours", "2026-03-02 17:00"),
    # date overrides (dates are the rep's local dates)
    ("a day off replaces the weekly hours",
     rep("America/New_York", NY_9_TO_5, overrides={date(2026, 3, 2): []}),
     "2026-03-02 15:00", False, "outside_hours", "2026-03-03 14:00"),
    ("special hours on a Saturday",
     rep("America/New_York", NY_9_TO_5, overrides={date(2026, 3, 7): [[hm("10:00"), hm("12:00")]]}),
     "2026-03-07 15:30", True, "available", "2026-03-07 17:00"),
    ("special hours replace, not add to, the weekly ones",
     rep("America/New_York", NY_9_TO_5, overrides={date(2026, 3, 2): [[hm("12:00"), hm("13:00")]]}),
     "2026-03-02 14:30", False, "outside_hours", "2026-03-02 17:00"),
    ("an interval belongs to the date it starts on: Tuesday off keeps Monday's late hours",
     rep("Europe/Berlin", BERLIN_LATE, overrides={date(2026, 3, 3): []}),
     "2026-03-02 23:30", True, "available", "2026-03-03 01:00"),
    # busy blocks at the exact instant
    ("busy block starting exactly now blocks", rep(busy=[("2026-03-02 14:00", "2026-03-02 15:00")]),
     "2026-03-02 14:00", False, "busy", "2026-03-02 15:00"),
    ("busy block ending exactly now does not", rep(busy=[("2026-03-02 13:00", "2026-03-02 14:00")]),
     "2026-03-02 14:00", True, "available", None),
    ("available until the next busy block", rep(busy=[("2026-03-02 16:00", "2026-03-02 17:00")]),
     "2026-03-02 14:00", True, "available", "2026-03-02 16:00"),
    ("touching busy blocks count as one", rep(busy=[("2026-03-02 14:00", "2026-03-02 15:00"),
                                                    ("2026-03-02 15:00", "2026-03-02 16:00")]),
     "2026-03-02 14:30", False, "busy", "2026-03-02 16:00"),
    ("busy outside hours is just outside hours",
     rep("America/New_York", NY_9_TO_5, busy=[("2026-03-02 12:00", "2026-03-02 15:00")]),
     "2026-03-02 13:00", False, "outside_hours", "2026-03-02 14:00"),
    ("no hours at all", rep(weekly=[[] for _ in range(7)]), "2026-03-02 14:00", False, "outside_hours", None),
]


@pytest.mark.parametrize(("facts", "now", "available", "reason", "until"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rep_status(facts, now, available, reason, until):
    status = rep_status(facts, t(now))
    assert (status.available, status.reason) == (available, reason)
    if until is not None or reason != "available":
        assert status.until == (t(until) if until else None)
    assert can_take_call_now(facts, t(now)) is available  # the ring's shortcut agrees


def test_whole_week_available_lasts_to_the_horizon():
    status = rep_status(rep(), t("2026-03-02 14:00"))
    assert status.available and status.until >= t("2026-03-16 00:00")


@pytest.mark.parametrize(("facts", "now", "next_at"), [
    (rep("America/New_York", NY_9_TO_5), "2026-03-06 23:00", "2026-03-09 13:00"),
    # busy right at the start of the hours: the next free minute is after the meeting
    (rep("America/New_York", NY_9_TO_5, busy=[("2026-03-09 12:00", "2026-03-09 14:30")]),
     "2026-03-06 23:00", "2026-03-09 14:30"),
    (rep(busy=[("2026-03-02 14:00", "2026-03-02 15:00")]), "2026-03-02 14:10", "2026-03-02 15:00"),
    (rep(toggled=False), "2026-03-02 14:00", None),
    (rep(weekly=[[] for _ in range(7)]), "2026-03-02 14:00", None),
])
def test_next_available(facts, now, next_at):
    assert rep_status(facts, t(now)).next_at == (t(next_at) if next_at else None)


@pytest.mark.parametrize(("online", "reason"), [(None, "available"), (True, "available"), (False, "offline")])
def test_presence_is_one_more_input(online, reason):
    assert rep_status(rep(), t("2026-03-02 14:00"), online=online).reason == reason


@pytest.mark.parametrize(("facts", "now", "next_at"), [
    # at night with the laptop closed: the schedule still says when they are expected
    (rep("America/New_York", NY_9_TO_5), "2026-03-06 23:00", "2026-03-09 13:00"),
    # inside their hours but no dashboard open: nobody can say when they are back
    (rep("America/New_York", NY_9_TO_5), "2026-03-09 15:00", None),
    (rep(), "2026-03-02 14:00", None),
])
def test_offline_reps_are_expected_at_their_next_hours(facts, now, next_at):
    status = rep_status(facts, t(now), online=False)
    assert not status.available and status.reason == "offline"
    assert status.next_at == (t(next_at) if next_at else None)
    # the answer changes by itself when those hours begin: a cache must not outlive that
    assert status.until == status.next_at


def test_org_answer_combines_reps():
    now = t("2026-03-02 01:00")
    tokyo = rep_status(rep("Asia/Tokyo", NY_9_TO_5), now)
    la = rep_status(rep("America/Los_Angeles", NY_9_TO_5), now)
    both = org_availability([tokyo, la])
    assert both.available and both.next_at is None
    assert both.valid_until == t("2026-03-02 08:00")  # Tokyo's hours end first
    closed = org_availability([la, RepStatus(False, "toggled_off")])
    assert not closed.available
    assert closed.next_at == t("2026-03-02 17:00") == closed.valid_until
    assert org_availability([]) == org_availability([RepStatus(False, "inactive")])


def draft(timezone="Europe/Berlin", **days):
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    d = WeekDraft(timezone=timezone)
    from app.availability.forms import Row

    for name, rows in days.items():
        d.days[names.index(name)] = [Row(*r.split("-")) for r in rows]
    return d


@pytest.mark.parametrize(("d", "message"), [
    (draft(mon=["09:00-17:00", "17:00-19:00"]), None),  # touching is fine
    (draft(mon=["22:00-02:00"], tue=["02:00-06:00"]), None),
    (draft(mon=["00:00-00:00"]), None),
    (draft(timezone="Mars/Olympus"), "Choose a timezone"),
    (draft(timezone=""), "Choose a timezone"),
    (draft(mon=["09:00-09:00"]), "The end must be after the start"),
    (draft(mon=["9am-5pm"]), "Enter both times"),
    (draft(mon=["09:00-"]), "Enter both times"),
    (draft(mon=["09:00-12:00", "11:00-13:00"]), "Overlaps 09:00–12:00."),
    (draft(mon=["22:00-02:00"], tue=["01:00-05:00"]), "Overlaps 22:00–02:00 on Monday."),
    (draft(sun=["23:00-01:00"], mon=["00:30-05:00"]), "Overlaps"),  # the week wraps around
    (draft(mon=["00:00-00:00"], tue=["00:00-01:00"]), None),
    (draft(mon=["00:00-00:00", "10:00-11:00"]), "Overlaps"),
])
def test_schedule_validation(d, message):
    ok = validate(d)
    errors = [r.error for day in d.days for r in day] + [d.timezone_error]
    assert ok is (message is None)
    if message:
        assert any(message in e for e in errors), errors



@pytest.mark.parametrize(("facts", "now", "reason", "until", "next_at"), [
    # busy until Friday noon, no hours at the weekend: next free time is Monday, beyond a short look
    (rep("UTC", week(weekdays="09:00-17:00"), busy=[("2026-03-05 09:00", "2026-03-06 17:00")]),
     "2026-03-05 10:00", "busy", "2026-03-06 17:00", "2026-03-09 09:00"),
    # available for a whole week without a break
    (rep(), "2026-03-02 10:00", "available", None, None),
    # the next hours are ten days away (a long holiday of overrides)
    (rep("UTC", week(every="09:00-10:00"), overrides={date(2026, 3, d): [] for d in range(2, 12)}),
     "2026-03-02 08:00", "outside_hours", "2026-03-12 09:00", "2026-03-12 09:00"),
])
def test_answers_far_ahead_are_found(facts, now, reason, until, next_at):
    status = rep_status(facts, t(now))
    assert status.reason == reason
    assert status.next_at == (t(next_at) if next_at else None)
    if until:
        assert status.until == t(until)
    else:
        assert status.until > t(now) + timedelta(days=10)
