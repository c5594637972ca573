"""Availability through the database, Redis and HTTP: the cached widget answer and its
invalidation, busy-block syncing, the schedule editor, overrides, the toggle and the status page."""

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.availability import service
from app.extensions import db
from app.models import BusyBlock, BusySync, DateOverride, DefaultSchedule, RepSchedule, User
from app.models.widget import settings_for
from app.realtime import presence
from app.redis_store import get_redis
from app.sites.service import create_site

MONDAY_NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday; 07:00 in New York, 13:00 in Berlin
HTMX = {"HX-Request": "true"}


@pytest.fixture
def clock(monkeypatch):
    """The service's notion of now, moved by the test."""
    state = {"now": MONDAY_NOON}
    monkeypatch.setattr(service, "utcnow", lambda: state["now"])
    return state


def online(*users):
    """The reps have a dashboard open: their socket's entry in the real presence store."""
    for user in users:
        presence.touch(user.id, user.organization_id, f"socket-of-{user.id}")


def custom_hours(user, timezone, weekly):
    service.save_schedule(user, timezone, weekly, follows_default=False)


def nine_to_five():
    return [[[540, 1020]]] * 5 + [[], []]


def gen(org_id) -> int:
    return int(get_redis().get(f"availability:{org_id}:gen") or 0)


# --- the rule with real rows -----------------------------------------------------------

def test_anyone_available_applies_the_full_rule(app, rep, clock):
    online(rep)
    org = rep.organization_id
    assert service.anyone_available(org) is False  # nobody toggled
    service.set_available(rep, True)
    assert service.anyone_available(org) is True  # no hours set anywhere: the toggle decides
    custom_hours(rep, "America/New_York", nine_to_five())  # 07:00 in New York
    assert service.widget_availability(org) == {"available": False,
                                                "nextAvailableAt": "2026-03-02T14:00:00.000Z"}
    custom_hours(rep, "Europe/Berlin", nine_to_five())  # 13:00 in Berlin
    assert service.anyone_available(org) is True
    rep.is_active_member = False
    db.session.commit()
    assert service.anyone_available(org) is False


def test_available_rep_ids_lists_who_should_ring(app, admin, rep, clock):
    online(admin, rep)
    service.set_available(rep, True)
    service.set_available(admin, True)
    custom_hours(admin, "America/New_York", nine_to_five())  # 07:00 there
    assert service.available_rep_ids(rep.organization_id) == [rep.id]


def test_reps_without_their_own_hours_follow_the_team_default(app, admin, rep, clock):
    online(rep)
    service.set_available(rep, True)
    service.save_default(admin.organization_id, "America/New_York", nine_to_five())
    facts, status = service.status_for(rep)
    assert (facts.timezone, status.reason) == ("America/New_York", "outside_hours")
    # the rep chooses Berlin but keeps following the default hours: 13:00 there is inside them
    service.save_schedule(rep, "Europe/Berlin", [], follows_default=True)
    assert service.status_for(rep)[1].available
    assert service.anyone_available(admin.organization_id)


def test_busy_blocks_from_a_sync_block_and_replace(app, rep, clock):
    online(rep)
    service.set_available(rep, True)
    org = rep.organization_id
    window = (MONDAY_NOON, MONDAY_NOON + timedelta(days=7))
    stored = service.replace_busy_blocks(rep.id, "google:primary", *window, [
        (MONDAY_NOON, MONDAY_NOON + timedelta(hours=1)),
        (MONDAY_NOON + timedelta(days=2), MONDAY_NOON + timedelta(days=2, hours=1)),
    ])
    assert stored == 2
    assert service.widget_availability(org) == {"available": False,
                                                "nextAvailableAt": "2026-03-02T13:00:00.000Z"}
    # a block of another calendar and one outside the window survive the next sync
    outside = BusyBlock(organization_id=org, user_id=rep.id, source="google:primary",
                        starts_at=MONDAY_NOON + timedelta(days=9),
                        ends_at=MONDAY_NOON + timedelta(days=9, hours=1))
    other = BusyBlock(organization_id=org, user_id=rep.id, source="google:team",
                      starts_at=MONDAY_NOON + timedelta(hours=5), ends_at=MONDAY_NOON + timedelta(hours=6))
    db.session.add_all([outside, other])
    db.session.commit()
    service.replace_busy_blocks(rep.id, "google:primary", *window, [])
    service.replace_busy_blocks(rep.id, "google:primary", *window, [])  # idempotent
    sources = sorted(b.source for b in db.session.scalars(sa.select(BusyBlock)))
    assert sources == ["google:primary", "google:team"]
    assert service.anyone_available(org) is True  # the sync invalidated the cached "no"
    sync = db.session.scalar(sa.select(BusySync))
    assert (sync.source, sync.window_start, sync.window_end) == ("google:primary", *window)


