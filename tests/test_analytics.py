"""Analytics: the counters, the daily roll-up, the page, its CSV and the API, on a known history."""

import time
import types
from datetime import date

import pytest
import sqlalchemy as sa

from app.analytics import rollup
from app.analytics.report import SITE_SUMS
from app.extensions import db
from app.models import AnalyticsCounter, AnswerDay, RepDay, SiteDay
from tests.analytics_history import History, rows_by, utc

NOW = utc(2026, 10, 27, 12, 0)
SAT, SUN, MON = date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 26)
SITE_FIELDS = SITE_SUMS  # every summed column of a site's day


@pytest.fixture
def history(app, admin):
    h = History(admin)
    h.counters(app.extensions["redis"])
    return h


def site_numbers(row) -> dict:
    return {f: getattr(row, f) for f in SITE_FIELDS if getattr(row, f)}


def test_rollup_cuts_days_and_hours_in_the_org_timezone_across_dst(history):
    rollup.rollup(NOW)
    rows = rows_by(SiteDay, "day", "site_id")
    a, b = history.site_a.id, history.site_b.id
    assert set(rows) == {(SAT, a), (SUN, a), (MON, a), (MON, b)}
    assert site_numbers(rows[(SAT, a)]) == {
        "badge_shown": 5,
        "widget_opened": 2,
        "qualified": 7,
        "requested": 2,
        "answered": 2,
        "connected": 2,
        "completed": 2,
        "talk_seconds": 180,
    }
    assert rows[(SAT, a)].answer_seconds == {"10": 1, "4": 1}
    assert rows[(SAT, a)].requests_by_hour == [0] * 10 + [1] + [0] * 12 + [1]
    # 00:05 CEST is Sunday's; both 02:30s (CEST then CET) land in hour 2
    assert site_numbers(rows[(SUN, a)]) == {
        "badge_shown": 3,
        "disqualified": 1,
        "requested": 2,
        "missed": 1,
        "canceled": 1,
        "callbacks_left": 1,
    }
    assert rows[(SUN, a)].requests_by_hour[2] == 2 and sum(rows[(SUN, a)].requests_by_hour) == 2
    # 23:30 UTC on Sunday is Monday 00:30 CET; the done callback counts on the day it was done
    assert site_numbers(rows[(MON, a)]) == {"requested": 1, "answered": 1, "callbacks_done": 1}
    assert rows[(MON, a)].requests_by_hour[0] == 1
    assert rows[(MON, a)].callback_minutes == {"1470": 1}
    assert site_numbers(rows[(MON, b)]) == {
        "badge_shown": 4,
        "requested": 2,
        "answered": 1,
        "completed": 1,
        "missed": 1,
        "callbacks_left": 1,
        "talk_seconds": 300,
    }
    reps = {k: (r.rung, r.answered, r.talk_seconds) for k, r in rows_by(RepDay, "day", "user_id").items()}
    rita, ada = history.rep.id, history.admin.id
    assert reps == {
        (SAT, rita): (1, 1, 120),
        (SAT, ada): (0, 1, 60),
        (SUN, rita): (1, 0, 0),
        (SUN, ada): (1, 0, 0),
        (MON, rita): (2, 2, 300),
    }
    answers = {
        k: (r.requested, r.answered) for k, r in rows_by(AnswerDay, "day", "question", "answer").items()
    }
    assert answers == {
        (SAT, "Team size", "11-50"): (1, 1),
        (SAT, "Team size", "1-10"): (1, 1),
        (SUN, "Team size", "11-50"): (1, 0),
    }


def snapshot() -> list:
    return sorted(
        (r.day, r.site_id, *(getattr(r, f) for f in SITE_FIELDS), r.requests_by_hour)
        for r in db.session.scalars(sa.select(SiteDay))
    )


def test_rollup_is_idempotent_and_survives_a_redis_restart(app, history):
    rollup.rollup(NOW)
    first = snapshot()
    rollup.rollup(NOW)
    assert snapshot() == first
    # Redis restarts empty: the counts already kept stay (the larger value wins)...
    app.extensions["redis"].flushdb()
    rollup.rollup(NOW)
    assert snapshot() == first
    # ... and counting starts again on top of them
    history.count(app.extensions["redis"], history.site_b.id, "badge_shown", utc(2026, 10, 27, 9, 0), 7)
    rollup.rollup(NOW)
    tuesday = rows_by(SiteDay, "day", "site_id")[(date(2026, 10, 27), history.site_b.id)]
    assert tuesday.badge_shown == 7
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AnalyticsCounter)) == 11


