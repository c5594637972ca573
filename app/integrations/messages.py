"""What Slack and Discord say about an event: one neutral message, rendered by each of them."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, url_for

from app.extensions import db
from app.models import Call, Event, User

NOTIFIED = ("call.requested", "call.missed", "call.ended", "call.transcript_ready",
            "callback.requested", "callback.completed", "contact.disqualified")
LEADS = ("callback.requested", "callback.completed", "contact.disqualified")  # no call needed


@dataclass
class Message:
    title: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    link: tuple[str, str] | None = None  # (label, url)
    urgent: bool = False
    color: int = 0x2563EB


def dashboard_url(endpoint: str, **values) -> str:
    """An absolute dashboard link from a job: there is no request, BASE_URL is the public address."""
    base = current_app.config.get("BASE_URL") or "http://localhost:5000"
    with current_app.test_request_context(base_url=base):
        return url_for(endpoint, _external=True, **values)


def as_uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def call_of(event: Event) -> Call | None:
    """The call an event is about, only within the event's own organization."""
    call_id = as_uuid(((event.data or {}).get("call") or {}).get("id"))
    if call_id is None:
        return None
    # the event's own organization: another organization's call is never described
    return db.session.scalar(
        sa.select(Call).where(Call.id == call_id, Call.organization_id == event.organization_id)
    )


def _who(contact: dict | None) -> str:
    contact = contact or {}
    name = contact.get("name") or "A visitor"
    return f"{name} <{contact['email']}>" if contact.get("email") else name


def _place(contact: dict | None) -> str | None:
    location = (contact or {}).get("location") or {}
    parts = [location.get("city"), location.get("region"), location.get("country")]
    return ", ".join(p for p in parts if p) or None


def answer_lines(answers) -> list[tuple[str, str]]:
    """(question, answer) pairs of the visitor's qualification answers."""
    lines = []
    for item in answers or []:
        value = (item.get("answer") or {}).get("value")
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        lines.append(
            ((item.get("question") or {}).get("label") or "Question", "" if value is None else str(value))
        )
    return lines


def _duration(call: dict) -> str | None:
    if not call.get("acceptedAt") or not call.get("endedAt"):
        return None
    seconds = int((_parse(call["endedAt"]) - _parse(call["acceptedAt"])).total_seconds())
    return f"{seconds // 60} min {seconds % 60:02d} s"


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _rep_name(organization_id, user_id) -> str | None:
    if as_uuid(user_id) is None:
        return None
    user = db.session.scalar(
        sa.select(User).where(User.id == as_uuid(user_id), User.organization_id == organization_id)
    )
    return user.name if user else None


def for_event(event: Event) -> Message | None:
    """The notification for an event, or None when it is not one we notify about."""
    data = event.data or {}
    call = data.get("call") or {}
    if event.type == "call.transcript_ready":
        row = call_of(event)
        if row is None:
            return None
        data = {
            **data,
            "contact": {
                "name": row.contact.name if row.contact else None,
                "email": row.contact.email if row.contact else None,
            },
        }
    builder = {
        "call.requested": _incoming,
        "call.missed": _missed,
        "call.ended": _ended,
        "call.transcript_ready": _transcript,
        "callback.requested": _callback_requested,
        "callback.completed": _callback_completed,
        "contact.disqualified": _disqualified,
    }.get(event.type)
    if builder is None or (event.type not in LEADS and not call.get("id")):
        return None
    return builder(event, data, call)


WINDOWS = {"asap": "as soon as possible", "today": "later today", "tomorrow": "tomorrow",
           "this_week": "this week"}


def _callback_link(callback: dict) -> tuple[str, str] | None:
    if as_uuid(callback.get("id")) is None:
        return None
    return ("Open the callback", dashboard_url("callbacks.show", callback_id=callback["id"]))


def _callback_requested(event, data, call) -> Message:
    callback = data.get("callback") or {}
    who = _who({"name": callback.get("name"), "email": callback.get("email")})
    fields = [("Visitor", who)]
    if callback.get("phone"):
        fields.append(("Phone", callback["phone"]))
    fields.append(("Call back", WINDOWS.get(callback.get("preferredWindow"), "as soon as possible")))
    if callback.get("note"):
        fields.append(("Note", callback["note"][:500]))
    fields += answer_lines(data.get("qualificationAnswers"))
    return Message(f"Callback requested by {who}", fields, _callback_link(callback), urgent=True,
                   color=0xD97706)


def _callback_completed(event, data, call) -> Message:
    callback = data.get("callback") or {}
    who = _who({"name": callback.get("name"), "email": callback.get("email")})
    fields = [("Visitor", who)]
    rep = _rep_name(event.organization_id, callback.get("claimedBy"))
    if rep:
        fields.append(("Rep", rep))
    if callback.get("notes"):
        fields.append(("Notes", callback["notes"][:500]))
    return Message(f"Called back {who}", fields, _callback_link(callback), color=0x6B7280)


def _disqualified(event, data, call) -> Message:
    contact = data.get("contact") or {}
    fields = [("Visitor", _who(contact))] + answer_lines(data.get("qualificationAnswers"))
    link = None
    if as_uuid(contact.get("identityId")):
        link = ("View the contact", dashboard_url("contacts.show", contact_id=contact["identityId"]))
    return Message(f"Disqualified lead: {_who(contact)}", fields, link, color=0x9CA3AF)


def _incoming(event, data, call) -> Message:
    contact = data.get("contact")
    fields = [("Visitor", _who(contact))]
    if _place(contact):
        fields.append(("Location", _place(contact)))
    fields += answer_lines(data.get("qualificationAnswers"))
    return Message(
        f"Incoming {call.get('mediaType') or 'video'} call from {_who(contact)}",
        fields,
        ("Accept the call", dashboard_url("calls.index")),
        urgent=True,
        color=0x16A34A,
    )


def _missed(event, data, call) -> Message:
    contact = data.get("contact")
    return Message(
        f"Missed call from {_who(contact)}",
        [("Visitor", _who(contact))] + answer_lines(data.get("qualificationAnswers")),
        ("Follow up", dashboard_url("calls.show", call_id=call["id"])),
        color=0xDC2626,
    )


def _ended(event, data, call) -> Message | None:
    if not call.get("acceptedAt"):
        return None  # never answered: the missed or canceled call was the news
    fields = [("Visitor", _who(data.get("contact")))]
    rep = _rep_name(event.organization_id, call.get("acceptedBy"))
    if rep:
        fields.append(("Rep", rep))
    if _duration(call):
        fields.append(("Duration", _duration(call)))
    return Message(
        f"Call with {_who(data.get('contact'))} ended",
        fields,
        ("View the call", dashboard_url("calls.show", call_id=call["id"])),
        color=0x6B7280,
    )


def _transcript(event, data, call) -> Message:
    transcript = data.get("transcript") or {}
    text = (transcript.get("text") or "").strip()
    fields = [("Visitor", _who(data.get("contact")))]
    if text:
        fields.append(("Transcript", text[:500] + ("…" if len(text) > 500 else "")))
    return Message(
        f"Transcript ready: call with {_who(data.get('contact'))}",
        fields,
        ("Read the transcript", dashboard_url("calls.show", call_id=call["id"])),
        color=0x7C3AED,
    )
