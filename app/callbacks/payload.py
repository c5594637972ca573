"""The `data` of callback and contact events: the call envelope's shape (call, contact,
qualificationAnswers, transcript, recording) plus `callback` and `attributes`."""

from app.calls.payload import call_data, contact_data
from app.events import iso


def callback_part(callback) -> dict:
    return {
        "id": str(callback.id), "status": callback.status, "reason": callback.reason,
        "name": callback.name, "email": callback.email, "phone": callback.phone,
        "preferredWindow": callback.preferred_window, "note": callback.note,
        "dueAt": iso(callback.due_at), "createdAt": iso(callback.created_at),
        "claimedBy": str(callback.claimed_by_id) if callback.claimed_by_id else None,
        "claimedAt": iso(callback.claimed_at), "completedAt": iso(callback.completed_at),
        "notes": callback.notes, "updatedAt": iso(callback.updated_at),
        "siteId": str(callback.site_id) if callback.site_id else None, "pageUrl": callback.page_url,
    }


def callback_json(callback, now) -> dict:
    """The REST API's callback: the event's callback part plus its call, contact, answers, attributes."""
    return {
        **callback_part(callback),
        "callId": str(callback.call_id) if callback.call_id else None,
        "contactId": str(callback.contact_id) if callback.contact_id else None,
        "overdue": callback.overdue(now),
        "qualificationAnswers": list(callback.answers or []),
        "attributes": dict(callback.attributes or {}),
    }


def callback_data(callback, call=None) -> dict:
    return {
        "call": call_data(call) if call is not None else None,
        "contact": contact_data(callback.contact),
        "qualificationAnswers": list(callback.answers or []),
        "transcript": None, "recording": None,
        "callback": callback_part(callback),
        "attributes": dict(callback.attributes or {}),
    }


def disqualified_data(contact, answers: list, attributes: dict, site_id) -> dict:
    return {
        "call": None, "contact": contact_data(contact), "qualificationAnswers": list(answers or []),
        "transcript": None, "recording": None, "attributes": dict(attributes or {}),
        "siteId": str(site_id),
    }
