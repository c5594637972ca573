"""recorder.js in a real Chromium with fake camera and microphone, against the real server."""

import json
import re
import time
import uuid

import av
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Event, Recording
from app.recordings.tokens import media_url, upload_token
from tests.browser.conftest import fetch, start_server
from tests.conftest import free_port
from tests.recording_helpers import new_recording, run_jobs

RECORD_A_CALL = """async ({callId, token, seconds}) => {
  const local = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
  const remote = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
  const states = [];
  const recorder = await ConvercRecorder.start({baseUrl: "", callId, uploadToken: token,
    localStream: local, remoteStream: remote, onState: (state) => states.push(state)});
  if (recorder.state === "recording") {
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    await recorder.stop();
  }
  return {states, state: recorder.state, error: recorder.error, exported: ConvercRecorder.state};
}"""


@pytest.fixture
def server(settings, tmp_path):
    port = free_port()
    proc, url = start_server(settings, port=port, extra_env={"RECORDINGS_DIR": str(tmp_path / "rec")})
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def app(make_app, server, tmp_path):
    # the test's own app runs the jobs: same database, Redis and files as the server
    app = make_app(RECORDINGS_DIR=str(tmp_path / "rec"), BASE_URL=server)
    with app.app_context():
        yield app


@pytest.fixture
def rep_page(browser, server):
    context = browser.new_context(base_url=server)
    page = context.new_page()
    page.goto("/login")
    page.add_script_tag(url="/static/js/recorder.js")
    yield page
    context.close()


def test_a_recorded_call_produces_recording_ready_with_working_urls(app, admin, rep_page, tmp_path):
    recording = new_recording(admin.organization_id, "notice")
    token = upload_token(recording.call_id, admin.organization_id)

    call = {"callId": str(recording.call_id), "token": token, "seconds": 4}
    result = rep_page.evaluate(RECORD_A_CALL, call)
    assert result["state"] == "stopped", result
    assert result["states"] == ["starting", "recording", "stopping", "stopped"]
    assert result["exported"] == "stopped"

    run_jobs()
    db.session.refresh(recording)
    assert recording.status == "ready", recording.error
    assert {t.kind for t in recording.tracks} == {"visitor", "rep", "video"}
    assert all(t.chunk_count >= 1 for t in recording.tracks)
    event = db.session.scalar(sa.select(Event).where(Event.type == "call.recording_ready"))
    urls = event.data["recording"]
    assert urls["available"] is True and urls["expiresInSeconds"] > 0

    status, headers, video = fetch(urls["videoUrl"])
    assert status == 200 and headers["Content-Type"] == "video/webm"
    status, headers, audio = fetch(urls["audioUrl"])
    assert status == 200 and headers["Content-Type"] == "audio/webm"
    played = tmp_path / "played.webm"
    played.write_bytes(video)
    with av.open(str(played)) as container:
        assert {s.type for s in container.streams} == {"video", "audio"}
        assert 2.5 < container.duration / 1e6 < 8  # about the 4 s we recorded

    status, headers, part = fetch(urls["videoUrl"], {"Range": "bytes=0-1023"})
    assert status == 206 and headers["Content-Range"] == f"bytes 0-1023/{len(video)}"
    assert part == video[:1024]

    tampered = re.sub(r"signature=([^&]+)", lambda m: "signature=" + m.group(1)[::-1], urls["videoUrl"])
    assert fetch(tampered)[0] == 403
    assert fetch(urls["audioUrl"].replace(str(recording.id), str(uuid.uuid4())))[0] == 403
    expiring = media_url(recording, "video", expires_in=1)
    assert fetch(expiring)[0] == 200
    time.sleep(2.1)
    assert fetch(expiring)[0] == 403


def test_without_consent_the_recorder_records_nothing(app, admin, rep_page, tmp_path):
    call_id = uuid.uuid4()  # consent was required and not given: no Recording was started
    token = upload_token(call_id, admin.organization_id)

    result = rep_page.evaluate(RECORD_A_CALL, {"callId": str(call_id), "token": token, "seconds": 1})

    assert result["state"] == "not_allowed", json.dumps(result)
    assert db.session.scalar(sa.select(sa.func.count(Recording.id))) == 0
    assert not (tmp_path / "rec").exists() or not any((tmp_path / "rec").rglob("*.*"))


def test_the_call_page_updates_itself_and_a_transcript_line_seeks_the_player(app, admin, browser, server):
    from playwright.sync_api import expect

    from tests import speech
    from tests.conftest import PASSWORD
    from tests.recording_helpers import complete, upload

    if not speech.have_espeak():
        pytest.skip("espeak-ng is not installed")
    recording = new_recording(admin.organization_id, visitor_name="Vera Visitor", rep_name="Ada Admin")
    tracks, timeline = speech.conversation_tracks(speech.CONVERSATION[:3])
    client = app.test_client()
    for kind, pcm in tracks.items():
        upload(client, recording, kind, speech.encode_webm(pcm))
    complete(client, recording)  # the job is queued, not run yet

    context = browser.new_context(base_url=server)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"/calls/{recording.call_id}/recording")
    expect(page.get_by_text("Preparing the recording")).to_be_visible()

    run_jobs()  # the card polls and swaps in the player and the transcript, no reload
    lines = page.locator(".transcript-line")
    expect(lines).to_have_count(3, timeout=20000)
    expect(lines.nth(1)).to_contain_text("Ada Admin")
    lines.nth(2).click()
    start = float(lines.nth(2).get_attribute("data-seek"))
    seeked = "(t) => Math.abs(document.querySelector('.recording-panel audio').currentTime - t) < 1"
    page.wait_for_function(seeked, arg=start)
    assert start == pytest.approx(timeline[2][2], abs=0.6)
    context.close()
