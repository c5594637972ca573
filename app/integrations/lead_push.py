"""Lead push (seed 003): POST each lead as JSON, with HTTP basic auth, to the customer's endpoint.

Seed 003 marks firstName, lastName, email and conversationHistory required: an unknown one is
never sent as "". The admin chooses: skip the lead (the delivery says which field was unknown),
or fill what can be derived (first name from the email, "Unknown" last name, a line about the call
as the history); a lead with no email is skipped either way.
"""

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app import outbound
from app.extensions import db
from app.integrations import store
from app.integrations.errors import IntegrationError, Refused, Skipped
from app.integrations.messages import answer_lines, call_of
from app.models import Call, Event, Integration, Recording
from app.models.base import utcnow

WITH_TRANSCRIPT = "call.ended_with_transcript"
TRIGGERS = {
    "call.ended": "When a call ends",
    WITH_TRANSCRIPT: "When a call ends, with the transcript when there is one",
    "call.transcript_ready": "When its transcript is ready (only recorded calls)",
}
MISSING = {"skip": "Skip the lead and show which field was unknown",
           "fill": "Fill in what we can: first name from the email, last name “Unknown”, "
                   "a line about the call as the history"}
REQUIRED = ("firstName", "lastName", "email", "conversationHistory")
# what "Send test" pushes (conversationHistory gets the moment in front, as real lines have)
SAMPLE_LEAD = {"firstName": "Sam", "lastName": "Sample", "email": "sam.sample@example.com",
               "conversationHistory": "Sam: This is a test lead sent from Converc (Send test)."}


def configure(
    organization_id, url: str, username: str, password: str | None, client_id: str | None, trigger: str,
    missing: str = "skip",
) -> Integration:
    """Save the endpoint; an empty password keeps the stored one."""
    url = url.strip()
    outbound.parse(url)  # https (unless WEBHOOK_ALLOW_HTTP), no credentials in the URL
    previous = store.integration_of(organization_id, "lead_push")
    if not password and previous is None:
        raise ValueError("A password is required: basic authentication is mandatory.")
    secret = {"password": password} if password else store.secret_of(previous)
    settings = {
        "url": url,
        "username": username.strip(),
        "clientId": (client_id or "").strip() or None,
        "trigger": trigger,
        "missing": missing if missing in MISSING else "skip",
    }
    return store.save(organization_id, "lead_push", settings, secret)


def wants(row: Integration, event_type: str) -> bool:
    trigger = (row.settings or {}).get("trigger", "call.ended")
    if trigger == WITH_TRANSCRIPT:
        return row.status == "connected" and event_type in ("call.ended", "call.transcript_ready")
    return row.status == "connected" and trigger == event_type


def _awaits_transcript(recording: Recording | None) -> bool:
    """A recording whose transcript is still coming: its call.transcript_ready will push the lead."""
    return (recording is not None and recording.status != "failed"
            and recording.transcript_status in ("pending", "running"))


def _split(name: str | None) -> tuple[str, str]:
    first, _, last = (name or "").strip().partition(" ")
    return first, last.strip()


def _answers_history(call: Call) -> str:
    """While there is no transcript: the visitor's qualification answers, one line each."""
    moment = call.requested_at.strftime("%Y-%m-%dT%H:%M:%S")
    name = (call.contact.name if call.contact else None) or "Visitor"
    return "\n".join(f"{moment} {name}: {q} {a}" for q, a in answer_lines(call.answers))


def payload(row: Integration, event: Event) -> dict | None:
    """firstName, lastName, email, conversationHistory and clientId (when set); None without a call."""
    from app.recordings.events import conversation_history

    call = call_of(event)
    if call is None or call.organization_id != row.organization_id:
        return None
    recording = db.session.scalar(sa.select(Recording).where(Recording.call_id == call.id))
    waits = row.settings.get("trigger") == WITH_TRANSCRIPT and event.type == "call.ended"
    if waits and _awaits_transcript(recording):
        raise Skipped("Waiting for the transcript: the lead is sent when it is ready.")
    history = conversation_history(recording) or _answers_history(call)
    contact = call.contact
    first, last = _split(contact.name if contact else None)
    body = {
        "firstName": first or None,
        "lastName": last or None,
        "email": (contact.email if contact else None) or None,
        "conversationHistory": history or None,
    }
    if row.settings.get("missing") == "fill":
        _fill(body, call)
    unknown = [key for key in REQUIRED if not body[key]]
    if unknown:
        raise Skipped(f"Not sent: {', '.join(unknown)} unknown (required by the lead endpoint).")
    if row.settings.get("clientId"):
        body["clientId"] = row.settings["clientId"]
    return body


