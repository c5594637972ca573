"""Live calls end to end in Chromium with fake camera and microphone, through the real widget: a
visitor on a customer page of another origin clicks the badge, answers the qualification flow
and the contact step, calls (call.js loads then); the rep's dashboard rings, they talk (real
WebRTC), and the database holds the call and its events. Also: the visitor cancels; nobody
answers; nobody is available any more when the visitor calls."""

import json
import os
import re
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Call, CallEvent, Event
from tests.browser.conftest import ROOT, snippet
from tests.browser.test_widget import add_question
from tests.calls_support import make_site
from tests.conftest import PASSWORD

EVENTS = ["ready", "opened", "closed", "qualified", "call.requested", "call.accepted", "call.connected",
          "call.canceled", "call.missed", "call.ended", "call.failed", "call.media_blocked"]
# the customer's page: the real snippet, and a listener that keeps the widget's events in order
RECORD_EVENTS = ("<script>window.widgetEvents=[];" + json.dumps(EVENTS) + ".forEach(function(n){"
                 "addEventListener('converc:'+n,function(){widgetEvents.push(n)})})</script>")


@pytest.fixture
def customer_site(admin, live_server, customer):
    """The customer's page on another origin (localhost, another port) with the real widget.js snippet;
    the site asks one qualification question and takes contact details."""
    site = make_site(admin.organization_id, "localhost", ring_timeout_seconds=30,
                     calendar_url="https://cal.example.com/acme")
    add_question(site, "Company size", options=[("1-10", False), ("11-50", False)])
    url = customer.page("/pricing", snippet(live_server, site.public_key, body=RECORD_EVENTS))
    return site, url


def call_through_the_widget(visitor, url, media="Video call"):
    """Badge → welcome → the question → contact step → Call now (call.js loads on this click)."""
    visitor.goto(url)
    visitor.get_by_role("button", name="Talk to us live").click()
    dialog = visitor.get_by_role("dialog")
    dialog.get_by_role("button", name="Start").click()
    dialog.get_by_label("11-50").check()
    dialog.get_by_role("button", name="Next").click()
    dialog.get_by_label("Name").fill("Vera Visitor")
    dialog.get_by_label("Email").fill("vera@example.org")
    dialog.get_by_role("button", name="Next").click()
    assert visitor.evaluate("typeof window.ConvercCall") == "undefined"  # not loaded before the call
    dialog.get_by_role("button", name=media).click()
    return dialog


@pytest.fixture
def rep_page(page, rep):
    """The rep toggled Available and keeps the dashboard open (its socket is their presence)."""
    rep.available = True
    db.session.commit()
    log_in(page, rep.email)
    return page