def test_a_call_that_ends_later_is_recounted_on_its_own_day(history):
    from app.models import Call

    rollup.rollup(NOW)
    call = db.session.scalar(sa.select(Call).where(Call.status == "accepted"))
    call.status, call.ended_at = "ended", utc(2026, 10, 26, 0, 0)  # 1770 s after it was answered
    db.session.commit()
    rollup.rollup(utc(2026, 11, 3, 12, 0))  # a week later: the call's day is outside the usual window
    monday = rows_by(SiteDay, "day", "site_id")[(MON, history.site_a.id)]
    assert (monday.completed, monday.talk_seconds) == (1, 1770)


def test_changing_the_timezone_rebuilds_every_day(history):
    from app.models import Organization

    rollup.rollup(NOW)
    db.session.get(Organization, history.org_id).timezone = "UTC"
    db.session.commit()
    rollup.rollup(NOW)
    rows = rows_by(SiteDay, "day", "site_id")
    # in UTC, the Sunday 23:30 call is Sunday's, and Sunday 00:05 CEST's badges are Saturday's (22:05)
    assert rows[(SUN, history.site_a.id)].requested == 3
    assert rows[(SAT, history.site_a.id)].badge_shown == 8 and rows[(SUN, history.site_a.id)].badge_shown == 0


def test_other_organizations_rows_stay_apart(history, other_admin):
    from app.sites.service import create_site
    from tests.analytics_history import add_call

    other_site = create_site(other_admin.organization_id, "globex.example.com")
    add_call(other_admin.organization_id, other_site, utc(2026, 10, 24, 12), "missed")
    db.session.commit()
    rollup.rollup(NOW)
    mine = db.session.scalars(sa.select(SiteDay).where(SiteDay.organization_id == history.org_id)).all()
    theirs = db.session.scalars(
        sa.select(SiteDay).where(SiteDay.organization_id == other_admin.organization_id)
    ).all()
    assert sum(r.requested for r in mine) == 7
    assert [(r.day, r.site_id, r.requested, r.missed) for r in theirs] == [(SAT, other_site.id, 1, 1)]


def test_the_widget_endpoints_count_the_funnel(app, client, admin):
    from app.analytics.rollup import copy_counters
    from app.models.base import utcnow
    from app.sites.service import create_site

    site = create_site(admin.organization_id, "example.com")
    query = {"public_key": site.public_key, "domain": "example.com"}
    assert client.get("/widget/config", query_string=query).status_code == 200
    assert client.get("/widget/config", query_string=query).status_code == 200
    opened = {"publicKey": site.public_key, "domain": "example.com", "check": True}
    assert client.post("/widget/qualify", json=opened).status_code == 200
    copy_counters(utcnow())
    db.session.commit()
    counts = {r.step: r.count for r in db.session.scalars(sa.select(AnalyticsCounter))}
    assert counts == {"badge_shown": 2, "widget_opened": 1}


# --- the page, its CSV and the API -----------------------------------------------------------------

RANGE = {"from": "2026-10-24", "to": "2026-10-26"}


