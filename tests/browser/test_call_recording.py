"""A recorded live call end to end in Chromium with fake camera and microphone: the visitor is
told, both screens show "Recording" while the rep's browser records and uploads, the call ends,
and `call.recording_ready` carries the full call envelope with URLs that serve the media. With
consent required and not given, nothing is recorded or uploaded.

The visitor's side is a stand-in customer page (another origin) that starts `ConvercCall` as the
widget's flow does, with the site's recording policy and the visitor's consent."""

import json
import re
import time

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app import i18n
from app.extensions import db
from app.models import Call, CallEvent, Event, Recording
from tests.browser.conftest import fetch, start_server
from tests.calls_support import ANSWERS, make_site, qualification_token
from tests.recording_helpers import run_jobs

CUSTOMER_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title></head><body>
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
    fingerprint: "fp-recorded", mediaType: "video", qualificationToken: "{token}",
    contact: {{ name: "Vera Visitor", email: "vera@example.org", phone: null }},
    attributes: {{}}, pageUrl: location.href, copy: {copy}, calendarUrl: null, nextAvailableAt: null,
    theme: {{}}, recordingPolicy: "{policy}", recordingConsent: {consent},
    emit: function (name, detail) {{ window.widgetEvents.push(name); }},
    onClose: function () {{}}
  }});
}});
</script>
</body></html>
"""


@pytest.fixture
def recordings_dir(tmp_path):
    return tmp_path / "recordings"


@pytest.fixture
def live_server(settings, recordings_dir):
    proc, url = start_server(settings, extra_env={"RECORDINGS_DIR": str(recordings_dir)})
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def app(make_app, live_server, recordings_dir):
    # the test's own app runs the jobs: the server's database, Redis and recordings directory
    app = make_app(RECORDINGS_DIR=str(recordings_dir), BASE_URL=live_server)
    with app.app_context():
        yield app


# the contact the page sends: the token carries the same (the server refuses any other)
PAGE_CONTACT = {"name": "Vera Visitor", "email": "vera@example.org", "phone": None}


@pytest.fixture
def shop(admin, live_server, customer):
    """open(policy, consent): the site records with `policy`; the visitor's page, with their consent."""

    def open_shop(policy, consent=False):
        site = make_site(admin.organization_id, "127.0.0.1", ring_timeout_seconds=30, recording_policy=policy)
        html = CUSTOMER_PAGE.format(server=live_server, public_key=site.public_key,
                                    token=qualification_token(site, contact=PAGE_CONTACT), policy=policy,
                                    consent="true" if consent else "false",
                                    copy=json.dumps(i18n.catalogue("en")))
        return customer.page("/pricing", html, host="127.0.0.1")

    return open_shop


