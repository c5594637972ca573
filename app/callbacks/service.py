"""Callbacks: storing a visitor's details (with their answers and attributes) instead of a dead
end, the disqualified lead kept, and the queue's transitions (claim, done, notes).

Each change commits with its event (outbox) in one transaction; claim and done are guarded
UPDATEs, so two reps claiming at once yield one owner."""

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa

from app.callbacks.payload import callback_data, disqualified_data
from app.calls import service as calls
from app.events import record_event
from app.extensions import db
from app.models import Call, Callback, Contact
from app.models.base import utcnow
from app.widget.qualification import MAX_TEXT, _email, _phone

# the visitor's preferred window -> (what they read, when the callback is due)
WINDOWS = {
    "asap": ("As soon as possible", timedelta(hours=2)),
    "today": ("Later today", timedelta(hours=8)),
    "tomorrow": ("Tomorrow", timedelta(hours=32)),
    "this_week": ("This week", timedelta(days=5)),
}
MAX_NOTES = 5000
REASONS = {
    "no_one_available": "Nobody was available",
    "missed": "Nobody answered",
    "disqualified": "Disqualified: asked to leave details",
    "rate_limited": "Too many call requests",
    "chose": "Chose a callback",
}


@dataclass
class Details:
    errors: dict = field(default_factory=dict)
    contact: dict = field(default_factory=dict)
    window: str = "asap"
    note: str | None = None


def check_details(body: dict) -> Details:
    """Name, email or phone (at least one way to reach them), a window and a note."""
    details = Details()
    contact = body.get("contact") if isinstance(body.get("contact"), dict) else {}
    raw = {k: contact.get(k) if isinstance(contact.get(k), str) else "" for k in ("name", "email", "phone")}
    email, email_error = _email(raw["email"].strip(), "optional")
    phone, phone_error = _phone(raw["phone"].strip(), "optional")
    for key, error in (("contact.email", email_error), ("contact.phone", phone_error)):
        if error:
            details.errors[key] = error
    if not details.errors and not email and not phone:
        details.errors["contact.email"] = "Enter your email or phone so we can call you back."
    details.contact = {"name": raw["name"].strip()[:120] or None, "email": email, "phone": phone}
    window = body.get("window") or "asap"
    if window not in WINDOWS:
        details.errors["window"] = "Choose when we should call."
    details.window = window if window in WINDOWS else "asap"
    note = body.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_TEXT):
        details.errors["note"] = f"Keep the note under {MAX_TEXT} characters."
    details.note = note.strip() or None if isinstance(note, str) else None
    return details


def _contact(site, fingerprint, details: dict, location, answers, attributes) -> Contact:
    contact = calls.upsert_contact(site.organization_id, fingerprint, details, location)
    if answers:
        contact.answers = answers
    if attributes:
        contact.attributes = attributes
    return contact


def record_disqualified(site, result, fingerprint: str | None, location, attributes=None) -> Contact:
    """A disqualified visitor is a lead too: keep their contact and answers, send contact.disqualified.
    The caller commits (with the qualify's other rows)."""
    contact = _contact(site, fingerprint or f"anon-{uuid.uuid4().hex}", result.contact, location,
                       result.answers, attributes)
    db.session.flush()
    record_event(site.organization_id, "contact.disqualified",
                 disqualified_data(contact, result.answers, attributes or {}, site.id))
    return contact


def missed_call(site, fingerprint: str, call_id) -> Call | None:
    """The visitor's own call that rang out, which this callback replaces."""
    call = db.session.get(Call, calls.as_uuid(call_id)) if call_id else None
    if call is None or call.site_id != site.id or call.visitor_fingerprint != fingerprint:
        return None
    return call if call.status in ("missed", "canceled") else None


def reason_for(qualification: dict | None, call: Call | None, visitor_reason: str | None = None) -> str:
    """Why they left details: the server's facts first (the call, the qualification's outcome)."""
    if call is not None:
        return "no_one_available" if call.end_reason == "no_one_available" else "missed"
    if qualification and qualification.get("action") == "leave_details":
        return qualification.get("reason") or "disqualified"
    return visitor_reason or "chose"


