"""The recording's part of an event's `data`, and the recording events.

The calls feature builds the envelope (`app.calls.payload.event_data`: call, contact,
qualificationAnswers) and merges in what these functions build: `data.transcript` and
`data.recording` (seed 002: the URLs appear only on `call.recording_ready`, the transcript is
null until there is one).
"""

from flask import current_app

from app.events import record_event
from app.extensions import db
from app.models.recordings import Recording
from app.recordings.tokens import media_url


def recording_payload(recording: Recording | None, with_urls: bool = False) -> dict:
    """`data.recording`; with_urls only for call.recording_ready."""
    available = recording is not None and recording.status == "ready"
    payload = {"available": available, "videoUrl": None, "audioUrl": None, "expiresInSeconds": None}
    if recording is not None:
        # the site's policy and the visitor's answer, stored with the call
        payload.update({"policy": recording.policy, "consentGiven": recording.consent_given})
    if available and with_urls:
        ttl = current_app.config["RECORDING_URL_TTL_SECONDS"]
        has_video = recording.track("video") is not None and recording.track("video").storage_key
        payload.update({
            "videoUrl": media_url(recording, "video", ttl) if has_video else None,
            "audioUrl": media_url(recording, "audio", ttl) if recording.audio_key else None,
            "expiresInSeconds": ttl,
        })
    return payload


def transcript_payload(recording: Recording | None) -> dict | None:
    """`data.transcript`: {"language", "text", "segments": [...]}, or null until it is ready."""
    if recording is None or recording.transcript_status != "ready":
        return None
    return recording.transcript


def event_data(recording: Recording, with_urls: bool = False) -> dict:
    """The full envelope `data` of a recording event: its call's, with this recording's part merged in."""
    from app.calls.payload import event_data as call_event_data

    return call_event_data(_call(recording), recording, with_urls)


def _call(recording: Recording):
    from app.models import Call

    return db.session.get(Call, recording.call_id)


def conversation_history(recording: Recording | None) -> str:
    """The lead push's `conversationHistory` for a call: "" until its transcript is ready."""
    from app.recordings.transcribe import conversation_history as lines

    if recording is None:
        return ""
    return lines(transcript_payload(recording), recording.started_at or recording.created_at)


def record_recording_ready(recording: Recording):
    """call.recording_ready, in the caller's transaction (the one that marks the recording ready)."""
    return _record(recording, "call.recording_ready", with_urls=True)


def record_transcript_ready(recording: Recording):
    return _record(recording, "call.transcript_ready")


def _record(recording: Recording, type_: str, with_urls: bool = False):
    """The event, on the call's timeline like the lifecycle events."""
    from app.models import CallEvent

    event = record_event(recording.organization_id, type_, event_data(recording, with_urls))
    db.session.flush()
    db.session.add(CallEvent(call_id=recording.call_id, event_id=event.id))
    return event