# --- the cache ---------------------------------------------------------------------------

def test_cached_answer_is_served_until_a_change(app, rep, clock):
    online(rep)
    org = rep.organization_id
    service.set_available(rep, True)
    assert service.anyone_available(org) is True
    # a write that bypasses the session (so nothing invalidates): the cache still answers
    db.session.execute(sa.update(User).where(User.id == rep.id).values(available=False))
    db.session.commit()
    assert service.anyone_available(org) is True
    service.invalidate(org)
    assert service.anyone_available(org) is False


@pytest.mark.parametrize("change", ["toggle", "schedule", "override", "busy", "widget", "removed"])
def test_every_kind_of_change_invalidates(app, admin, rep, clock, change):
    online(rep)
    org = rep.organization_id
    service.set_available(rep, True)
    site = create_site(org, "example.com")
    assert service.anyone_available(org) is True
    before = gen(org)
    if change == "toggle":
        service.set_available(rep, False)
    elif change == "schedule":
        custom_hours(rep, "America/New_York", nine_to_five())
    elif change == "override":
        service.save_override(rep, date(2026, 3, 2), [])
    elif change == "busy":
        db.session.add(BusyBlock(organization_id=org, user_id=rep.id, source="test",
                                 starts_at=MONDAY_NOON, ends_at=MONDAY_NOON + timedelta(hours=1)))
        db.session.commit()
    elif change == "widget":
        settings_for(site).hide_when_unavailable = True
        db.session.commit()
    else:
        db.session.delete(rep)
        db.session.commit()
    assert gen(org) > before
    assert service.anyone_available(org) is (change == "widget")


def test_a_rollback_invalidates_nothing(app, rep, clock):
    before = gen(rep.organization_id)
    rep.available = True
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    assert gen(rep.organization_id) == before


def test_cached_yes_never_outlives_the_interval(app, rep, clock):
    online(rep)
    """The hours end at 17:00 Berlin (16:00Z): the answer cached at 15:59:59.5 is not served at 16:00,
    although Redis still holds it and nothing was invalidated."""
    service.set_available(rep, True)
    custom_hours(rep, "Europe/Berlin", nine_to_five())
    clock["now"] = datetime(2026, 3, 2, 15, 59, 59, 500000, tzinfo=UTC)
    assert service.anyone_available(rep.organization_id) is True
    ttl = get_redis().pttl(f"availability:{rep.organization_id}")
    assert 0 < ttl <= 500
    clock["now"] = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    assert service.widget_availability(rep.organization_id) == {
        "available": False, "nextAvailableAt": "2026-03-03T08:00:00.000Z"}


def test_cache_is_capped_by_configuration(make_app, clock):
    from app.auth.service import sign_up
    from tests.conftest import PASSWORD

    app = make_app(AVAILABILITY_CACHE_SECONDS=5)
    with app.app_context():
        admin = sign_up("Capped", "Cap", "cap@capped.example.com", PASSWORD)
        service.set_available(admin, True)
        online(admin)
        assert service.anyone_available(admin.organization_id)
        ttl = app.extensions["redis"].pttl(f"availability:{admin.organization_id}")
        assert 4000 < ttl <= 5000


