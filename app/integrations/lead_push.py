"""Lead push (seed 003): POST each lead as JSON, with HTTP basic auth, to the customer's endpoint."""

import base64
import json

import sqlalchemy as sa
from flask import current_app

from app import outbound
from app.extensions import db
from app.integrations import store
from app.integrations.errors import IntegrationError, Refused
from app.integrations.messages import answer_lines, call_of
from app.models import Call, Event, Integration, Recording

TRIGGERS = {"call.ended": "When a call ends", "call.transcript_ready": "When its transcript is ready"}


def configure(
    organization_id, url: str, username: str, password: str | None, client_id: str | None, trigger: str
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
    }
    return store.save(organization_id, "lead_push", settings, secret)


def wants(row: Integration, event_type: str) -> bool:
    return row.status == "connected" and (row.settings or {}).get("trigger", "call.ended") == event_type


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
    history = conversation_history(recording) or _answers_history(call)
    contact = call.contact
    first, last = _split(contact.name if contact else None)
    body = {
        "firstName": first,
        "lastName": last,
        "email": (contact.email if contact else None) or "",
        "conversationHistory": history,
    }
    if row.settings.get("clientId"):
        body["clientId"] = row.settings["clientId"]
    return body


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
    secret = store.secret_of(row)
    credentials = base64.b64encode(f"{row.settings['username']}:{secret['password']}".encode()).decode()
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Authorization": f"Basic {credentials}",
        "X-IC-Event": event.type,
        "X-IC-Id": str(event.id),
    }
    response = outbound.post(
        row.settings["url"], json.dumps(body).encode(), headers, current_app.config["WEBHOOK_TIMEOUT_SECONDS"]
    )
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
