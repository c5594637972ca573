"""The schedule editor's form (a variable number of intervals per day) and the override form.

The weekly editor posts `start-<day>` / `end-<day>` lists (Monday is 0) plus the button that
was pressed (`op`): add a row, remove a row, copy a day to others, or save. Only "save"
validates and stores; the other buttons re-render the edited draft, so nothing is lost.
"""

import re
from dataclasses import dataclass, field

from wtforms import DateField, RadioField, StringField
from wtforms.validators import InputRequired, Optional

from app.availability.service import valid_timezone
from app.forms import Form

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_PER_DAY = 12
WEEK_MINUTES = 7 * 1440
TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(:[0-5]\d(\.\d+)?)?$")


def parse_time(text: str) -> int | None:
    """'09:30' -> 570; None when it is not a time of day."""
    match = TIME.match((text or "").strip())
    return int(match.group(1)) * 60 + int(match.group(2)) if match else None


def fmt(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass
class Row:
    start: str
    end: str
    error: str = ""

    @property
    def overnight(self) -> bool:
        start, end = parse_time(self.start), parse_time(self.end)
        return start is not None and end is not None and end <= start and (start, end) != (0, 0)


@dataclass
class WeekDraft:
    """What the editor shows: 7 days of rows as typed, with messages next to them."""

    timezone: str
    days: list = field(default_factory=lambda: [[] for _ in DAYS])
    follows_default: bool = False
    timezone_error: str = ""
    notice: str = ""

    @classmethod
    def from_weekly(cls, timezone: str, weekly, follows_default=False) -> "WeekDraft":
        days = [[Row(fmt(s), fmt(e)) for s, e in day] for day in weekly]
        return cls(timezone=timezone, days=days, follows_default=follows_default)

    @classmethod
    def from_form(cls, form) -> "WeekDraft":
        days = [[Row(s, e) for s, e in zip(form.getlist(f"start-{d}"), form.getlist(f"end-{d}"),
                                            strict=False)] for d in range(7)]
        return cls(timezone=form.get("timezone", "").strip(), days=days,
                   follows_default=form.get("mode") == "default")

    def weekly(self) -> list:
        return [[[parse_time(r.start), parse_time(r.end)] for r in day] for day in self.days]

    @property
    def has_errors(self) -> bool:
        return bool(self.timezone_error) or any(r.error for day in self.days for r in day)


def apply_op(draft: WeekDraft, op: str, form) -> None:
    """Add, remove or copy rows as the pressed button says (no validation, no saving)."""
    kind, _, arg = op.partition("-")
    if kind == "add" and arg.isdigit() and int(arg) < 7:
        day = draft.days[int(arg)]
        day.append(Row(day[-1].end, "") if day else Row("09:00", "17:00"))
    elif kind == "remove" and re.fullmatch(r"\d-\d+", arg):
        day, index = map(int, arg.split("-"))
        if day < 7 and index < len(draft.days[day]):
            del draft.days[day][index]
    elif kind == "copy" and arg.isdigit() and int(arg) < 7:
        source = int(arg)
        targets = [int(t) for t in form.getlist(f"copy-to-{source}") if t.isdigit() and int(t) < 7]
        for target in targets:
            if target != source:
                draft.days[target] = [Row(r.start, r.end) for r in draft.days[source]]
        names = ", ".join(DAYS[t] for t in targets if t != source)
        draft.notice = f"Copied {DAYS[source]} to {names}: press Save to keep it." if names else ""


def validate(draft: WeekDraft, hours: bool = True) -> bool:
    """Times are times, each interval has a length, no interval overlaps another (across days too)."""
    if not valid_timezone(draft.timezone):
        draft.timezone_error = "Choose a timezone from the list, e.g. Europe/Berlin."
    if not hours:
        return not draft.timezone_error
    spans = []
    for d, day in enumerate(draft.days):
        if len(day) > MAX_PER_DAY:
            day[MAX_PER_DAY].error = f"At most {MAX_PER_DAY} intervals a day."
        for row in day:
            row.error = row.error or _row_error(row)
            if not row.error:
                spans.append((_week_span(d, row), d, row))
    _flag_overlaps(spans)
    return not draft.has_errors


def _row_error(row: Row) -> str:
    start, end = parse_time(row.start), parse_time(row.end)
    if start is None or end is None:
        return "Enter both times, like 09:00 and 17:30."
    if start == end and start != 0:
        return "The end must be after the start (00:00 to 00:00 is the whole day)."
    return ""


def _week_span(day: int, row: Row) -> tuple[int, int]:
    start, end = parse_time(row.start), parse_time(row.end)
    length = (end - start) % 1440 or 1440
    return day * 1440 + start, day * 1440 + start + length


def _flag_overlaps(spans) -> None:
    # The week is a circle: Sunday night's interval may run into Monday morning.
    for i, ((a0, a1), _, row) in enumerate(spans):
        for (b0, b1), other_day, other in spans[i + 1:]:
            if any(a0 < b1 + k and b0 + k < a1 for k in (-WEEK_MINUTES, 0, WEEK_MINUTES)):
                other.error = other.error or (
                    f"Overlaps {row.start}–{row.end} on {DAYS[_day_of(a0)]}." if other_day != _day_of(a0)
                    else f"Overlaps {row.start}–{row.end}.")


def _day_of(week_minute: int) -> int:
    return week_minute // 1440


def interval_error(start: int, end: int, others: list) -> str:
    """For a date override: the same checks against the hours already set on that date."""
    row = Row(fmt(start), fmt(end))
    error = _row_error(row)
    if error:
        return error
    mine = _week_span(0, row)
    for s, e in others:
        theirs = _week_span(0, Row(fmt(s), fmt(e)))
        if mine[0] < theirs[1] and theirs[0] < mine[1]:
            return f"Overlaps {fmt(s)}–{fmt(e)} already set on that date."
    return ""


class OverrideForm(Form):
    day = DateField("Date", validators=[InputRequired("Choose a date.")])
    kind = RadioField("On that date", choices=[("off", "Day off"), ("hours", "Special hours")],
                      default="off")
    start = StringField("From", validators=[Optional()], render_kw={"type": "time"})
    end = StringField("To", validators=[Optional()], render_kw={"type": "time"})