def _fill(body: dict, call: Call) -> None:
    """What can honestly be derived; the email never is."""
    if body["email"] and not body["firstName"]:
        body["firstName"] = body["email"].split("@")[0]
    if body["firstName"] and not body["lastName"]:
        body["lastName"] = "Unknown"
    if not body["conversationHistory"]:
        moment = call.requested_at.strftime("%Y-%m-%dT%H:%M:%S")
        body["conversationHistory"] = f"{moment} Converc: {call.media_type} call {call.status}, no transcript"


def _reply(response: outbound.Response) -> tuple[int | None, str]:
    """The documented {"status": "...", "message": "..."} (status may be a string), else the HTTP status."""
    try:
        body = json.loads(response.body or "")
        return int(str(body.get("status")).strip()), str(body.get("message") or "")[:400]
    except (ValueError, TypeError, AttributeError):
        return response.status, (response.body or "")[:200]


def send(row: Integration, event: Event) -> int | None:
    """Push one lead; IntegrationError for 5xx and timeouts (retried), Refused for 400/401 and the rest."""
    body = payload(row, event)
    if body is None:
        return None
    return _verdict(_post(row, body, event.type, event.id))


def _post(row: Integration, body: dict, event_type: str, event_id) -> outbound.Response:
    """The lead as JSON to the saved URL, with the saved basic auth."""
    secret = store.secret_of(row)
    credentials = base64.b64encode(f"{row.settings['username']}:{secret['password']}".encode()).decode()
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Authorization": f"Basic {credentials}",
        "X-IC-Event": event_type,
        "X-IC-Id": str(event_id),
    }
    return outbound.post(
        row.settings["url"], json.dumps(body).encode(), headers, current_app.config["WEBHOOK_TIMEOUT_SECONDS"]
    )


def _verdict(response: outbound.Response) -> int:
    """The endpoint's status when it took the lead; else IntegrationError (retry) or Refused."""
    if response.status is None:
        if response.error and response.error.startswith("Refused"):
            raise Refused(response.error)
        raise IntegrationError(response.error)
    status, message = _reply(response)
    if response.status >= 500 or (status or 0) >= 500:
        raise IntegrationError(f"{status}: {message or 'server error'}")
    if response.ok and status == 200:
        return status
    raise Refused(f"{status}: {message or 'no message'}", status)


@dataclass
class SampleSent:
    ok: bool
    status: int | None  # the HTTP status, None when no answer came
    duration_ms: int
    error: str | None


def send_test(row: Integration) -> SampleSent:
    """POST a sample lead now, the way real leads go, and say how the endpoint answered.

    At most one test per organization at a time, each waiting at most
    WEBHOOK_TIMEOUT_SECONDS, so clicks cannot pile up web threads on a slow endpoint."""
    from app.redis_store import get_redis

    lock = f"lead_push:test:{row.organization_id}"
    if not get_redis().set(lock, 1, nx=True, ex=int(current_app.config["WEBHOOK_TIMEOUT_SECONDS"]) + 5):
        return SampleSent(False, None, 0, "A test is already running: try again in a few seconds.")
    try:
        moment = utcnow().strftime("%Y-%m-%dT%H:%M:%S")
        body = {**SAMPLE_LEAD, "conversationHistory": f"{moment} {SAMPLE_LEAD['conversationHistory']}"}
        if row.settings.get("clientId"):
            body["clientId"] = row.settings["clientId"]
        response = _post(row, body, "lead_push.test", uuid.uuid4())
    finally:
        get_redis().delete(lock)
    try:
        _verdict(response)
    except (IntegrationError, Refused) as e:
        return SampleSent(False, response.status, response.duration_ms, str(e) or "No answer")
    return SampleSent(True, response.status, response.duration_ms, None)


def never_pushed(organization_id, days: int = 30) -> dict:
    """With "when its transcript is ready": the calls of the last `days` that trigger would never
    push (no recording, or missed / canceled), to say so on the page."""
    recorded = sa.select(Recording.call_id).where(Recording.call_id.is_not(None))
    base = sa.select(sa.func.count(Call.id)).where(
        Call.organization_id == organization_id, Call.requested_at >= utcnow() - timedelta(days=days))
    return {
        "days": days,
        "unanswered": db.session.scalar(base.where(Call.status.in_(("missed", "canceled")))) or 0,
        "unrecorded": db.session.scalar(base.where(Call.status == "ended", Call.id.not_in(recorded))) or 0,
    }
