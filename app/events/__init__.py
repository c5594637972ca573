"""Events: the one registry of event types, and recording events into the outbox.

Every module emits typed events through `record_event`; the registry (`app/events/registry.py`)
names each type with its payload schema and description. Webhooks (the dashboard's checkboxes,
the API's `events` filter), Zapier's triggers, `GET /webhooks/events` and the OpenAPI document read
the registry and nothing else. A new type: add it to registry.py (and an emitter to
tests/test_events_registry.py, which checks every registered type is emitted).
"""

import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.extensions import db
from app.models.events import Event


@dataclass(frozen=True)
class EventType:
    type: str
    description: str
    schema: dict  # JSON Schema of the envelope's `data`
    # (trigger key, label) when Zapier offers it as a trigger
    zapier: tuple[str, str] | None = None
    # False: sent only on request (webhook.test), not offered in subscriptions
    subscribable: bool = True
    example: dict | None = field(default=None, compare=False)


_registry: dict[str, EventType] = {}


def register(type_: str, description: str, schema: dict, *, zapier: tuple[str, str] | None = None,
             subscribable: bool = True, example: dict | None = None) -> EventType:
    """Add an event type; registering the same name twice is a programming error."""
    if type_ in _registry:
        raise ValueError(f"event type {type_} is registered twice")
    _registry[type_] = EventType(type_, description, schema, zapier, subscribable, example)
    return _registry[type_]


def event_types() -> tuple[str, ...]:
    """Every registered type name, in registration order."""
    return tuple(_registry)


def registered() -> list[EventType]:
    return list(_registry.values())


def event_type(type_: str) -> EventType | None:
    return _registry.get(type_)


def describe(type_: str) -> str:
    """What an event type means, in words (the call timeline); the type itself when unregistered."""
    found = _registry.get(type_)
    return found.description if found else type_


def zapier_triggers() -> dict[str, str]:
    """Zapier trigger key -> event type."""
    return {e.zapier[0]: e.type for e in _registry.values() if e.zapier}


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


_batch: ContextVar[dict | None] = ContextVar("events_batch", default=None)


@contextmanager
def one_batch():
    """Consumers run over a batch of events in here: what they `read_once` is read once for all."""
    token = _batch.set({})
    try:
        yield
    finally:
        _batch.reset(token)


def read_once(key: tuple, load):
    """`load()`, or within `one_batch()` what it returned for the same key earlier in the batch
    (an organization's integrations, its rules for a type: the same for every event of a burst)."""
    known = _batch.get()
    if known is None:
        return load()
    if key not in known:
        known[key] = load()
    return known[key]


def site_of(data: dict):
    """The site an event belongs to (a webhook endpoint may want only some sites' events)."""
    found = (data.get("call") or {}).get("siteId") or (data.get("site") or {}).get("id") \
        or (data.get("callback") or {}).get("siteId") or data.get("siteId")
    try:
        return uuid.UUID(str(found)) if found else None
    except ValueError:
        return None


def record_event(organization_id, type_: str, data: dict) -> Event:
    """Add an event to the current transaction; the caller's commit makes it durable.

    The flush also adds the event's webhook deliveries (app/webhooks/dispatch.py); after the
    commit their jobs are enqueued.
    """
    if type_ not in _registry:
        raise ValueError(f"unknown event type {type_}: register it in app/events/registry.py")
    event = Event(organization_id=organization_id, type=type_, data=data, site_id=site_of(data))
    db.session.add(event)
    return event


from app.events import registry  # noqa: E402,F401  (fills the registry)