def request_callback(site, *, fingerprint: str, details: Details, qualification: dict | None,
                     call: Call | None, attributes: dict, page_url: str | None, location,
                     visitor_reason: str | None = None) -> Callback:
    """Store the lead and its callback; `callback.requested` goes out with the commit."""
    answers = (qualification or {}).get("answers") or (call.answers if call is not None else [])
    contact = _contact(site, fingerprint, details.contact, location, answers, attributes)
    now = utcnow()
    callback = Callback(
        organization_id=site.organization_id, site_id=site.id, contact=contact,
        call_id=call.id if call is not None else None,
        reason=reason_for(qualification, call, visitor_reason),
        preferred_window=details.window, note=details.note, answers=answers, attributes=attributes or {},
        page_url=page_url, status="open", created_at=now, due_at=now + WINDOWS[details.window][1],
        team_id=_team_id(site, call, qualification, answers, location, page_url, attributes),
        **details.contact)
    db.session.add(callback)
    db.session.flush()
    record_event(site.organization_id, "callback.requested", callback_data(callback, call))
    db.session.commit()
    _mail_team(callback)
    return callback


def _team_id(site, call, qualification, answers, location, page_url, attributes):
    """The team whose call it would have been: the missed call's, else routing's pick."""
    from app.routing import teams

    if call is not None and call.team_id:
        return call.team_id
    facts = teams.visitor_facts(site.id, answers, (location or {}).get("countryCode"), page_url, attributes)
    team, _ = teams.choose_team(site.organization_id, facts, (qualification or {}).get("teamId"))
    return team.id if team is not None else None


def _mail_team(callback: Callback) -> None:
    """After the commit: mail the callback to its team (owed work: a job, enqueued again by the
    cron pass if Redis loses it; the queue page has the callback anyway)."""
    from app import mail, owed_mail

    if mail.can_send():
        owed_mail.owe("callback", callback.id, "")


def _guarded(callback_id, from_statuses: tuple, **values) -> bool:
    result = db.session.execute(
        sa.update(Callback).where(Callback.id == callback_id, Callback.status.in_(from_statuses))
        .values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _announce(callback: Callback, type_: str) -> None:
    """Record the callback's event (its missed call in the envelope) in the pending transaction."""
    call = db.session.get(Call, callback.call_id) if callback.call_id else None
    record_event(callback.organization_id, type_, callback_data(callback, call))


def claim(callback: Callback, user) -> bool:
    """This rep calls them back (`callback.claimed`); False when someone else claimed it first (or
    it is done)."""
    if not _guarded(callback.id, ("open",), status="claimed", claimed_by_id=user.id, claimed_at=utcnow()):
        db.session.rollback()
        return False
    db.session.refresh(callback)
    _announce(callback, "callback.claimed")
    db.session.commit()
    return True


def complete(callback: Callback, user=None, notes: str | None = None) -> bool:
    """Done: `callback.completed` with the notes. Once only. Without a user (an organization API
    key) an unclaimed callback stays without a claimer."""
    values = {"status": "done", "completed_at": utcnow()}
    if callback.claimed_by_id is None and user is not None:
        values.update(claimed_by_id=user.id, claimed_at=utcnow())
    if notes is not None:
        values["notes"] = notes
    if not _guarded(callback.id, ("open", "claimed"), **values):
        db.session.rollback()
        return False
    db.session.refresh(callback)
    _announce(callback, "callback.completed")
    db.session.commit()
    return True


def save_notes(callback: Callback, notes: str | None) -> None:
    """The reps' notes; `callback.updated` when they changed."""
    notes = notes or None
    if notes == callback.notes:
        return
    callback.notes = notes
    db.session.flush()
    _announce(callback, "callback.updated")
    db.session.commit()


def queue_query(organization_id, status: str | None):
    """The queue: open and claimed first, the most overdue on top; done ones newest first."""
    query = sa.select(Callback).where(Callback.organization_id == organization_id)
    if status == "done":
        return query.where(Callback.status == "done").order_by(Callback.completed_at.desc())
    if status in ("open", "claimed"):
        query = query.where(Callback.status == status)
    else:
        query = query.where(Callback.status != "done")
    return query.order_by(Callback.due_at)


def open_count(organization_id) -> int:
    return db.session.scalar(sa.select(sa.func.count(Callback.id)).where(
        Callback.organization_id == organization_id, Callback.status != "done")) or 0
