"""Analytics arithmetic as plain functions of plain data (table-tested without a database)."""

import bisect
import math
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.availability.rules import wall_to_utc

WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


def merge(histograms) -> Counter:
    """Histograms ({value: count}, keys as JSON leaves them: strings) added together."""
    total: Counter = Counter()
    for histogram in histograms:
        for value, count in (histogram or {}).items():
            total[int(value)] += count
    return total


def percentile(histogram: Counter, fraction: float) -> int | None:
    """The nearest-rank percentile: the smallest value at or below which `fraction` of the counts lie."""
    n = sum(histogram.values())
    if n == 0:
        return None
    rank, seen = max(1, math.ceil(fraction * n)), 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return None


def rate(part: int, whole: int) -> float | None:
    """part / whole as a percentage with one decimal; None when there is nothing to divide."""
    return round(100 * part / whole, 1) if whole else None


def local_days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def day_bounds(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants the local days first..last span (a DST day is 23 or 25 hours)."""
    return wall_to_utc(first, 0, tz), wall_to_utc(last + timedelta(days=1), 0, tz)


def hour_slots(first: date, last: date, tz: ZoneInfo):
    """(local date, local hour, UTC start, UTC end) of every wall-clock hour of the days; an hour a
    DST jump skips has no slot, an hour it repeats is one slot two hours long. Steps through UTC
    (one conversion an hour: a year is 8,784 of them)."""
    moment, end = day_bounds(first, last, tz)
    slot = None
    while moment < end:
        following = moment + timedelta(hours=1)
        local = moment.astimezone(tz)
        if slot and slot[:2] == (local.date(), local.hour):
            slot = (*slot[:3], following)
        else:
            if slot:
                yield slot
            slot = (local.date(), local.hour, moment, following)
        moment = following
    if slot:
        yield slot


def reps_per_slot(slots, rep_spans: list[list]) -> dict:
    """{(date, hour): reps scheduled for any part of that hour}; rep_spans: each rep's UTC spans
    (merged and sorted). Each span finds its first slot by bisection: reps × spans, not × slots."""
    slots = list(slots)
    starts = [start for _, _, start, _ in slots]
    counts = dict.fromkeys(((day, hour) for day, hour, _, _ in slots), 0)
    for spans in rep_spans:
        covered = set()
        for span_start, span_end in spans:
            i = max(bisect.bisect_right(starts, span_start) - 1, 0)
            while i < len(slots) and slots[i][2] < span_end:
                if slots[i][3] > span_start:
                    covered.add(i)
                i += 1
        for i in covered:
            day, hour = slots[i][0], slots[i][1]
            counts[(day, hour)] += 1
    return counts


def heatmap(requests: dict, reps: dict) -> list[list[dict]]:
    """7 rows (Monday first) of 24 cells: call requests on that weekday and hour over the range
    (`requests`: {(date, hour): n}), and the fewest reps scheduled then on any of those dates
    (None for a weekday the range does not include)."""
    grid = [[{"visitors": 0, "reps": None} for _ in range(24)] for _ in range(7)]
    for (day, hour), count in reps.items():
        cell = grid[day.weekday()][hour]
        cell["reps"] = count if cell["reps"] is None else min(cell["reps"], count)
    for (day, hour), count in requests.items():
        grid[day.weekday()][hour]["visitors"] += count
    return grid


def uncovered(grid: list[list[dict]]) -> list[dict]:
    """Runs of consecutive hours of one weekday where visitors came and no rep was scheduled,
    most visitors first: {"weekday", "start", "end", "visitors", "text"}."""
    runs = []
    for weekday, row in enumerate(grid):
        hour = 0
        while hour < 24:
            if row[hour]["visitors"] and row[hour]["reps"] == 0:
                start, visitors = hour, 0
                while hour < 24 and row[hour]["visitors"] and row[hour]["reps"] == 0:
                    visitors += row[hour]["visitors"]
                    hour += 1
                runs.append(
                    {
                        "weekday": weekday,
                        "start": start,
                        "end": hour,
                        "visitors": visitors,
                        "text": f"{WEEKDAYS[weekday]} {start}–{hour}: {visitors} "
                        f"visitor{'s' if visitors != 1 else ''}, 0 reps available",
                    }
                )
            hour += 1
    return sorted(runs, key=lambda r: (-r["visitors"], r["weekday"], r["start"]))


def duration_text(seconds: int | None) -> str:
    """12 s, 4 min 05 s, 2 h 03 min: short and readable."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
