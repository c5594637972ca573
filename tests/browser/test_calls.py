"""Live calls end to end in Chromium with fake camera and microphone, through the real widget: a
visitor on a customer page of another origin clicks the badge, answers the qualification flow
and the contact step, calls (call.js loads then); the rep's dashboard rings, they talk (real
WebRTC), and the database holds the call and its events. Also: the visitor cancels; nobody
answers; nobody is available any more when the visitor calls."""

import json
import re
import time

import pytest
import requests
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Call, CallEvent, Contact, Event
from tests.browser.conftest import call_through_the_widget, log_in, snippet
from tests.browser.test_widget import add_question
from tests.calls_support import call_body, make_site

EVENTS = ["ready", "opened", "closed", "qualified", "call.requested", "call.rejoined", "call.accepted",
          "call.connected", "call.canceled", "call.missed", "call.ended", "call.failed", "call.media_blocked"]
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


def test_a_returning_visitor_s_name_fills_in_the_ringing_alert(rep_page, live_server, admin):
    """The ring goes out before the visitor's stored contact is read: it shows what they told now
    (nothing, here), and their name from an earlier visit follows in the same alert."""
    site = make_site(admin.organization_id, "shop.example.com")
    db.session.add(Contact(organization_id=admin.organization_id, fingerprint="fp-back", name="Vera Visitor",
                           email="vera@example.org"))
    db.session.commit()
    expect(rep_page.locator("#call-alerts")).to_have_attribute("data-presence", "online")

    response = requests.post(live_server + "/widget/calls", timeout=10,
                             json=call_body(site, fingerprint="fp-back", contact={}))

    assert response.status_code == 201, response.text
    alert = rep_page.get_by_role("alertdialog", name="Incoming call")
    expect(alert.locator(".visitor-name")).to_have_text("Vera Visitor")
    expect(alert).to_contain_text("/pricing")  # the page the visitor called from stays shown


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


def test_nobody_answers_the_call_is_missed_and_the_calendar_offered(rep_page, visitor, customer_site, worker):
    site, url = customer_site
    site.widget_settings.ring_timeout_seconds = 2
    db.session.commit()
    # the rep's card shows the outcome for 4 s only: record it when it appears, so a slow machine
    # still busy with the visitor's screen does not miss it. The server's "Missed: nobody answered
    # in time." or, when the server's word comes late, the card's own "Nobody answered in time."
    rep_page.evaluate("""() => new MutationObserver(() => {
        if (/nobody answered in time/i.test(document.body.textContent)) window.sawMissed = true;
    }).observe(document.body, {subtree: true, childList: true, characterData: true})""")
    dialog = call_through_the_widget(visitor, url)
    expect(rep_page.get_by_role("alertdialog", name="Incoming call")).to_be_visible()
    missed = dialog.get_by_text("Sorry, nobody could pick up. Book a time instead?")
    expect(missed).to_be_visible(timeout=15000)
    expect(dialog.get_by_role("link", name="Book a time")).to_have_attribute("href", "https://cal.example.com/acme")
    # the rep is still available (they just did not answer): no "back at" time to promise
    expect(dialog.locator(".cc-next")).to_have_count(0)
    rep_page.wait_for_function("() => window.sawMissed === true")
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

    # the widget re-checks availability on open and before "Call" (test_widget_runtime.py); here the
    # rep leaves after those checks, just before the call request: they still answer "available"
    visitor.route("**/widget/availability*", lambda route: route.fulfill(
        status=200, headers={"Access-Control-Allow-Origin": "*"},
        json={"available": True, "nextAvailableAt": None, "pollSeconds": 10}))
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


# records every line the rep's call screen shows, to prove it never said the call had ended
WATCH_REP_STATUS = """() => { window.repSaid = [];
  new MutationObserver(() => repSaid.push(document.querySelector('#call-status').textContent))
    .observe(document.querySelector('#call-status'),
             {childList: true, subtree: true, characterData: true}); }"""


def rejoined_with_media(visitor, rep_page):
    """The visitor's new page is back in the call (no new request) and media flows both ways again,
    on a new peer connection on the rep's side."""
    dialog = visitor.get_by_role("dialog")
    expect(dialog.get_by_role("button", name="Hang up")).to_be_visible(timeout=30000)
    rep_page.wait_for_function("() => ConvercCallScreen.session.pc !== window.firstPc", timeout=30000)
    wait_for_media(visitor, "ConvercCall.current")
    wait_for_media(rep_page, "ConvercCallScreen.session")
    rep_page.evaluate("window.firstPc = ConvercCallScreen.session.pc")
    return dialog


def test_a_visitor_who_reloads_or_changes_page_mid_call_rejoins_and_the_rep_never_sees_an_end(
        rep_page, visitor, customer_site, customer, live_server):
    """#14: a reload, then another page of the same site, each mid-call: the widget comes back to the
    same call from sessionStorage, media flows again, the rep's screen never says it ended; the
    visitor's hang-up then ends it at once."""
    site, url = customer_site
    dialog = call_through_the_widget(visitor, url)
    alert = rep_page.get_by_role("alertdialog", name="Incoming call")
    alert.get_by_role("button", name="Accept").click()
    rep_page.wait_for_url("**/calls/*/live")
    wait_for_media(visitor, "ConvercCall.current")
    wait_for_media(rep_page, "ConvercCallScreen.session")
    rep_page.evaluate(WATCH_REP_STATUS)
    rep_page.evaluate("window.firstPc = ConvercCallScreen.session.pc")
    call_id = the_call().id
    stored = visitor.evaluate(f"sessionStorage.getItem('converc_call:{site.public_key}')")
    assert json.loads(stored)["callId"] == str(call_id)

    visitor.reload()
    rejoined_with_media(visitor, rep_page)
    assert visitor.evaluate("window.widgetEvents") == ["ready", "opened", "call.rejoined", "call.connected"]

    other = customer.page("/docs", snippet(live_server, site.public_key, body=RECORD_EVENTS))
    visitor.goto(other)
    dialog = rejoined_with_media(visitor, rep_page)

    # the rep was told the visitor dropped, never that the call ended; nothing but the one call
    said = " | ".join(rep_page.evaluate("window.repSaid"))
    assert "waiting for them" in said and "ended" not in said and "hung up" not in said, said
    assert rep_page.url.endswith("/live")
    call = the_call()
    assert call.id == call_id and call.status == "accepted"
    assert event_types(call.id) == ["call.requested", "call.accepted"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Call)) == 1

    dialog.get_by_role("button", name="Hang up").click()  # an explicit hang-up ends it at once
    expect(rep_page.locator("#call-status")).to_contain_text("The visitor hung up.")
    call = the_call()
    assert call.status == "ended" and call.end_reason == "visitor_hung_up"
    assert visitor.evaluate(f"sessionStorage.getItem('converc_call:{site.public_key}')") is None
