"""The Analytics page in Chromium: the SVG charts render under the strict CSP, styled by the
stylesheet, and each table view shows exactly the report's data (no screenshots)."""

from zoneinfo import ZoneInfo

from app.analytics import report, rollup
from tests.analytics_history import History, utc
from tests.conftest import PASSWORD

RANGE = "?from=2026-10-24&to=2026-10-26"


def shown(value) -> str:
    return "" if value is None else str(value)


def test_the_charts_render_and_each_table_view_equals_the_data(app, browser, live_server, admin):
    history = History(admin)
    history.counters(app.extensions["redis"])
    rollup.rollup(utc(2026, 10, 27, 12))
    data = report.build(history.org_id, ZoneInfo("Europe/Berlin"),
                        report.Filters(utc(2026, 10, 24).date(), utc(2026, 10, 26).date()))
    page = browser.new_page()
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(live_server + "/login")
    page.fill("input[name=email]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_url("**/dashboard")
    page.goto(live_server + "/analytics" + RANGE)

    # every chart is drawn: a visible SVG with shapes, its title and text alternative
    for chart, shape in (("funnel", "rect"), ("calls", "rect"), ("rate", "polyline"), ("waits", "polyline"),
                         ("heatmap", "rect")):
        svg = page.locator(f'svg[data-chart="{chart}"]')
        box = svg.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 50, chart
        assert svg.locator(shape).count() > 0, chart
        assert svg.locator("desc").text_content().strip(), chart
    # the bars' colours come from the stylesheet's classes (inline styles would break the CSP)
    missed = page.locator('svg[data-chart="calls"] rect[data-key="missed"]').first
    assert missed.evaluate("e => getComputedStyle(e).fill") == "rgb(217, 48, 37)"
    uncovered = page.locator("rect.uncovered-cell")
    assert uncovered.count() == 4
    assert uncovered.first.evaluate("e => getComputedStyle(e).stroke") == "rgb(217, 48, 37)"
    # the calls chart's bars carry the days table's numbers
    for day in data["days"]:
        for key in ("completed", "missed", "canceled"):
            bars = page.locator(f'rect[data-day="{day["day"]}"][data-key="{key}"]')
            values = [bars.nth(i).get_attribute("data-value") for i in range(bars.count())]
            assert values == ([str(day[key])] if day[key] else []), (day["day"], key)

    # each table view, opened as a person would, shows the report's rows
    for name in ("funnel", "days", "heatmap", "reps", "sites", "answers", "callbacks"):
        details = page.locator(f'details[data-table="{name}"]')
        if details.get_attribute("open") is None:
            details.locator("summary").click()
        table = page.locator(f"#table-{name}")
        assert table.is_visible(), name
        cells = table.locator("tbody tr").evaluate_all(
            "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))")
        expected = [[shown(row[key]) for key, _ in report.TABLES[name]] for row in data[name]]
        assert cells == expected, name
    assert violations == []