def page_tables(html: str) -> dict:
    """Every table view of the page: {name: [row, …]} as a person reads the cells."""
    import html as htmllib
    import re

    tables = {}
    for name, body in re.findall(
        r'<table class="table analytics-table" id="table-(\w+)">(.*?)</table>', html, re.S
    ):
        rows = re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>")[1], re.S)
        tables[name] = [
            [htmllib.unescape(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows
        ]
    return tables


@pytest.fixture
def rolled(history):
    rollup.rollup(NOW)
    return history


EXPECTED = {
    "funnel": [
        ["Badge shown", "12", ""],
        ["Widget opened", "2", "16.7"],
        ["Qualification finished", "7", "350.0"],
        ["Call requested", "7", "100.0"],
        ["Answered", "4", "57.1"],
        ["Connected (media flowed)", "2", "50.0"],
        ["Completed", "3", "150.0"],
    ],
    "outcomes": [
        ["Completed", "3"],
        ["Missed", "2"],
        ["Canceled", "1"],
        ["Disqualified", "1"],
        ["Callbacks left", "2"],
    ],
    "days": [
        ["2026-10-24", "2", "2", "2", "0", "0", "100.0", "4", "10"],
        ["2026-10-25", "2", "0", "0", "1", "1", "0.0", "", ""],
        ["2026-10-26", "3", "2", "1", "1", "0", "66.7", "20", "30"],
    ],
    "reps": [["Rita Rep", "4", "3", "1", "420", "20"], ["Ada Admin", "1", "1", "0", "60", "4"]],
    "sites": [
        ["a.example.com", "8", "2", "5", "3", "1", "60.0", "1"],
        ["b.example.com", "4", "0", "2", "1", "1", "50.0", "1"],
    ],
    "answers": [["Team size", "11-50", "2", "1", "50.0"], ["Team size", "1-10", "1", "1", "100.0"]],
    "callbacks": [
        ["2026-10-24", "0", "0", ""],
        ["2026-10-25", "1", "0", ""],
        ["2026-10-26", "1", "1", "1470"],
    ],
}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def expected_heatmap() -> list[list[str]]:
    """Visitors where the history's calls were (local hours); reps: Ada follows the team's Monday–Friday
    9–17 Berlin, Rita only Saturday 10–12 London (11–13 in Berlin); no reps row for Tuesday–Friday,
    which the range does not include."""
    visitors = {(5, 10): 1, (5, 23): 1, (6, 2): 2, (0, 0): 1, (0, 11): 2}
    reps = {(0, h): 1 for h in range(9, 17)} | {(5, 11): 1, (5, 12): 1}
    rows = []
    for w, name in enumerate(WEEKDAYS):
        for h in range(24):
            in_range = w in (0, 5, 6)
            rows.append(
                [name, str(h), str(visitors.get((w, h), 0)), str(reps.get((w, h), 0)) if in_range else ""]
            )
    return rows


def test_the_page_shows_every_number_of_the_history(rolled, auth):
    auth.login("ada@acme.example.com")
    response = auth.client.get("/analytics", query_string=RANGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    tables = page_tables(html)
    assert {k: tables[k] for k in EXPECTED} == EXPECTED
    assert tables["heatmap"] == expected_heatmap()
    assert "Europe/Berlin" in html
    uncovered = [
        "Sundays 2–3: 2 visitors, 0 reps available",
        "Mondays 0–1: 1 visitor, 0 reps available",
        "Saturdays 10–11: 1 visitor, 0 reps available",
        "Saturdays 23–24: 1 visitor, 0 reps available",
    ]
    assert "<li>" + "</li><li>".join(uncovered) + "</li>" in html
    # the charts: one SVG each, with its text alternative
    for chart in ("funnel", "calls", "rate", "waits", "heatmap"):
        assert f'data-chart="{chart}"' in html
    assert "7 calls requested over 3 days: 3 completed, 2 missed, 1 canceled." in html
    assert 'data-day="2026-10-26" data-key="missed" data-value="1"' in html
    assert 'data-weekday="6" data-hour="2" data-visitors="2" data-reps="0"' in html
    assert "style=" not in html.split("<main")[1]


def test_the_site_filter_and_bad_filters(rolled, auth):
    auth.login("ada@acme.example.com")
    only_b = page_tables(
        auth.client.get("/analytics", query_string={**RANGE, "site": rolled.site_b.id}).get_data(as_text=True)
    )
    assert only_b["sites"] == [EXPECTED["sites"][1]]
    assert only_b["days"][2][:6] == ["2026-10-26", "2", "1", "1", "1", "0"]
    bad = auth.client.get("/analytics", query_string={"from": "2026-10-27", "to": "2026-10-26"})
    assert bad.status_code == 400 and "The start must be on or before the end." in bad.get_data(as_text=True)
    bad = auth.client.get("/analytics", query_string={"to": "9999-12-31"})
    assert bad.status_code == 400 and "Choose a date from 2000 to 2100." in bad.get_data(as_text=True)
    bad = auth.client.get("/analytics", query_string={"from": "yesterday"})
    assert bad.status_code == 400 and "Enter a date as YYYY-MM-DD" in bad.get_data(as_text=True)
    import uuid

    other = auth.client.get("/analytics", query_string={"site": str(uuid.uuid4())})
    assert other.status_code == 400 and "Choose one of your sites." in other.get_data(as_text=True)


def test_every_csv_equals_the_page(rolled, auth):
    import csv
    import io

    auth.login("ada@acme.example.com")
    tables = page_tables(auth.client.get("/analytics", query_string=RANGE).get_data(as_text=True))
    for name, rows in tables.items():
        response = auth.client.get(f"/analytics/{name}.csv", query_string=RANGE)
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert f"analytics-{name}-2026-10-24-2026-10-26.csv" in response.headers["Content-Disposition"]
        assert list(csv.reader(io.StringIO(response.get_data(as_text=True))))[1:] == rows, name


def test_the_api_answers_the_pages_numbers(rolled, client, auth):
    from app.api.auth import create_key
    from app.models.webhooks import API_SCOPES

    _, raw = create_key(rolled.org_id, "bi", list(API_SCOPES))
    auth.login("ada@acme.example.com")
    tables = page_tables(auth.client.get("/analytics", query_string=RANGE).get_data(as_text=True))
    from app.analytics.report import TABLES
    from app.api.v1.analytics import _camel_key

    headers = {"Authorization": f"Bearer {raw}"}
    for name, rows in tables.items():
        body = client.get(f"/api/v1/analytics/{name}", query_string=RANGE, headers=headers).get_json()
        assert (body["report"], body["from"], body["to"], body["timezone"]) == (
            name,
            *RANGE.values(),
            "Europe/Berlin",
        )
        as_text = [["" if r[_camel_key(k)] is None else str(r[_camel_key(k)]) for k, _ in TABLES[name]]
                   for r in body["data"]]
        assert as_text == rows, name
    summary = client.get("/api/v1/analytics/summary", query_string=RANGE, headers=headers).get_json()["data"]
    assert summary == {
        "requested": 7,
        "answered": 4,
        "answerRate": 57.1,
        "medianAnswerSeconds": 10,
        "p90AnswerSeconds": 30,
        "talkSeconds": 480,
        "callbacksLeft": 2,
        "callbacksDone": 1,
        "medianMinutesToDone": 1470,
    }
    wrong = client.get("/api/v1/analytics/days", query_string={"from": "2026-13-01"}, headers=headers)
    assert wrong.status_code == 400 and wrong.get_json()["error"]["code"] == "invalid_request"
    assert client.get("/api/v1/analytics/nope", headers=headers).status_code == 404
    _, narrow = create_key(rolled.org_id, "calls only", ["calls:read"])
    refused = client.get("/api/v1/analytics/days", headers={"Authorization": f"Bearer {narrow}"})
    assert refused.status_code == 403 and "analytics:read" in refused.get_json()["error"]["message"]


def test_a_rep_sees_their_own_numbers_only(rolled, auth):
    auth.login("rita@acme.example.com")
    response = auth.client.get("/analytics", query_string=RANGE)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page_tables(html) == {"reps": [EXPECTED["reps"][0]]}
    assert "Ada Admin" not in html.split("<main")[1] and "a.example.com" not in html
    assert auth.client.get("/analytics/sites.csv", query_string=RANGE).status_code == 404
    assert auth.client.get("/analytics/reps.csv", query_string=RANGE).get_data(as_text=True).splitlines()[
        1
    ] == ("Rita Rep,4,3,1,420,20")


def test_another_organization_sees_none_of_it(rolled, client, auth, other_admin):
    from app.api.auth import create_key

    auth.login("olga@globex.example.com")
    tables = page_tables(auth.client.get("/analytics", query_string=RANGE).get_data(as_text=True))
    assert tables["sites"] == [["Nothing in this range."]] and tables["reps"] == [["Nothing in this range."]]
    assert all(row[1] == "0" for row in tables["funnel"])
    _, raw = create_key(other_admin.organization_id, "theirs", ["analytics:read"])
    body = client.get(
        "/api/v1/analytics/summary", query_string=RANGE, headers={"Authorization": f"Bearer {raw}"}
    ).get_json()
    assert body["data"]["requested"] == 0 and body["timezone"] == "UTC"
    # our site's id is not theirs to filter by
    other = client.get(
        "/api/v1/analytics/days",
        query_string={"site_id": str(rolled.site_a.id)},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert other.status_code == 400


def test_the_organization_timezone_setting(auth, admin, rep):
    from app.models import Organization

    auth.login("ada@acme.example.com")
    bad = auth.post("/settings/organization", {"name": "Acme", "timezone": "Mars/Olympus"})
    assert bad.status_code == 400 and "Choose a timezone from the list" in bad.get_data(as_text=True)
    ok = auth.post("/settings/organization", {"name": "Acme GmbH", "timezone": "Europe/Berlin"})
    assert ok.status_code == 303
    org = db.session.get(Organization, admin.organization_id)
    db.session.refresh(org)
    assert (org.name, org.timezone) == ("Acme GmbH", "Europe/Berlin")
    auth.logout()
    auth.login("rex@acme.example.com")
    assert auth.client.get("/settings/organization").status_code == 403


# --- the home page -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "now, expected",
    [
        # Sunday 00:30 CET: the next six hours are Sunday 0–6; Sunday 2–3 had 2 requests, nobody works Sundays
        (
            utc(2026, 10, 31, 23, 30),
            [
                "Today 2–3: 2 visitors asked for a call at these hours over the last 4 weeks, "
                "and nobody is scheduled."
            ],
        ),
        # Sunday 22:10 CET: Monday 0–1 had one request; Ada's Monday starts at 9
        (
            utc(2026, 11, 1, 21, 10),
            [
                "Tomorrow 0–1: 1 visitor asked for a call at these hours over the last 4 weeks, "
                "and nobody is scheduled."
            ],
        ),
        # Monday 10:30 CET: Monday 11 had two requests, and Ada is scheduled then
        (utc(2026, 11, 2, 9, 30), []),
    ],
)
def test_the_coverage_warning_names_the_uncovered_hours_ahead(rolled, now, expected):
    from zoneinfo import ZoneInfo

    from app.analytics.service import coverage_warnings

    assert [w["text"] for w in coverage_warnings(rolled.org_id, ZoneInfo("Europe/Berlin"), now)] == expected


def test_the_home_page_leads_with_todays_numbers(app, auth, admin, rep):
    from datetime import timedelta

    from app.models.base import utcnow
    from app.sites.service import create_site
    from tests.analytics_history import add_call

    site = create_site(admin.organization_id, "example.com")
    now = utcnow()
    add_call(admin.organization_id, site, now - timedelta(minutes=3), "ended", 5, 60, rep)
    add_call(admin.organization_id, site, now - timedelta(minutes=2), "missed")
    db.session.commit()
    rollup.rollup(now)
    auth.login("ada@acme.example.com")
    html = auth.client.get("/dashboard").get_data(as_text=True)
    assert html.index('id="analytics-today"') < html.index("Getting started")
    for key, shown in (
        ("requested", "2"),
        ("answered", "1"),
        ("missed", "1"),
        ("median_answer_seconds", "5 s"),
    ):
        assert f'data-key="{key}">{shown}</strong>' in html
    auth.logout()
    auth.login("rex@acme.example.com")
    html = auth.client.get("/dashboard").get_data(as_text=True)
    assert 'data-key="answered">1</strong>' in html and 'data-key="talk_seconds">1 min 00 s</strong>' in html
    assert 'data-key="requested"' not in html


def test_buffered_counts_reach_their_hours_hashes_in_one_flush(app, monkeypatch):
    from app.analytics import counters
    from app.analytics.counters import KEEP_SECONDS, Buffer, hour_key

    now = utc(2026, 10, 27, 9, 30).timestamp()  # never an hour's last instant, whatever the clock
    monkeypatch.setattr(counters, "time", types.SimpleNamespace(
        time=lambda: now, strftime=time.strftime, gmtime=time.gmtime, sleep=time.sleep))
    redis = app.extensions["redis"]
    buffer = Buffer(redis, seconds=3600)  # flushed here, not by its thread
    for subject, times in (("site-a", 3), ("site-b", 1)):
        for _ in range(times):
            buffer.add(subject, "badge_shown")
    buffer.add("site-a", "widget_opened")
    buffer._counts[("site-a", "badge_shown", hour_key(now - 3600))] += 2  # counted in the hour before
    buffer.flush()
    assert redis.hgetall(hour_key(now)) == {b"site-a|badge_shown": b"3", b"site-b|badge_shown": b"1",
                                            b"site-a|widget_opened": b"1"}
    assert redis.hgetall(hour_key(now - 3600)) == {b"site-a|badge_shown": b"2"}
    assert 0 < redis.ttl(hour_key(now)) <= KEEP_SECONDS
    buffer.add("site-a", "badge_shown")
    buffer.flush()  # added to what the hash holds
    assert redis.hget(hour_key(now), "site-a|badge_shown") == b"4"