def wait_for_media(page, expression, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        result = page.evaluate(f"() => {expression}.stats()")
        if result and result["connectionState"] == "connected" and result["framesDecoded"] > 0:
            return result
        assert time.monotonic() < deadline, f"no decoded video: {result}"
        time.sleep(0.25)


def the_call() -> Call:
    db.session.expire_all()
    return db.session.scalar(sa.select(Call))


def call_events(call_id) -> dict:
    db.session.expire_all()
    events = db.session.scalars(
        sa.select(Event).join(CallEvent, CallEvent.event_id == Event.id)
        .where(CallEvent.call_id == call_id).order_by(Event.created_at, Event.type.desc()))
    return {event.type: event.envelope() for event in events}


def talk(rep_page, visitor, url, seconds):
    """The visitor calls, the rep accepts, they talk for `seconds`, the rep hangs up."""
    visitor.goto(url)
    visitor.get_by_role("button", name="Talk to us live").click()
    alert = rep_page.get_by_role("alertdialog", name="Incoming call")
    expect(alert).to_be_visible()
    alert.get_by_role("button", name="Accept").click()
    rep_page.wait_for_url("**/calls/*/live")
    wait_for_media(visitor, "window.callHandle")
    wait_for_media(rep_page, "ConvercCallScreen.session")
    time.sleep(seconds)
    rep_page.get_by_role("button", name="Hang up").click()
    expect(visitor.get_by_text("Thanks for talking with us!")).to_be_visible()
    # the rep's page moves on once the last chunks are up
    rep_page.wait_for_url(re.compile(r"/calls/[0-9a-f-]{36}$"), timeout=30000)


def test_a_recorded_call_produces_recording_ready_with_the_full_envelope(rep_page, visitor, shop, rep):
    url = shop("notice")
    visitor.goto(url)
    visitor.get_by_role("button", name="Talk to us live").click()
    expect(visitor.get_by_text("This call will be recorded.")).to_be_visible()  # told before anyone answers
    alert = rep_page.get_by_role("alertdialog", name="Incoming call")
    alert.get_by_role("button", name="Accept").click()
    rep_page.wait_for_url("**/calls/*/live")
    wait_for_media(visitor, "window.callHandle")
    wait_for_media(rep_page, "ConvercCallScreen.session")

    # both screens say so while the rep's browser records
    expect(rep_page.locator("#recording-indicator")).to_be_visible()
    expect(rep_page.locator("#recording-indicator")).to_have_attribute("data-state", "recording")
    expect(visitor.get_by_text("Recording", exact=True)).to_be_visible()
    time.sleep(4)
    rep_page.get_by_role("button", name="Hang up").click()
    expect(visitor.get_by_text("Thanks for talking with us!")).to_be_visible()
    rep_page.wait_for_url(re.compile(r"/calls/[0-9a-f-]{36}$"), timeout=30000)

    call = the_call()
    db.session.expire_all()
    recording = db.session.scalar(sa.select(Recording).where(Recording.call_id == call.id))
    assert recording.status == "assembling"  # the rep's browser said "complete" after its last chunk
    run_jobs()
    db.session.refresh(recording)
    assert recording.status == "ready", recording.error
    assert {t.kind for t in recording.tracks} == {"visitor", "rep", "video"}

    events = call_events(call.id)
    assert list(events)[:4] == ["call.requested", "call.accepted", "call.ended", "call.recording_ready"]
    data = events["call.recording_ready"]["data"]
    assert data["call"] == events["call.ended"]["data"]["call"]
    assert data["call"]["status"] == "ended" and data["call"]["acceptedBy"] == str(rep.id)
    assert data["contact"]["name"] == "Vera Visitor" and data["contact"]["email"] == "vera@example.org"
    assert data["qualificationAnswers"] == ANSWERS
    assert data["transcript"] is None
    urls = data["recording"]
    assert urls["available"] is True and urls["policy"] == "notice" and urls["expiresInSeconds"] > 0
    for name in ("call.requested", "call.accepted", "call.ended"):
        assert events[name]["data"]["recording"]["available"] is False
        assert events[name]["data"]["recording"]["videoUrl"] is None

    status, headers, video = fetch(urls["videoUrl"])
    assert status == 200 and headers["Content-Type"] == "video/webm" and len(video) > 10000
    status, headers, _ = fetch(urls["audioUrl"])
    assert status == 200 and headers["Content-Type"] == "audio/webm"
    status, headers, part = fetch(urls["videoUrl"], {"Range": "bytes=0-1023"})
    assert status == 206 and headers["Content-Range"] == f"bytes 0-1023/{len(video)}" and part == video[:1024]
    tampered = re.sub(r"signature=([^&]+)", lambda m: "signature=" + m.group(1)[::-1], urls["videoUrl"])
    assert fetch(tampered)[0] == 403
    expired = re.sub(r"expires=\d+", "expires=1000000000", urls["audioUrl"])
    assert fetch(expired)[0] == 403

    # the call page plays it
    rep_page.goto(f"/calls/{call.id}")
    expect(rep_page.locator(".recording-panel video")).to_be_visible()


def test_consent_required_and_not_given_records_and_uploads_nothing(rep_page, visitor, shop, recordings_dir):
    url = shop("consent", consent=False)
    uploads = []
    rep_page.on("request", lambda r: uploads.append(r.url) if "/recordings/" in r.url else None)

    talk(rep_page, visitor, url, seconds=3)

    call = the_call()
    assert (call.status, call.recording_policy, call.recording_consent) == ("ended", "consent", False)
    assert uploads == []
    assert db.session.scalar(sa.select(sa.func.count(Recording.id))) == 0
    assert not recordings_dir.exists() or not any(p.is_file() for p in recordings_dir.rglob("*"))
    events = call_events(call.id)
    assert list(events) == ["call.requested", "call.accepted", "call.ended"]
    assert events["call.ended"]["data"]["recording"] == {
        "available": False, "videoUrl": None, "audioUrl": None, "expiresInSeconds": None,
        "policy": "consent", "consentGiven": False}
    assert "call.recording" not in visitor.evaluate("window.widgetEvents")


def test_the_widget_asks_for_consent_before_call_now_and_the_call_stores_the_answer(rep_page, visitor,
                                                                                     live_server, admin):
    from tests.browser.conftest import CustomerSite, snippet

    site = make_site(admin.organization_id, "localhost", recording_policy="consent")
    customer, page = CustomerSite(), visitor  # a rep is online: the widget offers the call
    try:
        page.goto(customer.page("/", snippet(live_server, site.public_key)))
        page.get_by_role("button", name="Talk to us live").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_role("button", name="Start").click()
        dialog.get_by_label("Email").fill("visitor@example.com")
        dialog.get_by_role("button", name="Next").click()
        consent = dialog.get_by_label("I agree to this call being recorded.")
        expect(consent).not_to_be_checked()  # nobody agrees by default
        consent.check()
        with page.expect_request("**/widget/calls") as request:
            dialog.get_by_role("button", name="Video call").click()
        assert request.value.post_data_json["recordingConsent"] is True
        expect(dialog.get_by_text("This call will be recorded.")).to_be_visible()
        call = the_call()
        assert (call.recording_policy, call.recording_consent) == ("consent", True)
    finally:
        customer.server.shutdown()
