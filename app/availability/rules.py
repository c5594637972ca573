"""The availability rule, as pure functions of plain data: table-tested without a database.

A rep is available at `now` when all hold: the account is active; they toggled Available;
they have a live dashboard open (presence); they are not on a call; their hours cover `now` in their own
timezone; no calendar busy block covers `now`. Every span is half-open [start, end): a busy
block that ends exactly now no longer blocks, one that starts exactly now does.

Wall-clock times are turned into instants the way java.time does it: a time skipped by a
daylight-saving jump moves forward by the jump (02:30 on a spring-forward night is 03:30),
and a time that happens twice means its first occurrence (zoneinfo's fold=0 gives both).
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

HORIZON = timedelta(days=14)  # how far ahead "next available" looks
SHORT_LOOK = timedelta(days=3)
DAY_MINUTES = 1440

Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class RepFacts:
    """Everything the rule needs about one rep, loaded once (see service.load_facts)."""

    user_id: object
    name: str
    timezone: str
    weekly: list  # 7 lists (Monday first) of [start_minute, end_minute]
    overrides: dict = field(default_factory=dict)  # date -> list of [start, end]; [] is a day off
    busy: tuple = ()  # (starts_at, ends_at) UTC pairs
    toggled: bool = False
    active: bool = True
    on_call: bool = False  # in an accepted call now: not rung for another one


@dataclass(frozen=True)
class RepStatus:
    """available; reason (a code below); until: when this reason ends (None: only a person
    changes it); next_at: when the rep is next available if they stay toggled on."""

    available: bool
    reason: str
    until: datetime | None = None
    next_at: datetime | None = None


REASONS = {
    "available": "Available",
    "inactive": "Account deactivated",
    "toggled_off": "Toggled unavailable",
    "offline": "No dashboard open",
    "outside_hours": "Outside their hours",
    "busy": "Busy in calendar",
    "on_call": "On a call",
}


def wall_to_utc(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The instant a wall clock in `tz` shows `minute` past midnight of `day` (1440: next day)."""
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    return naive.replace(tzinfo=tz).astimezone(UTC)


def day_spans(day: date, intervals, tz: ZoneInfo) -> list[Span]:
    """Instants covered by one local date's intervals; an end at or before its start is the next day."""
    spans = []
    for start, end in intervals:
        end_minute = end if end > start else end + DAY_MINUTES
        span = (wall_to_utc(day, start, tz), wall_to_utc(day, end_minute, tz))
        if span[0] < span[1]:  # a span inside a skipped hour is empty
            spans.append(span)
    return spans


def merge(spans) -> list[Span]:
    """Sorted spans with overlapping or touching ones joined."""
    merged: list[list[datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def hours_between(facts: RepFacts, start: datetime, end: datetime) -> list[Span]:
    """The rep's scheduled spans that touch [start, end), merged."""
    tz = ZoneInfo(facts.timezone)
    first = start.astimezone(tz).date() - timedelta(days=1)  # yesterday's spans may run into today
    days = (end.astimezone(tz).date() - first).days + 1
    spans = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        intervals = facts.overrides.get(day, facts.weekly[day.weekday()])
        spans += day_spans(day, intervals, tz)
    return [s for s in merge(spans) if s[1] > start and s[0] < end]


def subtract(spans: list[Span], holes: list[Span]) -> list[Span]:
    """`spans` minus `holes` (both merged and sorted)."""
    result = []
    for start, end in spans:
        for h_start, h_end in holes:
            if h_end <= start or h_start >= end:
                continue
            if h_start > start:
                result.append((start, h_start))
            start = max(start, h_end)
            if start >= end:
                break
        if start < end:
            result.append((start, end))
    return result


def covering(spans: list[Span], now: datetime) -> Span | None:
    return next((s for s in spans if s[0] <= now < s[1]), None)


def rep_status(facts: RepFacts, now: datetime, online: bool | None = None) -> RepStatus:
    """Whether this rep can take a call at `now`, why not, and until when.

    `online` is presence (a live dashboard open): None while presence is not tracked."""
    if not facts.active:
        return RepStatus(False, "inactive")
    if not facts.toggled:
        return RepStatus(False, "toggled_off")
    if online is False:
        return _offline(_schedule_status(facts, now))
    if facts.on_call:
        # until the call ends: only a person changes that (the end invalidates the cache)
        return RepStatus(False, "on_call")
    return _schedule_status(facts, now)


def can_take_call_now(facts: RepFacts, now: datetime, online: bool | None = None) -> bool:
    """rep_status(...).available, without working out until when: the ring's hot path. A day's
    look suffices, since the spans covering `now` start today or yesterday."""
    if not facts.active or not facts.toggled or online is False or facts.on_call:
        return False
    return _status_within(facts, now, timedelta(days=1)).available


def _offline(scheduled: RepStatus) -> RepStatus:
    """No dashboard open. Outside their hours, their schedule still says when they are expected
    ("Back at 9:00" for visitors at night); inside them, nobody can tell when they will be back."""
    if scheduled.available or scheduled.next_at is None:
        return RepStatus(False, "offline")
    return RepStatus(False, "offline", until=scheduled.next_at, next_at=scheduled.next_at)


def _schedule_status(facts: RepFacts, now: datetime) -> RepStatus:
    # Most answers lie within a day or two: look that far first, the whole horizon only if needed.
    near = _status_within(facts, now, SHORT_LOOK)
    if _settled(near, now + SHORT_LOOK - timedelta(days=1)):
        return near
    return _status_within(facts, now, HORIZON)


def _settled(status: RepStatus, limit: datetime) -> bool:
    """True when a short look already found every time the status needs, well inside what it saw."""
    needed = [status.until] if status.available else [status.next_at, status.until or status.next_at]
    return all(m is not None and m < limit for m in needed)


def _status_within(facts: RepFacts, now: datetime, horizon: timedelta) -> RepStatus:
    hours = hours_between(facts, now, now + horizon)
    busy = merge(facts.busy)
    free = subtract(hours, busy)
    window = covering(free, now)
    if window:
        return RepStatus(True, "available", until=window[1])
    next_at = next((max(s, now) for s, e in free if e > now), None)
    block = covering(busy, now)
    if covering(hours, now) and block:
        return RepStatus(False, "busy", until=block[1], next_at=next_at)
    upcoming = next((s for s, _ in hours if s > now), None)
    return RepStatus(False, "outside_hours", until=upcoming, next_at=next_at)


@dataclass(frozen=True)
class OrgAvailability:
    """The organization's answer: anyone available, when someone next is, and until when it holds."""

    available: bool
    next_at: datetime | None
    valid_until: datetime | None


def org_availability(statuses: list[RepStatus]) -> OrgAvailability:
    """Combine the reps' statuses; the answer can only change when one of them does."""
    available = any(s.available for s in statuses)
    upcoming = [s.next_at for s in statuses if s.next_at] if not available else []
    changes = [s.until for s in statuses if s.until]
    return OrgAvailability(available, min(upcoming, default=None), min(changes, default=None))
