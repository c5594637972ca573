"""Recording events into the outbox. Delivery (webhooks, Slack, …) reads from there."""

from datetime import UTC, datetime

from app.extensions import db
from app.models.events import Event

EVENT_TYPES = (
    "call.requested", "call.accepted", "call.canceled", "call.missed", "call.ended",
    "call.transcript_ready", "call.recording_ready", "webhook.test",
)


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 in UTC with milliseconds and a Z, as every timestamp of the envelope."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_consumers = []  # functions(event_id: str) enqueued for every dispatched event


def on_event(func):
    """Register a consumer of every event (Slack, Discord, lead push): it is enqueued with the event's id.

    Register at import time of a module create_app imports, so the web processes and the workers
    all know it; a consumer is a plain job function taking the id, idempotent.
    """
    _consumers.append(func)
    return func


def consumers() -> list:
    return list(_consumers)


def record_event(organization_id, type_: str, data: dict) -> Event:
    """Add an event to the current transaction; the caller's commit makes it durable.

    The flush also adds the event's webhook deliveries (app/webhooks/dispatch.py); after the
    commit their jobs are enqueued.
    """
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_}")
    event = Event(organization_id=organization_id, type=type_, data=data)
    db.session.add(event)
    return event
