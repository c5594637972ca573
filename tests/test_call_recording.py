"""Recording wired into live calls: the site's policy, the visitor's consent, the recording that
starts at accept, the rep's upload token, the server finishing it after call.ended, and the
recording events carrying the full call envelope."""

import json
import time

import pytest
import sqlalchemy as sa
from rq.registry import ScheduledJobRegistry

from app.calls import service
from app.extensions import db
from app.models import Call, CallEvent, Event, Recording
from app.models.widget import settings_for
from app.recordings.service import is_recording
from app.redis_store import get_redis
from tests import speech
from tests.calls_support import ANSWERS, call_body, go_online, make_site
from tests.recording_helpers import auth_headers, run_jobs, upload

# the seed's (002_…) envelope keys and its `data.recording` before a recording exists
ENVELOPE_KEYS = {"id", "type", "createdAt", "organizationId", "data"}
DATA_KEYS = {"call", "contact", "qualificationAnswers", "transcript", "recording"}
SEED_RECORDING = {"available": False, "videoUrl": None, "audioUrl": None, "expiresInSeconds": None}
SETTINGS = {"badge_label": "Talk to sales", "welcome_text": "Hi there", "collect_email": "required",
            "collect_phone": "optional", "countries": "", "domain_aliases": "",
            "calendar_url": "https://cal.example.com/acme", "call_type": "video",
            "ring_timeout_seconds": "30"}


@pytest.fixture
def app(make_app, tmp_path):
    app = make_app(RECORDINGS_DIR=str(tmp_path / "recordings"))
    with app.app_context():
        yield app


@pytest.fixture
def site(app, admin):
    return make_site(admin.organization_id, "shop.example.com", ring_timeout_seconds=30,
                     recording_policy="notice")


@pytest.fixture
def online_rep(rep):
    go_online(rep)
    return rep


def request_call(client, site, **extra) -> Call:
    response = client.post("/widget/calls", json=call_body(site, **extra))
    assert response.status_code == 201, response.get_json()
    return db.session.get(Call, service.as_uuid(response.get_json()["call"]["id"]))


def events_of(call_id) -> list[Event]:
    db.session.expire_all()
    return list(db.session.scalars(
        sa.select(Event).join(CallEvent, CallEvent.event_id == Event.id)
        .where(CallEvent.call_id == call_id).order_by(Event.created_at, Event.type.desc())))


def the_recording(call_id) -> Recording | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Recording).where(Recording.call_id == call_id))


# --- the policy, where admins set it and where visitors meet it ---------------------------------------

def test_widget_settings_save_the_recording_policy_and_the_widget_config_exposes_it(auth, admin, client,
                                                                                    site):
    auth.login(admin.email)
    page = client.get(f"/widget/settings?site={site.id}").get_data(as_text=True)
    assert 'name="recording_policy"' in page and "Record only when the visitor agrees" in page

    response = auth.post(f"/widget/settings/{site.id}", {**SETTINGS, "recording_policy": "consent"},
                         headers={"HX-Request": "true"})
    assert response.status_code == 200
    db.session.expire_all()
    assert settings_for(site).recording_policy == "consent"
    config = client.get("/widget/config", query_string={"public_key": site.public_key,
                                                        "domain": site.domain}).get_json()
    assert config["settings"]["recordingPolicy"] == "consent"
    # the copy the visitor reads is the theme's, editable like every other step's
    assert config["theme"]["copy"]["recordingConsent"] == "I agree to this call being recorded."


