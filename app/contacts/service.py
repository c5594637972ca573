"""Contacts: their API/event object, their events, and erasure.

Erasure (the API's DELETE) removes the contact, the personal data of its calls (fingerprint, IP,
answers, attributes, page URL; the visitor's identity in old events' payloads), their recordings
and transcripts (files and rows), then records `contact.deleted` naming only the id.
"""

import uuid

import sqlalchemy as sa

from app.events import iso, record_event
from app.extensions import db
from app.models import Call, Contact, Event, Recording
from app.models.base import utcnow

EDITABLE = ("name", "email", "phone")
ERASED = "erased"
MAX_SEARCH = 100


def phone_digits(column):
    """The phone as digits only, in SQL: "+1 (512) 555-0100" and "15125550100" match."""
    from app.contacts.search import PHONE_PUNCTUATION

    for mark in PHONE_PUNCTUATION:
        column = sa.func.replace(column, mark, "")
    return column


def matching(query, text: str):
    """Free-text search (the Contacts page and the API's `q`), through the search index."""
    from app.contacts.search import matching as indexed

    return indexed(query, text[:MAX_SEARCH])


def contact_json(contact: Contact) -> dict:
    """The API's contact object; `identityId` and `fingerprint` as in the call envelope's contact."""
    return {
        "id": str(contact.id), "identityId": str(contact.id), "fingerprint": contact.fingerprint,
        "name": contact.name, "email": contact.email, "phone": contact.phone, "location": contact.location,
        "lastSeenAt": iso(contact.last_seen_at), "createdAt": iso(contact.created_at),
        "updatedAt": iso(contact.updated_at),
    }


def _stamp(contact: Contact) -> None:
    """Timestamps now, not at flush: the event's payload is built before the flush."""
    now = utcnow()
    contact.id = contact.id or uuid.uuid4()
    contact.created_at = contact.created_at or now
    contact.last_seen_at = contact.last_seen_at or now
    contact.updated_at = now


def record_created(contact: Contact) -> None:
    _stamp(contact)
    record_event(contact.organization_id, "contact.created", {"contact": contact_json(contact)})


def record_updated(contact: Contact, changes: list[str]) -> None:
    if changes:
        _stamp(contact)
        record_event(contact.organization_id, "contact.updated",
                     {"contact": contact_json(contact), "changes": changes})


def create(organization_id, values: dict) -> Contact:
    """A contact added through the API (no widget fingerprint: one is made up, unique per org)."""
    contact = Contact(organization_id=organization_id, fingerprint="api_" + uuid.uuid4().hex,
                      **{f: values.get(f) for f in EDITABLE})
    db.session.add(contact)
    record_created(contact)
    db.session.commit()
    return contact


def update(contact: Contact, values: dict) -> Contact:
    changes = [f for f in EDITABLE if f in values and values[f] != getattr(contact, f)]
    for field in changes:
        setattr(contact, field, values[field])
    record_updated(contact, changes)
    db.session.commit()
    return contact


def erase(contact: Contact) -> dict:
    """Delete the contact with its calls' personal data, recordings and transcripts; one transaction
    for the rows (files go right after the commit; a crash then leaves orphan files, never data)."""
    from app.recordings.storage import get_storage

    org_id, contact_id = contact.organization_id, contact.id
    call_ids = list(db.session.scalars(sa.select(Call.id).where(Call.contact_id == contact_id)))
    recordings = db.session.scalars(sa.select(Recording).where(Recording.call_id.in_(call_ids))).all() \
        if call_ids else []
    prefixes = [f"{r.organization_id}/{r.id}/" for r in recordings]
    for recording in recordings:
        db.session.delete(recording)
    if call_ids:
        db.session.execute(sa.update(Call).where(Call.id.in_(call_ids)).values(
            visitor_fingerprint=ERASED, visitor_ip=None, answers=[], attributes={}, page_url=None)
            .execution_options(synchronize_session=False))
        _scrub_events(org_id, call_ids)
    db.session.delete(contact)
    erased = {"calls": len(call_ids), "recordings": len(recordings)}
    gone = {"id": str(contact_id), "identityId": str(contact_id)}
    record_event(org_id, "contact.deleted", {"contact": gone, "erased": erased})
    db.session.commit()
    storage = get_storage() if prefixes else None
    for prefix in prefixes:
        storage.delete_prefix(prefix)
    return erased


def _scrub_events(org_id, call_ids) -> None:
    """Old events keep the call, not the person: their contact, answers and transcript go."""
    from app.models import CallEvent

    events = db.session.scalars(sa.select(Event).join(CallEvent, CallEvent.event_id == Event.id).where(
        Event.organization_id == org_id, CallEvent.call_id.in_(call_ids))).all()
    for event in events:
        data = dict(event.data or {})
        if "call" in data:
            data["call"] = {**data["call"], "visitorFingerprint": ERASED}
        data.update({"contact": None, "qualificationAnswers": [], "transcript": None})
        if isinstance(data.get("recording"), dict):
            data["recording"] = {**data["recording"], "available": False, "videoUrl": None, "audioUrl": None,
                                 "expiresInSeconds": None}
        event.data = data