@pytest.fixture
def visitor(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


def event_types(call_id):
    db.session.expire_all()
    return list(db.session.scalars(
        sa.select(Event.type).join(CallEvent, CallEvent.event_id == Event.id)
        .where(CallEvent.call_id == call_id).order_by(Event.created_at, Event.type.desc())))


def the_call() -> Call:
    db.session.expire_all()
    return db.session.scalar(sa.select(Call))


def stats(page, expression):
    return page.evaluate(f"() => {expression}.stats()")


def wait_for_media(page, expression, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        result = stats(page, expression)
        if result and result["connectionState"] == "connected" and result["framesDecoded"] > 0:
            return result
        assert time.monotonic() < deadline, f"no decoded video: {result}"
        time.sleep(0.25)


def test_visitor_calls_rep_accepts_they_talk_and_the_rep_hangs_up(rep_page, visitor, customer_site):
    site, url = customer_site
    dialog = call_through_the_widget(visitor, url)
    expect(dialog.get_by_text("Calling our team… someone will pick up in a moment.")).to_be_visible()
    expect(dialog.get_by_label("Waiting time")).to_have_text("0:01", timeout=5000)

    alert = rep_page.get_by_role("alertdialog", name="Incoming call")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("Vera Visitor")
    expect(alert).to_contain_text("Company size")
    expect(alert).to_contain_text("11-50")
    expect(alert).to_contain_text("/pricing")
    alert.get_by_role("button", name="Accept").click()
    rep_page.wait_for_url("**/calls/*/live")
    expect(rep_page.get_by_text("vera@example.org")).to_be_visible()

    # both RTCPeerConnections connect and each side decodes the other's video
    wait_for_media(visitor, "ConvercCall.current")
    wait_for_media(rep_page, "ConvercCallScreen.session")
    expect(dialog.get_by_role("button", name="Hang up")).to_be_visible()
    expect(dialog.get_by_text("You're connected. Rex Rep ·")).to_be_visible()
    expect(rep_page.locator("#call-status")).to_contain_text("Connected")

    rep_page.get_by_role("button", name="Hang up").click()
    expect(dialog.get_by_text("Thanks for talking with us!")).to_be_visible()
    rep_page.wait_for_url(re.compile(r"/calls/[0-9a-f-]{36}$"), timeout=10000)
    call = the_call()
    assert call.status == "ended" and call.end_reason == "rep_hung_up"
    assert call.accepted_by.email == "rex@acme.example.com" and call.page_url == url
    assert call.contact.email == "vera@example.org" and call.contact.name == "Vera Visitor"
    assert [a["answer"]["value"] for a in call.answers] == ["11-50"]
    assert call.attributes["pageUrl"] == url
    assert event_types(call.id) == ["call.requested", "call.accepted", "call.ended"]
    assert visitor.evaluate("window.widgetEvents") == [
        "ready", "opened", "qualified", "call.requested", "call.accepted", "call.connected", "call.ended"]


def test_visitor_cancels_while_it_rings(rep_page, visitor, customer_site):
    _, url = customer_site
    dialog = call_through_the_widget(visitor, url)
    alert = rep_page.get_by_role("alertdialog", name="Incoming call")
    expect(alert).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(alert).to_contain_text("The visitor left before anyone answered.")
    expect(alert).to_be_hidden(timeout=8000)
    call = the_call()
    assert call.status == "canceled"
    assert event_types(call.id) == ["call.requested", "call.canceled", "call.ended"]
    # the widget closed and starts afresh: the badge is there for another try
    expect(dialog).to_be_hidden()
    assert visitor.evaluate("window.widgetEvents")[-4:] == ["call.requested", "call.canceled", "call.ended",
                                                            "closed"]


@pytest.fixture
def worker(settings, live_server):
    """The RQ worker with its scheduler, as `make run` starts it: it enforces the ring timeout."""
    env = {**os.environ, "DATABASE_URL": settings["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": settings["REDIS_URL"], "SECRET_KEY": settings["SECRET_KEY"]}
    proc = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield proc
    proc.terminate()
    proc.wait(10)


def test_nobody_answers_the_call_is_missed_and_the_calendar_offered(rep_page, visitor, customer_site, worker):
    site, url = customer_site
    site.widget_settings.ring_timeout_seconds = 2
    db.session.commit()
    dialog = call_through_the_widget(visitor, url)
    expect(rep_page.get_by_role("alertdialog", name="Incoming call")).to_be_visible()
    missed = dialog.get_by_text("Sorry, nobody could pick up. Book a time instead?")
    expect(missed).to_be_visible(timeout=15000)
    expect(dialog.get_by_role("link", name="Book a time")).to_have_attribute("href", "https://cal.example.com/acme")
    # the rep is still available (they just did not answer): no "back at" time to promise
    expect(dialog.locator(".cc-next")).to_have_count(0)
    expect(rep_page.get_by_text("Missed: nobody answered in time.")).to_be_visible()
    call = the_call()
    assert call.status == "missed" and call.end_reason == "missed"
    assert event_types(call.id) == ["call.requested", "call.missed", "call.ended"]
    assert visitor.evaluate("window.widgetEvents")[-3:] == ["call.requested", "call.missed", "call.ended"]


def test_nobody_available_any_more_when_the_visitor_calls(browser, live_server, visitor, customer_site, rep):
    """The badge showed, then the last rep closed their dashboard: the call is missed at once and
    the screen says when someone is next expected (the server's answer, not the page's old config)."""
    from datetime import UTC, datetime, timedelta

    from app.availability import service as availability

    site, url = customer_site
    rep.available = True
    db.session.commit()
    context = browser.new_context(base_url=live_server)
    dashboard = context.new_page()
    log_in(dashboard, rep.email)
    visitor.goto(url)
    expect(visitor.get_by_role("button", name="Talk to us live")).to_be_visible()
    # hours from tomorrow 09:00 UTC only; the rep leaves
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    availability.save_override(rep, datetime.now(UTC).date(), [])
    availability.save_override(rep, tomorrow, [[540, 1020]])
    context.close()
    deadline = time.monotonic() + 10
    while availability.available_rep_ids(rep.organization_id):
        assert time.monotonic() < deadline
        time.sleep(0.1)

    dialog = call_through_the_widget(visitor, url)
    expect(dialog.get_by_text("Nobody can take a call right now.")).to_be_visible()
    nine = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, tzinfo=UTC)
    expected = visitor.evaluate("d => ConvercFlow.backAt(d)", nine.isoformat())
    expect(dialog.locator(".cc-next")).to_have_text(expected)
    call = the_call()
    assert call.status == "missed" and call.end_reason == "no_one_available"


def test_a_visitor_who_blocks_the_camera_is_told_what_to_do(visitor, customer_site, rep):
    _, url = customer_site
    rep.available = True
    db.session.commit()
    from app.realtime import presence

    presence.touch(rep.id, rep.organization_id, "dashboard-tab")
    visitor.add_init_script("""
      navigator.mediaDevices.getUserMedia = function () {
        return Promise.reject(new DOMException("denied", "NotAllowedError"));
      };""")
    dialog = call_through_the_widget(visitor, url)
    expect(dialog.get_by_role("alert")).to_contain_text("blocked the camera and microphone")
    expect(dialog.get_by_role("button", name="Call with audio only")).to_be_visible()
    assert the_call() is None
    assert visitor.evaluate("window.widgetEvents")[-1] == "call.media_blocked"


def log_in(page, email):
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#call-alerts")).to_have_attribute("data-state", "connected")


def test_first_accept_wins_and_the_other_rep_sees_who_took_it(rep_page, browser, live_server, admin,
                                                               visitor, customer_site):
    from tests.conftest import make_member

    ana = make_member(admin.organization_id, "ana@acme.example.com", "rep", "Ana")
    ana.available = True
    db.session.commit()
    context = browser.new_context(base_url=live_server)
    ana_page = context.new_page()
    log_in(ana_page, ana.email)

    _, url = customer_site
    dialog = call_through_the_widget(visitor, url)
    rex_alert = rep_page.get_by_role("alertdialog", name="Incoming call")
    ana_alert = ana_page.get_by_role("alertdialog", name="Incoming call")
    expect(rex_alert).to_be_visible()
    expect(ana_alert).to_be_visible()
    ana_alert.get_by_role("button", name="Accept").click()
    ana_page.wait_for_url("**/calls/*/live")
    expect(rex_alert).to_contain_text("Taken by Ana.")
    expect(rex_alert.get_by_role("button", name="Accept")).to_have_count(0)
    expect(dialog.get_by_role("button", name="Hang up")).to_be_visible()
    assert the_call().accepted_by_id == ana.id
    context.close()
