"""A call never outlives its widget, and every failure is said (issue #12, cases 1 and 2).

The visitor is a real Chromium with a fake camera and microphone on a customer page of another
origin; every stream getUserMedia hands out is kept, so the test can see each track's
readyState. The rep is online through a real presence entry (no dashboard needed to ring), and
the call's final status is read from the database the server wrote."""

import json
import re
import time

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Call
from tests.browser.conftest import call_through_the_widget, snippet
from tests.browser.test_widget import add_question, available
from tests.calls_support import make_site

EVENTS = ["ready", "opened", "closed", "qualified", "call.requested", "call.accepted", "call.canceled",
          "call.ended", "call.failed"]
RECORD = ("<script nonce=\"n0nce\">window.widgetEvents=[];" + json.dumps(EVENTS) + ".forEach(function(n){"
          "addEventListener('converc:'+n,function(e){widgetEvents.push([n,e.detail])})})</script>")
# keep every stream the page is given, to look at its tracks after the widget is gone
KEEP_STREAMS = """(() => {
  window.__streams = [];
  const md = navigator.mediaDevices, gum = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => gum(c).then((s) => { window.__streams.push(s); return s; });
})();"""
TRACKS = "window.__streams.flatMap(s => s.getTracks()).map(t => t.readyState)"


@pytest.fixture
def site(admin):
    site = make_site(admin.organization_id, "localhost", ring_timeout_seconds=60,
                     calendar_url="https://cal.example.com/acme")
    add_question(site, "Company size", options=[("1-10", False), ("11-50", False)])
    return site


@pytest.fixture
def visitor(browser):
    context = browser.new_context()
    context.add_init_script(KEEP_STREAMS)
    page = context.new_page()
    page.console = []
    page.on("console", lambda m: page.console.append(m.text))
    yield page
    context.close()


def page_url(customer, live_server, site, path="/pricing", **headers):
    html = snippet(live_server, site.public_key, body=RECORD, attrs='defer nonce="n0nce"')
    return customer.page(path, html,
                         **headers)


