"""What the Analytics page draws from the report's tables: chart geometry and the sentences that
say the same as each chart (its text alternative)."""

from datetime import date, timedelta

from app.analytics import charts, stats
from app.analytics.report import grid_of

OUTCOME_SERIES = [
    ("completed", "s-completed"),
    ("in_call", "s-answered"),
    ("missed", "s-missed"),
    ("canceled", "s-canceled"),
]


def query(first: date, last: date, site_id=None) -> dict:
    """The page's filters as URL query arguments (links, CSV exports)."""
    return {"from": first.isoformat(), "to": last.isoformat(), **({"site": str(site_id)} if site_id else {})}


def presets(today: date, site_id=None) -> list[tuple[str, dict]]:
    spans = [("Today", 0), ("Last 7 days", 6), ("Last 30 days", 29), ("Last 90 days", 89)]
    return [(label, query(today - timedelta(days=back), today, site_id)) for label, back in spans]


def page(data: dict) -> dict:
    if "days" not in data:  # a rep's page: their own table only
        return {}
    days = [{**d, "in_call": max(d["answered"] - d["completed"], 0)} for d in data["days"]]
    grid = grid_of(data["heatmap"])
    top = max([c["visitors"] for row in grid for c in row] + [0])
    return {
        "funnel": charts.funnel(data["funnel"]),
        "funnel_text": funnel_text(data["funnel"]),
        "calls": charts.stacked_days(days, OUTCOME_SERIES),
        "calls_text": calls_text(data["days"]),
        "rate": charts.lines(data["days"], [("answer_rate", "s-rate")], top=100),
        "waits": charts.lines(
            data["days"], [("median_answer_seconds", "s-median"), ("p90_answer_seconds", "s-p90")]
        ),
        "rate_text": rate_text(data["days"]),
        "grid": [[{**c, "level": charts.heat_level(c["visitors"], top)} for c in row] for row in grid],
        "uncovered": stats.uncovered(grid),
    }


def funnel_text(rows: list[dict]) -> str:
    return "; ".join(f"{r['step']}: {r['count']}" for r in rows) + "."


def calls_text(days: list[dict]) -> str:
    total = {k: sum(d[k] for d in days) for k in ("requested", "completed", "missed", "canceled")}
    return (
        f"{total['requested']} calls requested over {len(days)} days: {total['completed']} completed, "
        f"{total['missed']} missed, {total['canceled']} canceled."
    )


def rate_text(days: list[dict]) -> str:
    requested = sum(d["requested"] for d in days)
    answered = sum(d["answered"] for d in days)
    rate = stats.rate(answered, requested)
    if rate is None:
        return "No calls were requested in this range."
    best = max((d for d in days if d["answer_rate"] is not None), key=lambda d: d["answer_rate"])
    worst = min((d for d in days if d["answer_rate"] is not None), key=lambda d: d["answer_rate"])
    return (
        f"{answered} of {requested} calls answered ({rate}%); best day {best['day']} "
        f"({best['answer_rate']}%), worst {worst['day']} ({worst['answer_rate']}%)."
    )
