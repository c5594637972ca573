"""Live calls end to end in Chromium with fake camera and microphone: a visitor on a customer
page of another origin calls, the rep's dashboard rings, they talk (real WebRTC), and the
database holds the call and its events. Also: the visitor cancels; nobody answers."""

import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Call, CallEvent, Event
from tests.browser.conftest import ROOT
from tests.calls_support import make_site, qualification_token
from tests.conftest import PASSWORD, free_port

CUSTOMER_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title></head><body>
<h1>Our pricing</h1>
<button id="badge">Talk to us live</button>
<div id="widget"></div>
<script src="{server}/static/widget/call.js"></script>
<script>
window.widgetEvents = [];
document.getElementById("badge").addEventListener("click", function () {{
  var host = document.getElementById("widget");
  var root = host.shadowRoot || host.attachShadow({{ mode: "open" }});
  var mount = document.createElement("div");
  root.appendChild(mount);
  window.callHandle = ConvercCall.start({{
    mount: mount, shadowRoot: root, baseUrl: "{server}", publicKey: "{public_key}",
    fingerprint: "fp-browser", mediaType: "video", qualificationToken: "{token}",
    contact: {{ name: "Vera Visitor", email: "vera@example.org", phone: null }},
    attributes: {{ plan: "pro" }}, pageUrl: location.href, copy: {{}},
    calendarUrl: "https://cal.example.com/acme", nextAvailableAt: "2030-01-02T15:00:00Z", theme: {{}},
    emit: function (name, detail) {{ window.widgetEvents.push(name); }},
    onClose: function () {{ window.widgetClosed = true; }}
  }});
}});
</script>
</body></html>
"""


@pytest.fixture
def customer_site(admin, live_server):
    """The customer's page, served from another origin (another port), loading call.js from us."""
    site = make_site(admin.organization_id, "127.0.0.1", ring_timeout_seconds=30,
                     calendar_url="https://cal.example.com/acme")
    html = CUSTOMER_PAGE.format(server=live_server, public_key=site.public_key,
                                token=qualification_token(site)).encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield site, f"http://127.0.0.1:{server.server_port}/pricing"
    server.shutdown()


@pytest.fixture
def rep_page(page, rep):
    rep.available = True
    db.session.commit()
    page.goto("/login")
    page.get_by_label("Email").fill(rep.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#call-alerts")).to_have_attribute("data-state", "connected")
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
    visitor.goto(url)
    visitor.get_by_role("button", name="Talk to us live").click()
    expect(visitor.get_by_text("Connecting you with our team")).to_be_visible()
    expect(visitor.get_by_label("Waiting time")).to_have_text("0:01", timeout=5000)

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
    expect(visitor.get_by_role("button", name="Hang up")).to_be_visible()
    expect(rep_page.locator("#call-status")).to_contain_text("Connected")

    rep_page.get_by_role("button", name="Hang up").click()
    expect(visitor.get_by_text("Thanks for calling!")).to_be_visible()
    rep_page.wait_for_url(re.compile(r"/calls/[0-9a-f-]{36}$"), timeout=10000)
    call = the_call()
    assert call.status == "ended" and call.end_reason == "rep_hung_up"
    assert call.accepted_by.email == "rex@acme.example.com" and call.page_url == url
    assert event_types(call.id) == ["call.requested", "call.accepted", "call.ended"]
    assert visitor.evaluate("window.widgetEvents") == [
        "call.requested", "call.accepted", "call.connected", "call.ended"]


def test_visitor_cancels_while_it_rings(rep_page, visitor, customer_site):
    _, url = customer_site
    visitor.goto(url)
    visitor.get_by_role("button", name="Talk to us live").click()
    alert = rep_page.get_by_role("alertdialog", name="Incoming call")
    expect(alert).to_be_visible()
    visitor.get_by_role("button", name="Cancel").click()
    expect(alert).to_contain_text("The visitor left before anyone answered.")
    expect(alert).to_be_hidden(timeout=8000)
    call = the_call()
    assert call.status == "canceled"
    assert event_types(call.id) == ["call.requested", "call.canceled", "call.ended"]
    assert visitor.evaluate("window.widgetClosed") is True


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
    visitor.goto(url)
    visitor.get_by_role("button", name="Talk to us live").click()
    expect(rep_page.get_by_role("alertdialog", name="Incoming call")).to_be_visible()
    expect(visitor.get_by_text("Sorry, no one could answer")).to_be_visible(timeout=15000)
    expect(visitor.get_by_role("link", name="Book a time")).to_have_attribute(
        "href", "https://cal.example.com/acme")
    expect(visitor.get_by_text("Next available:")).to_be_visible()
    expect(rep_page.get_by_text("Missed: nobody answered in time.")).to_be_visible()
    call = the_call()
    assert call.status == "missed" and call.end_reason == "missed"
    assert event_types(call.id) == ["call.requested", "call.missed", "call.ended"]


def test_a_visitor_who_blocks_the_camera_is_told_what_to_do(visitor, customer_site):
    _, url = customer_site
    visitor.add_init_script("""
      navigator.mediaDevices.getUserMedia = function () {
        return Promise.reject(new DOMException("denied", "NotAllowedError"));
      };""")
    visitor.goto(url)
    visitor.get_by_role("button", name="Talk to us live").click()
    expect(visitor.get_by_role("alert")).to_contain_text("blocked the camera and microphone")
    expect(visitor.get_by_role("button", name="Call with audio only")).to_be_visible()
    assert the_call() is None
    json.dumps(visitor.evaluate("window.widgetEvents"))  # the page kept working


def test_first_accept_wins_and_the_other_rep_sees_who_took_it(rep_page, browser, live_server, admin,
                                                               visitor, customer_site):
    from tests.conftest import make_member

    ana = make_member(admin.organization_id, "ana@acme.example.com", "rep", "Ana")
    ana.available = True
    db.session.commit()
    context = browser.new_context(base_url=live_server)
    ana_page = context.new_page()
    ana_page.goto("/login")
    ana_page.get_by_label("Email").fill(ana.email)
    ana_page.get_by_label("Password").fill(PASSWORD)
    ana_page.get_by_role("button", name="Log in").click()
    expect(ana_page.locator("#call-alerts")).to_have_attribute("data-state", "connected")

    _, url = customer_site
    visitor.goto(url)
    visitor.get_by_role("button", name="Talk to us live").click()
    rex_alert = rep_page.get_by_role("alertdialog", name="Incoming call")
    ana_alert = ana_page.get_by_role("alertdialog", name="Incoming call")
    expect(rex_alert).to_be_visible()
    expect(ana_alert).to_be_visible()
    ana_alert.get_by_role("button", name="Accept").click()
    ana_page.wait_for_url("**/calls/*/live")
    expect(rex_alert).to_contain_text("Taken by Ana.")
    expect(rex_alert.get_by_role("button", name="Accept")).to_have_count(0)
    expect(visitor.get_by_role("button", name="Hang up")).to_be_visible()
    assert the_call().accepted_by_id == ana.id
    context.close()