def wait_status(expected, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        db.session.expire_all()
        call = db.session.scalar(sa.select(Call))
        if call is not None and call.status in expected:
            return call
        assert time.monotonic() < deadline, f"call status {call and call.status}, expected {expected}"
        time.sleep(0.2)


def tracks_ended(visitor):
    states = visitor.evaluate(TRACKS)
    assert states and set(states) == {"ended"}, states


@pytest.fixture
def ringing(admin, rep, site, live_server, customer, visitor):
    """A visitor whose video call rings (the rep is online); the tracks are live."""
    available(rep)
    dialog = call_through_the_widget(visitor, page_url(customer, live_server, site))
    expect(dialog.get_by_text("Calling our team… someone will pick up in a moment.")).to_be_visible()
    wait_status({"requested"})
    assert set(visitor.evaluate(TRACKS)) == {"live"}
    return dialog


def test_closing_the_panel_while_it_rings_asks_and_ending_stops_camera_and_call(visitor, ringing):
    dialog = ringing
    dialog.get_by_role("button", name="Close").click()
    expect(dialog.get_by_role("heading", name="End the call?")).to_be_focused()
    dialog.get_by_role("button", name="Stay on the call").click()
    assert wait_status({"requested"}) and set(visitor.evaluate(TRACKS)) == {"live"}
    expect(dialog).to_be_visible()
    expect(dialog.locator(".cc-screen .cc-title")).to_be_focused()  # back in the call screen

    visitor.keyboard.press("Escape")  # Escape asks the same question
    dialog.get_by_role("button", name="End call").click()
    call = wait_status({"canceled"})
    assert call.end_reason == "canceled"
    tracks_ended(visitor)
    expect(dialog).to_be_hidden()
    names = [n for n, _ in visitor.evaluate("widgetEvents")]
    assert names[-2:] == ["call.ended", "closed"]


def test_an_answered_call_ends_when_the_page_calls_converc_close(visitor, ringing, rep):
    from app.calls import service  # here: importing it before the app is built is circular

    call = wait_status({"requested"})
    service.accept(call.id, rep)
    expect(ringing.get_by_role("button", name="Hang up")).to_be_visible(timeout=20000)
    visitor.evaluate("Converc.close()")
    call = wait_status({"ended"})
    assert call.end_reason == "visitor_hung_up"
    tracks_ended(visitor)
    expect(visitor.get_by_role("dialog")).to_be_hidden()


def test_an_spa_replacing_the_body_mid_ring_ends_the_call(visitor, ringing):
    visitor.evaluate("document.body = document.createElement('body')")
    call = wait_status({"canceled"})
    assert call.end_reason == "canceled"
    tracks_ended(visitor)


def test_the_widget_removed_by_the_page_ends_the_call(visitor, ringing):
    visitor.evaluate("document.querySelector('converc-widget').remove()")
    wait_status({"canceled"})
    tracks_ended(visitor)


def test_leaving_the_page_mid_ring_keeps_the_call_for_the_rejoin_grace_then_ends_it(visitor, ringing,
                                                                                      customer):
    """#12 meets #14: leaving the page is not a hang-up (it may be a reload). The socket's close
    schedules the abandon check after CALL_REJOIN_SECONDS; nothing is sent on pagehide, so nothing
    depends on a beacon arriving. The check, run as the worker runs it, cancels the call."""
    from rq.registry import ScheduledJobRegistry

    from app.calls import jobs, service
    from app.jobs import queue

    call = wait_status({"requested"})
    deadline = time.monotonic() + 30
    while not service.side_present(call.id, "visitor"):  # a socket still connecting has nothing to close
        assert time.monotonic() < deadline, "the visitor's call socket never joined"
        time.sleep(0.1)
    visitor.goto(customer.page("/elsewhere", "<p>another site's page</p>", host="127.0.0.1"))
    registry, deadline = ScheduledJobRegistry(queue=queue()), time.monotonic() + 30
    while True:  # the server saw the socket close and scheduled the check
        jobs_now = [queue().fetch_job(i) for i in registry.get_job_ids()]
        checks = [job for job in jobs_now if job and job.func_name == "app.calls.jobs.abandon_check"
                  and job.args == (str(call.id), "visitor")]
        if checks:
            break
        assert time.monotonic() < deadline, "no abandon check was scheduled"
        time.sleep(0.2)
    assert not service.side_present(call.id, "visitor")
    due = registry.get_scheduled_time(checks[0]).timestamp() - time.time()
    assert 0 < due <= 30  # CALL_REJOIN_SECONDS: the grace a reload gets
    assert wait_status({"requested"})  # held for the grace, not canceled on pagehide

    jobs.abandon_check(str(call.id), "visitor")
    call = wait_status({"canceled"})
    assert call.end_reason == "visitor_left"


def test_closing_before_the_camera_is_granted_leaves_nothing_live(admin, rep, site, live_server, customer,
                                                                  visitor):
    """The widget goes away while the browser still asks for the camera: the stream it then
    hands out is stopped at once, and no call is requested."""
    available(rep)
    visitor.add_init_script("""(() => { const md = navigator.mediaDevices, gum = md.getUserMedia.bind(md);
      md.getUserMedia = (c) => new Promise((r) => setTimeout(r, 1500)).then(() => gum(c)); })();""")
    dialog = call_through_the_widget(visitor, page_url(customer, live_server, site))
    expect(dialog.get_by_text("Allow your camera and microphone")).to_be_visible()
    visitor.evaluate("document.querySelector('converc-widget').remove()")
    visitor.wait_for_function("window.__streams.length === 1")
    visitor.wait_for_function(f"{TRACKS}.every(s => s === 'ended')")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Call)) == 0


# ---- every failure is said ------------------------------------------------------------------------

def assert_failure_said(visitor, dialog, text, reason):
    expect(dialog.get_by_role("alert")).to_contain_text(text, timeout=40000)
    failed = [d for n, d in visitor.evaluate("widgetEvents") if n == "call.failed"]
    assert failed and failed[-1]["reason"] == reason
    assert any(m.startswith("[Converc]") and reason in m for m in visitor.console), visitor.console
    call = wait_status({"canceled"})
    assert call.end_reason == reason
    tracks_ended(visitor)


def test_a_csp_without_the_websocket_origin_fails_the_call_aloud(admin, rep, site, live_server, customer,
                                                                 visitor):
    """connect-src allows the server's /widget/ endpoints but not its websocket: Chromium fires
    only `error`. The visitor is told, the page hears call.failed, the reps stop ringing."""
    available(rep)
    csp = (f"default-src 'none'; script-src {live_server} 'nonce-n0nce'; connect-src {live_server}/widget/; "
           "style-src 'none'; img-src 'none'")
    url = page_url(customer, live_server, site, **{"Content-Security-Policy": csp})
    dialog = call_through_the_widget(visitor, url)
    assert_failure_said(visitor, dialog, "This page does not allow the call to connect", "socket_blocked")


def test_a_proxy_closing_the_socket_with_1011_fails_the_call_after_retries(admin, rep, site, live_server,
                                                                          customer, visitor):
    available(rep)
    visitor.route_web_socket(re.compile(r"/realtime/call\b"), lambda ws: ws.close(code=1011, reason="proxy"))
    dialog = call_through_the_widget(visitor, page_url(customer, live_server, site))
    assert_failure_said(visitor, dialog, "We could not keep a connection to our team", "socket_closed")
    assert any("code 1011" in m for m in visitor.console)
