"""The Available switch, the schedule editor and "Who can take a call now?" in a real Chromium
against gunicorn; and the switch showing and hiding the real widget's badge on a customer page."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.availability import service
from app.availability.describe import when
from app.extensions import db
from app.models import RepSchedule, User
from app.models.widget import settings_for
from app.sites.service import create_site
from tests.browser.conftest import log_in, snippet

READY = "<script>addEventListener('converc:ready',function(e){window.__ready=e.detail})</script>"


@pytest.fixture
def tokyo_page(browser, live_server):
    context = browser.new_context(base_url=live_server, timezone_id="Asia/Tokyo")
    yield context.new_page()
    context.close()


def test_toggle_on_every_page_and_the_reason_on_the_status_page(tokyo_page, browser, live_server, admin, rep):
    page = tokyo_page
    log_in(page, rep.email)
    switch = page.get_by_role("switch")
    expect(switch).to_have_text("Not available")
    expect(page.locator("#availability-home")).to_contain_text("The Available switch is off")

    switch.click()
    expect(switch).to_have_text("Available")
    expect(switch).to_have_attribute("aria-checked", "true")
    # the home panel heard the change and refreshed itself
    expect(page.locator("#availability-home")).to_contain_text("Can take a call now")
    assert db.session.scalar(sa.select(User.available).where(User.id == rep.id)) is True

    for url in ("/settings/availability", "/account", "/dashboard"):
        page.goto(url)
        expect(page.get_by_role("switch")).to_have_text("Available")

    # a Busy calendar event now: the switch says so, with the local end time
    now = datetime.now(UTC)
    end = (now + timedelta(hours=2)).replace(second=0, microsecond=0)
    service.replace_busy_blocks(rep.id, "google:primary", now - timedelta(hours=1), now + timedelta(days=1),
                                [(now - timedelta(minutes=5), end)])
    until = when(end, "UTC", now)  # "15:00", or "tomorrow 00:30" late in the day
    page.reload()
    expect(page.get_by_role("switch")).to_have_text(f"Available — busy in calendar until {until}")

    admin_context = browser.new_context(base_url=live_server)
    admin_page = admin_context.new_page()
    log_in(admin_page, admin.email)
    admin_page.goto("/settings/availability/status")
    row = admin_page.locator("tr.rep-row", has_text="Rex Rep")
    expect(row).to_contain_text("Not available")
    expect(row).to_contain_text(f"A Busy calendar event until {until} (UTC).")
    expect(admin_page.locator(".verdict")).to_contain_text("Nobody can take a call now.")

    # the busy time is synced away: the status page follows after the rep's change
    window = (now - timedelta(hours=1), now + timedelta(days=1))
    service.replace_busy_blocks(rep.id, "google:primary", *window, [])
    admin_page.reload()
    expect(admin_page.locator("tr.rep-row", has_text="Rex Rep")).to_contain_text("Can take a call now")

    page.get_by_role("switch").click()
    expect(page.get_by_role("switch")).to_have_text("Not available")
    admin_page.reload()
    expect(admin_page.locator("tr.rep-row", has_text="Rex Rep")).to_contain_text(
        "The Available switch is off.")
    admin_context.close()


def test_a_refresh_in_flight_does_not_outlive_the_switch(tokyo_page, live_server, rep):
    """The home panel refreshes itself when the socket connects and when the switch flips; an
    older refresh still in flight at the click must not have the last word (htmx drops a
    second request while one is in flight unless told to replace it)."""
    page = tokyo_page
    log_in(page, rep.email)
    expect(page.locator("#availability-home")).to_contain_text("The Available switch is off")
    held = []

    def hold_first(route):
        if held:
            route.continue_()
        else:  # answered now (switch off), delivered after the click
            held.append((route, route.fetch()))

    page.route("**/availability/home", hold_first)
    page.evaluate("document.body.dispatchEvent(new CustomEvent('presence-changed'))")
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert held, "the panel did not refresh on presence-changed"

    page.get_by_role("switch").click()
    expect(page.get_by_role("switch")).to_have_text("Available")
    route, stale = held[0]
    try:
        route.fulfill(response=stale)
    except Exception:  # noqa: BLE001 - the browser already aborted it: that is the fix
        pass
    expect(page.locator("#availability-home")).to_contain_text("Can take a call now")
    page.wait_for_timeout(300)  # a late stale answer would land now
    expect(page.locator("#availability-home")).to_contain_text("Can take a call now")


def test_a_change_heard_right_after_a_refresh_lands_is_not_lost(tokyo_page, live_server, rep):
    """A refresh's answer replaces the panel; the new panel must listen at once. (htmx wires up
    swapped-in content only after its settle delay: a switch flip heard in those 20 ms was lost,
    and the panel kept saying "switch off" until its 30 s poll. CI hit it on a slow machine.)"""
    page = tokyo_page
    log_in(page, rep.email)
    expect(page.locator("#availability-home")).to_contain_text("The Available switch is off")
    held, armed = [], []
    page.route("**/availability/home",
               lambda route: held.append(route) if armed and not held else route.continue_())
    # the socket's hello refreshes the panel too: after it, only our refresh is held
    expect(page.locator("#call-alerts")).to_have_attribute("data-presence", "online")
    armed.append(True)
    page.evaluate("document.body.dispatchEvent(new CustomEvent('presence-changed'))")
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert held, "the panel did not refresh on presence-changed"
    stale = held[0].fetch()  # the switch is still off: this answer says so

    service.set_available(db.session.get(User, rep.id), True)
    # the change is heard in the task right after the stale answer's swap (a socket message can be)
    page.evaluate("""document.body.addEventListener("htmx:afterSwap", function () {
        setTimeout(function () { document.body.dispatchEvent(new CustomEvent("availability-changed")); });
    }, { once: true })""")
    held[0].fulfill(response=stale)
    expect(page.locator("#availability-home")).to_contain_text("Can take a call now")


def test_editing_weekly_hours(tokyo_page, live_server, rep):
    page = tokyo_page
    log_in(page, rep.email)
    page.goto("/settings/availability")
    # no timezone saved yet: the browser's is proposed
    expect(page.get_by_label("Timezone")).to_have_value("Asia/Tokyo")
    page.get_by_label("Set my own hours").check()
    monday = page.locator("#day-0")
    expect(monday).to_contain_text("Unavailable")
    monday.get_by_role("button", name="Add interval on Monday").click()
    expect(monday.get_by_label("Monday interval 1 from")).to_have_value("09:00")
    monday.get_by_role("button", name="Add interval on Monday").click()
    second_start = monday.get_by_label("Monday interval 2 from")
    expect(second_start).to_have_value("17:00")
    second_start.fill("16:00")
    monday.get_by_label("Monday interval 2 to").fill("19:00")
    page.get_by_role("button", name="Save hours").click()
    expect(monday.locator(".error")).to_have_text("Overlaps 09:00–17:00.")
    assert db.session.scalar(sa.select(RepSchedule)) is None

    monday.get_by_label("Monday interval 2 from").fill("17:30")
    monday.get_by_text("Copy to…").click()
    for day in ("Tuesday", "Wednesday", "Thursday", "Friday"):
        monday.get_by_label(day).check()
    monday.get_by_role("button", name="Copy Monday").click()
    expect(page.locator("#day-3").get_by_label("Thursday interval 2 from")).to_have_value("17:30")
    page.get_by_role("button", name="Save hours").click()
    expect(page.get_by_role("status").filter(has_text="Hours saved.")).to_be_visible()
    schedule = db.session.scalar(sa.select(RepSchedule))
    assert schedule.timezone == "Asia/Tokyo" and not schedule.follows_default
    assert schedule.weekly[:5] == [[[540, 1020], [1050, 1140]]] * 5 and schedule.weekly[5:] == [[], []]

    # a date override swaps only its own card: an unsaved weekly edit stays where it was typed
    page.locator("#day-0").get_by_label("Monday interval 1 from").fill("08:00")
    overrides = page.locator("#overrides")
    day = (datetime.now(UTC) + timedelta(days=10)).date()
    overrides.get_by_label("Date").fill(day.isoformat())
    overrides.get_by_label("Special hours").check()
    overrides.get_by_label("From").fill("10:00")
    overrides.get_by_label("To").fill("09:00")
    overrides.get_by_role("button", name="Add override").click()
    expect(page.locator("#overrides")).to_contain_text("Date override saved.")
    expect(page.locator("#overrides tbody")).to_contain_text("10:00–09:00")  # overnight, into the next day
    expect(page.locator("#day-0").get_by_label("Monday interval 1 from")).to_have_value("08:00")
    page.locator("#overrides").get_by_role("button", name=f"Remove override of {day.isoformat()}").click()
    expect(page.locator("#overrides")).to_contain_text("No date overrides.")


def test_the_switch_shows_and_hides_the_badge_on_the_customer_page(browser, page, live_server, customer,
                                                                   admin, rep):
    site = create_site(admin.organization_id, "localhost")
    settings_for(site).hide_when_unavailable = True
    db.session.commit()
    url = customer.page("/", snippet(live_server, site.public_key, body=READY))

    def next_load():
        """A visitor loads the page (a fresh browser: nothing cached from a previous load)."""
        context = browser.new_context()
        visitor = context.new_page()
        visitor.goto(url)
        visitor.wait_for_function("window.__ready")
        ready = visitor.evaluate("window.__ready")
        badge = visitor.get_by_role("button", name="Talk to us live")
        if ready["visible"]:
            expect(badge).to_be_visible()
        else:
            assert visitor.locator("converc-widget").count() == 0
        context.close()
        return ready

    hidden = {"visible": False, "outcome": "hidden", "reason": "unavailable", "mode": "floating",
              "publicKey": site.public_key}
    assert next_load() == hidden
    log_in(page, rep.email)  # the dashboard is open: its socket is the rep's presence
    expect(page.locator("#call-alerts")).to_have_attribute("data-state", "connected")
    assert next_load() == hidden  # not toggled yet

    switch = page.get_by_role("switch")
    switch.click()
    expect(switch).to_have_text("Available")
    assert next_load() == {"visible": True, "outcome": "shown", "available": True, "mode": "floating",
                           "publicKey": site.public_key}

    switch.click()
    expect(switch).to_have_text("Not available")
    assert next_load() == hidden

    # Available, but the rep closes the dashboard: nobody could answer, so the badge hides too
    switch.click()
    expect(switch).to_have_text("Available")
    assert next_load()["visible"] is True
    page.goto("about:blank")
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while service.available_rep_ids(rep.organization_id):
        assert datetime.now(UTC) < deadline, "the closed dashboard still counts as present"
        time.sleep(0.1)
    assert next_load() == hidden
