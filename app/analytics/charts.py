"""Chart geometry for the server-drawn SVGs: numbers in, coordinates out; the templates draw them.

No colours or styles here: each shape carries a CSS class (the dashboard's CSP allows no inline
style), and every chart also has a table view and a one-sentence text alternative.
"""

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 220, 44, 24, 10


def nice_max(value: float) -> float:
    """The axis top: the next of 1, 2, 5 × 10ⁿ at or above the value."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return factor * step
        step *= 10


def _y(value: float, top: float) -> float:
    plot = HEIGHT - BOTTOM - TOP
    return round(HEIGHT - BOTTOM - plot * value / top, 1)


def axis(top: float) -> list[dict]:
    """Gridlines at 0, ½ and the top of the axis."""
    return [{"y": _y(v, top), "label": f"{v:g}"} for v in (0, top / 2, top)]


def funnel(rows: list[dict]) -> dict:
    """One horizontal bar per step, as wide as its share of the first step."""
    top = max([r["count"] for r in rows] + [1])
    bar_height = 26
    bars = [
        {
            "y": i * (bar_height + 6),
            "width": round((WIDTH - 220) * r["count"] / top, 1),
            "label": r["step"],
            "count": r["count"],
        }
        for i, r in enumerate(rows)
    ]
    return {"bars": bars, "bar_height": bar_height, "height": len(rows) * (bar_height + 6)}


def stacked_days(rows: list[dict], series: list[tuple[str, str]]) -> dict:
    """A column per day, its series stacked from the bottom."""
    top = nice_max(max([sum(r[k] or 0 for k, _ in series) for r in rows] + [0]))
    slot = (WIDTH - LEFT) / max(len(rows), 1)
    columns = []
    for i, row in enumerate(rows):
        base, parts = 0, []
        for key, css in series:
            value = row[key] or 0
            if value:
                parts.append(
                    {
                        "css": css,
                        "y": _y(base + value, top),
                        "height": round(_y(base, top) - _y(base + value, top), 1),
                        "value": value,
                        "key": key,
                    }
                )
            base += value
        columns.append(
            {
                "x": round(LEFT + i * slot + slot * 0.15, 1),
                "width": round(max(slot * 0.7, 1), 1),
                "parts": parts,
                "day": row["day"],
            }
        )
    return {"columns": columns, "axis": axis(top), "ticks": _ticks(rows, slot)}


def lines(rows: list[dict], series: list[tuple[str, str]], top: float | None = None) -> dict:
    """A polyline per series (points where the day has a value); gaps where it has none."""
    values = [row[k] for row in rows for k, _ in series if row[k] is not None]
    top = top or nice_max(max(values + [0]))
    slot = (WIDTH - LEFT) / max(len(rows), 1)
    drawn = []
    for key, css in series:
        points = [
            (round(LEFT + i * slot + slot / 2, 1), _y(row[key], top))
            for i, row in enumerate(rows)
            if row[key] is not None
        ]
        drawn.append(
            {"css": css, "key": key, "points": " ".join(f"{x},{y}" for x, y in points), "dots": points}
        )
    return {"series": drawn, "axis": axis(top), "ticks": _ticks(rows, slot)}


def _ticks(rows: list[dict], slot: float) -> list[dict]:
    """Day labels, about eight of them whatever the range."""
    every = max(len(rows) // 8, 1)
    return [
        {"x": round(LEFT + i * slot + slot / 2, 1), "label": row["day"][5:]}
        for i, row in enumerate(rows)
        if i % every == 0
    ]


def heat_level(visitors: int, top: int) -> int:
    """0 (none) to 5 (the busiest cell): the cell's CSS class."""
    if not visitors:
        return 0
    return max(1, min(5, round(5 * visitors / max(top, 1))))
