"""The `data` of a call event's envelope, exactly as the seed's "Events & Payload" shows it."""

from app.events import iso
from app.models import Call, Contact

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


def event_data(call: Call) -> dict:
    """call, contact (with location), qualificationAnswers, transcript null, no recording yet."""
    return {
        "call": call_data(call),
        "contact": contact_data(call.contact),
        "qualificationAnswers": list(call.answers or []),
        "transcript": None,
        "recording": dict(NO_RECORDING),
    }
