"""Words for the statuses: the header toggle, the reasons on "Who can take a call now?", the badge."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.availability.rules import OrgAvailability, RepFacts, RepStatus
from app.availability.service import local_time


def when(moment: datetime, timezone: str, now: datetime) -> str:
    """'15:00' today, 'tomorrow 09:00', 'Tue 09:00' this week, else 'Dec 3, 09:00' (local time)."""
    local, today = local_time(moment, timezone), local_time(now, timezone).date()
    days = (local.date() - today).days
    if days == 0:
        return local.strftime("%H:%M")
    if days == 1:
        return local.strftime("tomorrow %H:%M")
    if 1 < days < 7:
        return local.strftime("%a %H:%M")
    return local.strftime("%b %-d, %H:%M")


@dataclass(frozen=True)
class Toggle:
    on: bool
    label: str
    tone: str  # ok, warn, off: the colour of the switch
    detail: str


def toggle(facts: RepFacts, status: RepStatus, now: datetime) -> Toggle:
    """What the rep's own switch says, e.g. 'Available — busy in calendar until 15:00'."""
    tz = facts.timezone
    if not facts.toggled:
        return Toggle(False, "Not available", "off", "Turn on to take calls.")
    if status.reason == "busy":
        return Toggle(True, f"Available — busy in calendar until {when(status.until, tz, now)}",
                      "warn", "A calendar event marked Busy blocks calls.")
    if status.reason == "outside_hours":
        start = when(status.until, tz, now) if status.until else None
        detail = f"Your hours start {start}." if start else "You have no hours set."
        return Toggle(True, "Available — outside your hours", "warn", detail)
    if status.reason == "on_call":
        return Toggle(True, "Available — on a call", "warn", "No new call rings until this one ends.")
    if status.reason == "offline":
        return Toggle(True, "Available — dashboard not connected", "warn", "Keep a dashboard tab open.")
    return Toggle(True, "Available", "ok", _until(status, tz, now, "You can take calls"))


def _until(status: RepStatus, tz: str, now: datetime, prefix: str) -> str:
    if status.until and status.until - now < timedelta(days=2):
        return f"{prefix} until {when(status.until, tz, now)} ({tz})."
    return f"{prefix}."


def reason(facts: RepFacts, status: RepStatus, now: datetime) -> str:
    """The exact reason a rep can or cannot take a call now, for an admin."""
    tz = facts.timezone
    if status.reason == "available":
        return _until(status, tz, now, "Can take a call now")
    if status.reason == "inactive":
        return "Their account is deactivated."
    if status.reason == "toggled_off":
        return "The Available switch is off."
    if status.reason == "offline":
        return "Available, but no dashboard is open."
    if status.reason == "on_call":
        return "On a call: rung again when it ends."
    if status.reason == "busy":
        return f"A Busy calendar event until {when(status.until, tz, now)} ({tz})."
    if status.until:
        return f"Outside their hours; they start {when(status.until, tz, now)} ({tz})."
    return "Outside their hours: no hours set in the next two weeks."


@dataclass(frozen=True)
class Badge:
    shows: bool
    live: bool  # a visitor can start a call now
    message: str


def badge(settings, org: OrgAvailability, timezone: str, now: datetime) -> Badge:
    """Whether a site's badge shows now and why not: the seed's troubleshooting list, answered."""
    if settings.paused:
        return Badge(False, False, "Hidden: incoming calls are paused for this site.")
    if org.available:
        return Badge(True, True, "Shows: visitors can start a call now.")
    back = ""
    if org.next_at:
        back = f" Next available: {when(org.next_at, timezone, now)} ({timezone})."
    if settings.hide_when_unavailable:
        return Badge(False, False, "Hidden: nobody is available and “Hide when unavailable” is on." + back)
    if settings.calendar_url:
        return Badge(True, False, "Shows the calendar link instead of a call: nobody is available." + back)
    return Badge(True, False, "Shows, but nobody is available to answer a call." + back)


def summary(pairs) -> str:
    """'2 toggled off, 1 busy in calendar' for the reps who cannot take a call."""
    labels = {"inactive": "deactivated", "toggled_off": "switched off", "offline": "not connected",
              "outside_hours": "outside their hours", "busy": "busy in calendar", "on_call": "on a call"}
    counts = Counter(s.reason for _, s in pairs if not s.available)
    return ", ".join(f"{n} {labels[r]}" for r, n in counts.most_common())