def test_a_bad_recording_policy_shows_its_message_next_to_the_field(auth, admin, site):
    auth.login(admin.email)
    response = auth.post(f"/widget/settings/{site.id}", {**SETTINGS, "recording_policy": "always"},
                         headers={"HX-Request": "true"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="recording_policy-error"' in html and "off, with a notice, or with consent" in html
    db.session.expire_all()
    assert settings_for(site).recording_policy == "notice"


def test_the_live_preview_shows_the_unsaved_policy(auth, admin, site):
    auth.login(admin.email)
    response = auth.post(f"/widget/settings/{site.id}/preview", {**SETTINGS, "recording_policy": "off"})
    assert response.status_code == 200 and response.get_json()["settings"]["recordingPolicy"] == "off"
    db.session.expire_all()
    assert settings_for(site).recording_policy == "notice"


# --- the call request stores the policy and the consent; accept starts the recording -------------------

@pytest.mark.parametrize("policy, consent_sent, stored_consent, recorded", [
    ("off", True, False, False),
    ("notice", False, False, True),
    ("consent", False, False, False),
    ("consent", True, True, True),
])
def test_accept_starts_a_recording_only_when_the_policy_and_the_visitor_allow(
        client, site, online_rep, policy, consent_sent, stored_consent, recorded):
    site.widget_settings.recording_policy = policy
    db.session.commit()
    call = request_call(client, site, recordingConsent=consent_sent)
    assert (call.recording_policy, call.recording_consent) == (policy, stored_consent)

    service.accept(call.id, online_rep)

    recording = the_recording(call.id)
    assert (recording is not None) is recorded
    if recorded:
        assert (recording.policy, recording.consent_given) == (policy, stored_consent)
        assert (recording.visitor_name, recording.rep_name) == ("Vera Visitor", online_rep.name)


@pytest.mark.parametrize("consent", ["yes", 1, None, {"a": 1}])
def test_a_consent_that_is_not_true_or_false_is_refused(client, site, online_rep, consent):
    response = client.post("/widget/calls", json=call_body(site, recordingConsent=consent))
    assert response.status_code == 400
    assert response.get_json()["error"] == {"code": "invalid_input",
                                            "message": "recordingConsent is not valid."}
    assert db.session.scalar(sa.select(sa.func.count(Call.id))) == 0


def test_lifecycle_events_say_how_the_call_is_recorded_but_nothing_is_available(client, site, online_rep):
    site.widget_settings.recording_policy = "consent"
    db.session.commit()
    call = request_call(client, site, recordingConsent=False)
    service.accept(call.id, online_rep)
    service.end(call.id, "rep_hung_up")
    events = events_of(call.id)
    assert [e.type for e in events] == ["call.requested", "call.accepted", "call.ended"]
    for event in events:
        assert event.data["transcript"] is None
        assert event.data["recording"] == {"available": False, "videoUrl": None, "audioUrl": None,
                                           "expiresInSeconds": None, "policy": "consent",
                                           "consentGiven": False}
    assert the_recording(call.id) is None


def test_a_site_that_does_not_record_keeps_the_seeds_recording_object(client, site, online_rep):
    site.widget_settings.recording_policy = "off"
    db.session.commit()
    call = request_call(client, site)
    [event] = events_of(call.id)
    assert event.data["recording"] == SEED_RECORDING


# --- the rep's call screen and the visitor's indicator ------------------------------------------------

def test_the_rep_call_screen_gets_an_upload_token_only_when_the_call_is_recorded(auth, client, site,
                                                                                 online_rep):
    auth.login(online_rep.email)
    recorded = request_call(client, site)
    service.accept(recorded.id, online_rep)
    html = client.get(f"/calls/{recorded.id}/live").get_data(as_text=True)
    assert 'data-upload-token="' in html and "js/recorder.js" in html and 'id="recording-indicator"' in html

    site.widget_settings.recording_policy = "consent"
    db.session.commit()
    service.end(recorded.id, "rep_hung_up")
    unrecorded = request_call(client, site, fingerprint="fp-2", recordingConsent=False)
    service.accept(unrecorded.id, online_rep)
    html = client.get(f"/calls/{unrecorded.id}/live").get_data(as_text=True)
    assert "data-upload-token" not in html and "recorder.js" not in html and "recording-indicator" not in html


def test_start_tells_the_visitor_that_recording_runs(app, client, site, online_rep):
    call = request_call(client, site)
    service.accept(call.id, online_rep)
    pubsub = app.extensions["redis"].pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(f"rt:call:{call.id}:visitor")
    assert is_recording(call.id) is False  # the recorder has not started yet

    recording = the_recording(call.id)
    started = client.post(f"/recordings/calls/{call.id}/start", headers=auth_headers(recording))
    assert started.status_code == 200

    assert is_recording(call.id) is True  # a visitor's socket that (re)opens now is told so
    deadline, messages = time.monotonic() + 2, []
    while time.monotonic() < deadline and not messages:
        message = pubsub.get_message(timeout=0.1)
        if message:
            messages.append(json.loads(message["data"]))
    pubsub.close()
    assert messages == [{"type": "recording", "state": "recording"}]


# --- after the call ---------------------------------------------------------------------------------

def scheduled_jobs() -> list:
    registry = ScheduledJobRegistry("default", connection=get_redis())
    return [job.func_name for job in (registry.job_class.fetch(i, connection=get_redis())
                                      for i in registry.get_job_ids())]


def test_call_ended_schedules_the_finish_for_a_rep_browser_that_never_completes(app, client, site,
                                                                                online_rep):
    get_redis().delete("rq:scheduled:default")
    call = request_call(client, site)
    service.accept(call.id, online_rep)
    service.end(call.id, "disconnected")
    # the rep's browser gets its grace period to send the last chunks itself
    assert the_recording(call.id).status == "recording"
    assert "app.recordings.jobs.finish_call_recording_job" in scheduled_jobs()

    from app.recordings.jobs import finish_call_recording_job

    finish_call_recording_job(str(call.id), str(call.organization_id))  # what the scheduler runs
    assert the_recording(call.id).status == "assembling"


@pytest.fixture
def short_voice():
    if not speech.have_espeak():
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    return speech.encode_webm(speech.speak("Hello, I would like a demo."))


def test_recording_and_transcript_events_carry_the_full_call_envelope(app, client, site, online_rep,
                                                                      short_voice):
    app.config["RECORDING_FINISH_GRACE_SECONDS"] = 0  # finish at once when the call ends
    app.config["COUNTRY_HEADER"] = "CF-IPCountry"
    response = client.post("/widget/calls", json=call_body(site), headers={"CF-IPCountry": "US"})
    call = db.session.get(Call, service.as_uuid(response.get_json()["call"]["id"]))
    service.accept(call.id, online_rep)
    recording = the_recording(call.id)
    upload(client, recording, "visitor", short_voice)
    upload(client, recording, "rep", short_voice)
    service.end(call.id, "visitor_hung_up")  # no "complete" from the rep: the server finishes it
    run_jobs()

    events = {e.type: e.envelope() for e in events_of(call.id)}
    assert list(events) == ["call.requested", "call.accepted", "call.ended", "call.recording_ready",
                            "call.transcript_ready"]
    ended, ready = events["call.ended"], events["call.recording_ready"]
    transcript = events["call.transcript_ready"]
    for event in (ready, transcript):
        assert set(event) == ENVELOPE_KEYS and set(event["data"]) == DATA_KEYS
        # the call as it ended, the contact with its location, the answers with their questions
        assert event["data"]["call"] == ended["data"]["call"]
        assert event["data"]["call"]["status"] == "ended"
        assert event["data"]["call"]["acceptedBy"] == str(online_rep.id)
        assert event["data"]["contact"]["email"] == "vera@example.org"
        assert event["data"]["contact"]["location"]["countryCode"] == "US"
        assert event["data"]["qualificationAnswers"] == ANSWERS
        assert set(event["data"]["recording"]) == set(SEED_RECORDING) | {"policy", "consentGiven"}
        assert event["data"]["recording"]["policy"] == "notice"

    assert ended["data"]["transcript"] is None and ended["data"]["recording"]["available"] is False
    assert ready["data"]["transcript"] is None  # it has its own event
    urls = ready["data"]["recording"]
    assert urls["available"] is True and urls["expiresInSeconds"] == app.config["RECORDING_URL_TTL_SECONDS"]
    assert urls["audioUrl"].startswith("http://converc.test/recordings/media/") and urls["videoUrl"] is None
    assert client.get(urls["audioUrl"]).mimetype == "audio/webm"
    # the URLs are only on call.recording_ready
    assert transcript["data"]["recording"]["audioUrl"] is None
    assert transcript["data"]["recording"]["available"] is True
    segments = transcript["data"]["transcript"]["segments"]
    assert {s["speaker"] for s in segments} == {"visitor", "rep"}
    assert {s["name"] for s in segments} == {"Vera Visitor", online_rep.name}


def test_the_call_page_shows_the_recording_panel(auth, client, site, online_rep):
    auth.login(online_rep.email)
    call = request_call(client, site)
    service.accept(call.id, online_rep)
    html = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "The call is being recorded." in html and 'hx-trigger="every 5s"' in html

    site.widget_settings.recording_policy = "off"
    db.session.commit()
    service.end(call.id, "rep_hung_up")
    other = request_call(client, site, fingerprint="fp-2")
    service.accept(other.id, online_rep)
    service.end(other.id, "rep_hung_up")
    html = client.get(f"/calls/{other.id}").get_data(as_text=True)
    assert "This call was not recorded." in html


def test_a_deleted_call_takes_its_recording_with_it(client, site, online_rep):
    call = request_call(client, site)
    service.accept(call.id, online_rep)
    recording_id = the_recording(call.id).id
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite here runs without foreign key enforcement; PostgreSQL checks the cascade")
    db.session.execute(sa.delete(Call).where(Call.id == call.id))
    db.session.commit()
    assert db.session.get(Recording, recording_id) is None


def test_a_call_that_is_not_recorded_schedules_no_finish(app, client, site, online_rep):
    get_redis().delete("rq:scheduled:default")
    site.widget_settings.recording_policy = "off"
    db.session.commit()
    call = request_call(client, site)
    service.accept(call.id, online_rep)
    service.end(call.id, "rep_hung_up")
    assert "app.recordings.jobs.finish_call_recording_job" not in scheduled_jobs()
