"""The `data` of a call event's envelope, exactly as the seed's "Events & Payload" shows it.

`event_data` is the one place the envelope is put together: the calls feature's events pass the
call alone; call.recording_ready and call.transcript_ready pass the call's recording too, whose
part (`data.transcript`, `data.recording`) the recordings feature builds.
"""

from app.events import iso
from app.models import Call, Contact
from app.recordings.events import recording_payload, transcript_payload

NO_RECORDING = {"available": False, "videoUrl": None, "audioUrl": None, "expiresInSeconds": None}


def call_data(call: Call) -> dict:
    return {
        "id": str(call.id),
        "status": call.status,
        "mediaType": call.media_type,
        "requestedAt": iso(call.requested_at),
        "acceptedAt": iso(call.accepted_at),
        "endedAt": iso(call.ended_at),
        "acceptedBy": str(call.accepted_by_id) if call.accepted_by_id else None,
        "sessionId": str(call.session_id),
        "siteId": str(call.site_id) if call.site_id else None,
        "visitorFingerprint": call.visitor_fingerprint,
        "qualificationFlowId": call.qualification_flow_id,
    }


def contact_data(contact: Contact | None) -> dict | None:
    if contact is None:
        return None
    return {
        "identityId": str(contact.id),
        "fingerprint": contact.fingerprint,
        "email": contact.email,
        "phone": contact.phone,
        "name": contact.name,
        "lastSeenAt": iso(contact.last_seen_at),
        "location": contact.location,
    }


def no_recording(call: Call) -> dict:
    """`data.recording` before a recording is ready; a recorded site's calls add the policy and consent."""
    payload = dict(NO_RECORDING)
    if call.recording_policy and call.recording_policy != "off":
        payload.update({"policy": call.recording_policy, "consentGiven": bool(call.recording_consent)})
    return payload


def event_data(call: Call, recording=None, with_urls: bool = False) -> dict:
    """call, contact (with location), qualificationAnswers, then the transcript and recording.

    Without `recording`: transcript null, recording not available (every lifecycle event).
    With it: its transcript once ready, and (`with_urls`, call.recording_ready only) its signed URLs.
    """
    return {
        "call": call_data(call),
        "contact": contact_data(call.contact),
        "qualificationAnswers": list(call.answers or []),
        "transcript": transcript_payload(recording) if recording is not None else None,
        "recording": recording_payload(recording, with_urls) if recording is not None else no_recording(call),
    }


def team_data(team) -> dict | None:
    return {"id": str(team.id), "name": team.name} if team is not None else None


def routing_part(call: Call, rule=None) -> dict:
    """Which team the call rang first, how, and where it overflows (or did)."""
    from app.extensions import db
    from app.models import Team

    team = call.team
    overflows = call.overflow_at is not None or call.overflowed_at is not None
    overflow_team = db.session.get(Team, call.overflow_team_id) if call.overflow_team_id else None
    return {"team": team_data(team), "strategy": team.strategy if team is not None else None,
            "ruleId": str(rule.id) if rule is not None else None,
            "overflowAt": iso(call.overflow_at), "overflowedAt": iso(call.overflowed_at),
            "overflowTo": ("team" if call.overflow_team_id else "everyone") if overflows else None,
            "overflowTeam": team_data(overflow_team)}


def routed_data(call: Call, rule=None) -> dict:
    """call.routed and call.overflowed: the call envelope plus data.routing."""
    return {**event_data(call), "routing": routing_part(call, rule)}