def test_a_value_computed_before_a_change_is_refused(app, rep, clock):
    online(rep)
    """Compute, then a change commits, then the slow computation stores its stale value: not served."""
    org = rep.organization_id
    stale_generation = gen(org)
    service.set_available(rep, True)  # commits and bumps the generation
    service._compute_and_store(org, clock["now"], stale_generation)  # pretends it read before
    db.session.execute(sa.update(User).where(User.id == rep.id).values(available=False))
    db.session.commit()
    service.invalidate(org)
    service._compute_and_store(org, clock["now"], stale_generation)
    stored = json.loads(get_redis().get(f"availability:{org}"))
    assert stored["gen"] == stale_generation != gen(org)
    assert service.anyone_available(org) is False


# --- HTTP: the toggle --------------------------------------------------------------------

def test_toggle_in_the_header_switches_and_says_so(app, auth, rep, clock):
    online(rep)
    auth.login(rep.email)
    page = auth.client.get("/dashboard").get_data(as_text=True)
    assert 'role="switch" aria-checked="false"' in page and "Not available" in page
    response = auth.post("/availability/toggle", {"available": "1"}, headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "availability-changed"
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith("<div id=\"availability-toggle\"")
    assert 'aria-checked="true"' in html and ">Available<" in html
    assert db.session.get(User, rep.id).available is True
    # the same fragment on every dashboard page
    for url in ("/settings/availability", "/account", "/dashboard"):
        assert 'aria-checked="true"' in auth.client.get(url).get_data(as_text=True)
    # without JavaScript: a plain form post, then back to the page
    response = auth.post("/availability/toggle", {"available": "0"},
                         headers={"Referer": "http://converc.test/account"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/account")
    assert db.session.get(User, rep.id).available is False


@pytest.mark.parametrize(("setup", "label"), [
    ("nothing", "Available"),
    ("hours", "Available — outside your hours"),
    ("busy", "Available — busy in calendar until 14:00"),
    ("no dashboard", "Available — dashboard not connected"),
])
def test_toggle_words_follow_the_real_state(app, auth, rep, clock, setup, label):
    if setup != "no dashboard":
        online(rep)
    service.set_available(rep, True)
    if setup == "hours":
        custom_hours(rep, "America/New_York", nine_to_five())
    if setup == "busy":
        custom_hours(rep, "Europe/Berlin", nine_to_five())  # 13:00 Berlin: inside hours
        service.replace_busy_blocks(rep.id, "google", MONDAY_NOON, MONDAY_NOON + timedelta(days=1),
                                    [(MONDAY_NOON - timedelta(minutes=30), MONDAY_NOON + timedelta(hours=1))])
    auth.login(rep.email)
    html = auth.client.get("/availability/toggle", headers=HTMX).get_data(as_text=True)
    assert re.search(r'class="switch-label">\s*' + re.escape(label) + r"\s*<", html), html


def test_a_dashboard_page_counts_its_viewer_online(app, auth, rep, clock):
    """The page being loaded opens the rep's socket: its header does not say "not connected" for
    the moment before it does. Its later refreshes (htmx) ask the real presence."""
    service.set_available(rep, True)
    auth.login(rep.email)
    page = auth.client.get("/dashboard").get_data(as_text=True)
    assert re.search(r'class="switch-label">\s*Available\s*<', page)
    assert "Can take a call now" in page
    poll = auth.client.get("/availability/toggle", headers=HTMX).get_data(as_text=True)
    assert "Available — dashboard not connected" in poll
    assert "no dashboard is open" in auth.client.get("/availability/home", headers=HTMX).get_data(
        as_text=True)
    assert service.available_rep_ids(rep.organization_id) == []  # nobody rings without a socket
    online(rep)
    poll = auth.client.get("/availability/toggle", headers=HTMX).get_data(as_text=True)
    assert re.search(r'class="switch-label">\s*Available\s*<', poll)
    assert service.available_rep_ids(rep.organization_id) == [rep.id]


def test_toggle_without_htmx_get_goes_home(auth, rep):
    auth.login(rep.email)
    response = auth.client.get("/availability/toggle")
    assert response.status_code == 303


@pytest.mark.parametrize("url", ["/availability/toggle", "/availability/home"])
def test_polls_stop_when_the_session_ends(client, url):
    assert client.get(url, headers=HTMX).status_code == 286
    assert client.get(url).status_code == 302  # a person is sent to the login page


# --- HTTP: the schedule editor --------------------------------------------------------------

def week_form(timezone="Europe/Berlin", op="save", mode="custom", **days):
    data = {"timezone": timezone, "op": op, "mode": mode}
    for d, rows in days.items():
        data[f"start-{d[-1]}"] = [r.split("-")[0] for r in rows]
        data[f"end-{d[-1]}"] = [r.split("-")[1] for r in rows]
    return data


def test_rep_saves_weekly_hours(app, auth, rep):
    auth.login(rep.email)
    page = auth.client.get("/settings/availability")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Monday" in html and "Sunday" in html and "data-browser-timezone" in html
    response = auth.post(f"/settings/availability/reps/{rep.id}/schedule",
                         week_form(d0=["09:00-12:00", "13:00-17:00"], d4=["22:00-02:00"]), headers=HTMX)
    assert response.status_code == 200 and "Hours saved." in response.get_data(as_text=True)
    schedule = db.session.scalar(sa.select(RepSchedule))
    assert schedule.timezone == "Europe/Berlin" and not schedule.follows_default
    assert schedule.weekly[0] == [[540, 720], [780, 1020]] and schedule.weekly[4] == [[1320, 120]]
    assert "ends next day" in auth.client.get("/settings/availability").get_data(as_text=True)


@pytest.mark.parametrize(("data", "message"), [
    (week_form(d0=["09:00-12:00", "11:00-13:00"]), "Overlaps 09:00–12:00."),
    (week_form(d0=["22:00-02:00"], d1=["01:00-03:00"]), "Overlaps 22:00–02:00 on Monday."),
    (week_form(d2=["10:00-10:00"]), "The end must be after the start"),
    (week_form(d2=["10:00-"]), "Enter both times"),
    (week_form(timezone="Mars/Base"), "Choose a timezone from the list"),
])
def test_bad_hours_come_back_next_to_the_field(app, auth, rep, data, message):
    auth.login(rep.email)
    response = auth.post(f"/settings/availability/reps/{rep.id}/schedule", data, headers=HTMX)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'class="error"' in html
    assert 'value="Mars/Base"' not in html  # not a choice offered
    assert db.session.scalar(sa.select(RepSchedule)) is None


def test_add_remove_and_copy_rows_without_saving(app, auth, rep):
    auth.login(rep.email)
    url = f"/settings/availability/reps/{rep.id}/schedule"
    html = auth.post(url, week_form(op="add-0", d0=["09:00-12:00"]), headers=HTMX).get_data(as_text=True)
    assert html.count('name="start-0"') == 2 and 'value="12:00"' in html
    data = week_form(op="copy-0", d0=["09:00-12:00", "13:00-17:00"])
    data["copy-to-0"] = ["1", "2", "4"]
    html = auth.post(url, data, headers=HTMX).get_data(as_text=True)
    for d in (1, 2, 4):
        assert html.count(f'name="start-{d}"') == 2
    assert html.count('name="start-3"') == 0 and "Copied Monday to Tuesday, Wednesday, Friday" in html
    html = auth.post(url, week_form(op="remove-0-0", d0=["09:00-12:00", "13:00-17:00"]),
                     headers=HTMX).get_data(as_text=True)
    assert html.count('name="start-0"') == 1 and 'value="13:00"' in html
    assert db.session.scalar(sa.select(RepSchedule)) is None


def test_following_the_default_and_customizing(app, auth, admin, rep):
    service.save_default(admin.organization_id, "America/Chicago", nine_to_five())
    auth.login(rep.email)
    url = f"/settings/availability/reps/{rep.id}/schedule"
    html = auth.client.get("/settings/availability").get_data(as_text=True)
    assert "09:00–17:00" in html and 'name="start-0"' not in html  # read-only while following
    html = auth.post(url, {"timezone": "Asia/Tokyo", "mode": "custom", "op": "mode"},
                     headers=HTMX).get_data(as_text=True)
    assert 'name="start-0" value="09:00"' in html  # customizing starts from the default
    auth.post(url, {"timezone": "Asia/Tokyo", "mode": "default", "op": "save"}, headers=HTMX)
    schedule = db.session.scalar(sa.select(RepSchedule))
    assert (schedule.timezone, schedule.follows_default) == ("Asia/Tokyo", True)


@pytest.mark.parametrize(("who", "status"), [("rep", 403), ("admin", 200)])
def test_who_may_edit_another_reps_hours(app, auth, admin, rep, who, status):
    other = User(organization_id=admin.organization_id, email="ola@acme.example.com", name="Ola",
                 role="rep", password_hash="x")
    db.session.add(other)
    db.session.commit()
    auth.login(rep.email if who == "rep" else admin.email)
    assert auth.client.get(f"/settings/availability/reps/{other.id}").status_code == status
    response = auth.post(f"/settings/availability/reps/{other.id}/schedule", week_form(d0=["09:00-17:00"]))
    assert response.status_code == status
    assert (db.session.scalar(sa.select(RepSchedule)) is not None) == (status == 200)


def test_default_hours_are_for_admins(app, auth, admin, rep):
    auth.login(rep.email)
    assert auth.client.get("/settings/availability/default").status_code == 403
    auth.logout()
    auth.login(admin.email)
    assert auth.client.get("/settings/availability/default").status_code == 200
    url = "/settings/availability/default"
    bad = auth.post(url, week_form(d0=["09:00-08:00", "07:00-10:00"]), headers=HTMX)
    assert bad.status_code == 422 and "Overlaps" in bad.get_data(as_text=True)
    good = auth.post(url, week_form(timezone="America/Chicago", d0=["09:00-17:00"]), headers=HTMX)
    assert good.status_code == 200 and "Default hours saved" in good.get_data(as_text=True)
    default = db.session.scalar(sa.select(DefaultSchedule))
    assert (default.timezone, default.weekly[0]) == ("America/Chicago", [[540, 1020]])


# --- HTTP: date overrides ------------------------------------------------------------------

def test_date_overrides(app, auth, rep):
    auth.login(rep.email)
    url = f"/settings/availability/reps/{rep.id}/overrides"
    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    assert auth.post(url, {"day": day, "kind": "hours", "start": "10:00", "end": "12:00"},
                     headers=HTMX).status_code == 200
    assert auth.post(url, {"day": day, "kind": "hours", "start": "13:00", "end": "14:00"},
                     headers=HTMX).status_code == 200
    overlap = auth.post(url, {"day": day, "kind": "hours", "start": "11:00", "end": "13:30"}, headers=HTMX)
    assert overlap.status_code == 422 and "Overlaps 10:00–12:00 already set" in overlap.get_data(as_text=True)
    missing = auth.post(url, {"day": "", "kind": "off"}, headers=HTMX)
    assert missing.status_code == 422 and "Choose a date." in missing.get_data(as_text=True)
    override = db.session.scalar(sa.select(DateOverride))
    assert override.intervals == [[600, 720], [780, 840]]
    html = auth.client.get("/settings/availability").get_data(as_text=True)
    assert "10:00–12:00, 13:00–14:00" in html
    auth.post(url, {"day": day, "kind": "off"}, headers=HTMX)
    db.session.refresh(override)
    assert override.intervals == []
    response = auth.post(f"{url}/{override.id}/delete", headers=HTMX)
    assert response.status_code == 200 and "Date override removed." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(DateOverride)) is None


# --- HTTP: who can take a call now --------------------------------------------------------

def test_status_page_gives_each_reason_and_each_badge(app, auth, admin, rep, clock):
    online(rep)
    org = admin.organization_id
    service.set_available(rep, True)
    custom_hours(rep, "America/New_York", nine_to_five())
    paused, hidden, fallback = (create_site(org, d) for d in ("paused.example.com", "hidden.example.com",
                                                                "fallback.example.com"))
    settings_for(paused).paused = True
    settings_for(hidden).hide_when_unavailable = True
    settings_for(fallback).calendar_url = "https://cal.example.com/acme"
    db.session.commit()
    auth.login(admin.email)
    html = auth.client.get("/settings/availability/status").get_data(as_text=True)
    assert "Nobody can take a call now." in html and "Next available: 14:00 (UTC)." in html
    assert "The Available switch is off." in html  # the admin
    assert "Outside their hours; they start 09:00 (America/New_York)." in html
    assert "Hidden: incoming calls are paused for this site." in html
    assert "Hidden: nobody is available and “Hide when unavailable” is on." in html
    assert "Shows the calendar link instead of a call" in html
    service.save_override(rep, date(2026, 3, 2), [[0, 0]])  # the rep works all day today
    html = auth.client.get("/settings/availability/status", headers=HTMX).get_data(as_text=True)
    assert html.lstrip().startswith('<div id="availability-status"')
    assert "Yes: 1 of 2 can take a call now." in html and "Shows: visitors can start a call now." in html


def test_status_page_is_for_admins(auth, rep):
    auth.login(rep.email)
    assert auth.client.get("/settings/availability/status").status_code == 403
    assert auth.post("/settings/availability/pause", {"paused": "1"}).status_code == 403


def test_pause_and_resume_all_sites(app, auth, admin):
    sites = [create_site(admin.organization_id, d) for d in ("a.example.com", "b.example.com")]
    auth.login(admin.email)
    response = auth.post("/settings/availability/pause", {"paused": "1"}, headers=HTMX)
    assert "Resume incoming calls on all sites" in response.get_data(as_text=True)
    assert all(settings_for(db.session.merge(s)).paused for s in sites)
    response = auth.post("/settings/availability/pause", {"paused": "0"})  # without JavaScript
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/settings/availability/status")
    db.session.expire_all()
    assert not any(settings_for(db.session.merge(s)).paused for s in sites)


def test_home_panel(app, auth, admin, rep, clock):
    online(rep)
    service.set_available(rep, True)
    auth.login(admin.email)
    html = auth.client.get("/dashboard").get_data(as_text=True)
    assert 'id="availability-home"' in html and "1 of 2 can take a call now." in html
    assert "Rex Rep" in html
    auth.logout()
    auth.login(rep.email)
    html = auth.client.get("/availability/home", headers=HTMX).get_data(as_text=True)
    assert "Can take a call now." in html and "Ada Admin" not in html


def test_without_redis_the_answer_is_still_given(make_app, clock):
    from app.auth.service import sign_up
    from tests.conftest import PASSWORD, free_port

    app = make_app()
    with app.app_context():
        admin = sign_up("NoCache", "Nia", "nia@nocache.example.com", PASSWORD)
        service.set_available(admin, True)
        import redis

        app.extensions["redis"] = redis.Redis(port=free_port(), socket_connect_timeout=0.2)
        assert service.widget_availability(str(admin.organization_id)) == {
            "available": True, "nextAvailableAt": None}
        service.set_available(admin, False)  # the commit stands though the cache cannot be told
        assert db.session.get(User, admin.id).available is False
        assert service.anyone_available(admin.organization_id) is False
        app.extensions["redis"] = redis.Redis.from_url(app.config["REDIS_URL"])


def test_sync_for_a_removed_rep_does_nothing(app, rep):
    rep_id = rep.id
    db.session.delete(rep)
    db.session.commit()
    assert service.replace_busy_blocks(rep_id, "google", MONDAY_NOON, MONDAY_NOON + timedelta(days=1),
                                       [(MONDAY_NOON, MONDAY_NOON + timedelta(hours=1))]) == 0
