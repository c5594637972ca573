"""Webhook endpoints and delivering events to them: what the API, the dashboard and the jobs share."""

import email.utils
import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from app import outbound
from app.crypto import decrypt, encrypt
from app.events import EVENT_TYPES, iso
from app.extensions import db
from app.models import Event, Organization, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.models.base import utcnow
from app.webhooks import throttle
from app.webhooks.signing import new_secret, signed_headers

# Wait after attempt n (1-based) before attempt n+1: 8 attempts over 27 h 35 min, plus 0-10 % jitter.
RETRY_DELAYS = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
MAX_RETRY_AFTER = 24 * 3600


@dataclass(frozen=True)
class Outcome:
    """Where a delivery stands after an attempt, read before the commit expires the row."""

    id: uuid.UUID
    status: str
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None

    @classmethod
    def of(cls, delivery: WebhookDelivery) -> "Outcome":
        return cls(delivery.id, delivery.status, delivery.next_attempt_at, delivery.last_status_code,
                   delivery.last_error)


class InvalidWebhook(ValueError):
    """Bad input for an endpoint; `field` names what to fix."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def clean_events(events) -> list[str]:
    """The event filter: a list of known types; empty means every type."""
    if events is None:
        return []
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise InvalidWebhook("events", "events must be a list of event type names.")
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise InvalidWebhook("events", f"Unknown event type {unknown[0]!r}. "
                                       f"Known types: {', '.join(EVENT_TYPES)}.")
    return list(dict.fromkeys(events))


def clean_url(url) -> str:
    if not isinstance(url, str) or not url.strip():
        raise InvalidWebhook("url", "url is required: the https URL that receives the events.")
    if len(url) > 2048:
        raise InvalidWebhook("url", "url is longer than 2048 characters.")
    try:
        outbound.resolve(url)
    except outbound.UnsafeURL as e:
        raise InvalidWebhook("url", f"url is not allowed: {e}") from e
    return url.strip()


def create_endpoint(organization_id, url, events=None, source="api", description=None):
    """Check and store a new endpoint; returns (endpoint, secret): the secret is shown only now."""
    types, endpoint_url = clean_events(events), clean_url(url)
    secret = new_secret()
    endpoint = WebhookEndpoint(organization_id=organization_id, url=endpoint_url, events=types,
                               source=source, description=description, secret_encrypted=encrypt(secret))
    db.session.add(endpoint)
    db.session.commit()
    return endpoint, secret


def to_json(endpoint: WebhookEndpoint) -> dict:
    return {"id": str(endpoint.id), "url": endpoint.url, "events": list(endpoint.events or []),
            "isActive": endpoint.is_active, "createdAt": iso(endpoint.created_at),
            "updatedAt": iso(endpoint.updated_at)}


def disable(endpoint: WebhookEndpoint, reason: str | None = None) -> None:
    endpoint.is_active = False
    endpoint.disabled_reason = reason
    db.session.commit()


def enable(endpoint: WebhookEndpoint) -> None:
    endpoint.is_active, endpoint.disabled_reason, endpoint.failing_since = True, None, None
    db.session.commit()


def roll_secret(endpoint: WebhookEndpoint, overlap_hours: int) -> str:
    """A new secret; the old one keeps signing beside it for `overlap_hours` (0: retired now)."""
    secret = new_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted if overlap_hours else None
    endpoint.previous_secret_expires_at = utcnow() + timedelta(hours=overlap_hours) if overlap_hours else None
    endpoint.secret_encrypted = encrypt(secret)
    db.session.commit()
    return secret


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The current secret, then the previous one while its overlap lasts."""
    found = [decrypt(endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires and expires > utcnow():
        found.append(decrypt(endpoint.previous_secret_encrypted))
    return found


def body_of(event: Event) -> bytes:
    """The exact bytes that are signed and sent."""
    return json.dumps(event.envelope(), separators=(",", ":"), ensure_ascii=False).encode()


def send(endpoint: WebhookEndpoint, event: Event) -> outbound.Response | None:
    """One signed POST of the event to the endpoint (the URL is checked against SSRF again).

    None when the endpoint already has its share of requests in flight (it is slow).
    """
    token = uuid.uuid4().hex
    if not throttle.acquire(endpoint.id, token):
        return None
    try:
        return _post(endpoint, event)
    finally:
        throttle.release(endpoint.id, token)


def _post(endpoint: WebhookEndpoint, event: Event) -> outbound.Response:
    body = body_of(event)
    headers = signed_headers(signing_secrets(endpoint), str(event.id), event.type, int(time.time()), body)
    return outbound.post(endpoint.url, body, headers, current_app.config["WEBHOOK_TIMEOUT_SECONDS"])


# --- fan-out: one delivery row per (event, matching endpoint), in one transaction -----------------

def fan_out(event_id) -> list[str] | None:
    """Create the deliveries an event owes and mark it dispatched; None if another worker did it."""
    claimed = db.session.execute(
        sa.update(Event).where(Event.id == event_id, Event.dispatched_at.is_(None))
        .values(dispatched_at=utcnow()).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        db.session.rollback()
        return None
    event = db.session.get(Event, event_id)
    owed = set(db.session.scalars(
        sa.select(WebhookDelivery.endpoint_id).where(WebhookDelivery.event_id == event.id)))
    deliveries = [WebhookDelivery(id=uuid.uuid4(), organization_id=event.organization_id,
                                  endpoint_id=endpoint.id, event_id=event.id)
                  for endpoint in matching_endpoints(event) if endpoint.id not in owed]
    db.session.add_all(deliveries)
    db.session.commit()
    return [str(d.id) for d in deliveries]


def matching_endpoints(event: Event) -> list[WebhookEndpoint]:
    org = db.session.get(Organization, event.organization_id)
    if org is None or not org.webhooks_enabled:
        return []
    endpoints = db.session.scalars(sa.select(WebhookEndpoint).where(
        WebhookEndpoint.organization_id == event.organization_id, WebhookEndpoint.is_active))
    return [e for e in endpoints if e.wants(event.type)]


# --- one attempt ---------------------------------------------------------------------------------

def claim(delivery_id):
    """Take the delivery for this worker if it is owed, due and nobody else holds it: its endpoint id."""
    now = utcnow()
    # longer than the request can take: a live worker never loses its claim, a killed one frees it
    lease = timedelta(seconds=2 * current_app.config["WEBHOOK_TIMEOUT_SECONDS"] + 2)
    taken = db.session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending",
               WebhookDelivery.next_attempt_at <= now + timedelta(seconds=1),
               sa.or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now))
        .values(locked_until=now + lease).returning(WebhookDelivery.endpoint_id)
        .execution_options(synchronize_session=False)).scalar()
    db.session.commit()
    return taken


def _defer(delivery: WebhookDelivery) -> Outcome:
    """Put a claimed delivery back, due again in a few seconds (a minute if the endpoint is failing)."""
    seconds = 60 if delivery.endpoint.failing_since else random.uniform(5, 15)
    delivery.locked_until, delivery.next_attempt_at = None, utcnow() + timedelta(seconds=seconds)
    outcome = Outcome.of(delivery)
    db.session.commit()
    return outcome


def attempt(delivery_id, trigger: str = "auto") -> Outcome:
    """Make one attempt of a claimed delivery, log it, and decide what happens next."""
    delivery = db.session.get(WebhookDelivery, delivery_id, options=[
        sa.orm.joinedload(WebhookDelivery.endpoint), sa.orm.joinedload(WebhookDelivery.event)])
    endpoint, event = delivery.endpoint, delivery.event
    if trigger == "auto" and not _still_wanted(endpoint):
        delivery.status, delivery.locked_until, delivery.next_attempt_at = "canceled", None, None
        outcome = Outcome.of(delivery)
        db.session.commit()
        return outcome
    response = send(endpoint, event) if trigger != "test" else _post(endpoint, event)
    if response is None:
        return _defer(delivery)
    _log(delivery, response, trigger)
    if response.ok:
        _succeeded(delivery, endpoint)
    else:
        _failed(delivery, endpoint, response, retry=trigger == "auto")
    outcome = Outcome.of(delivery)
    db.session.commit()
    return outcome


def _still_wanted(endpoint: WebhookEndpoint) -> bool:
    return endpoint.is_active and db.session.scalar(
        sa.select(Organization.webhooks_enabled).where(Organization.id == endpoint.organization_id))


def _log(delivery: WebhookDelivery, response: outbound.Response, trigger: str) -> None:
    delivery.attempt_count += 1
    delivery.last_status_code, delivery.last_error = response.status, response.error or _http_error(response)
    db.session.add(WebhookAttempt(
        organization_id=delivery.organization_id, delivery_id=delivery.id, trigger=trigger,
        succeeded=response.ok, status_code=response.status, duration_ms=response.duration_ms,
        error=delivery.last_error, response_body=response.body))


def _http_error(response: outbound.Response) -> str | None:
    if response.ok:
        return None
    if 300 <= response.status < 400:
        return f"HTTP {response.status}: redirects are not followed, answer 2xx at this URL"
    return f"HTTP {response.status}"


def _succeeded(delivery: WebhookDelivery, endpoint: WebhookEndpoint) -> None:
    delivery.status, delivery.delivered_at = "succeeded", utcnow()
    delivery.next_attempt_at = delivery.locked_until = None
    if endpoint.failing_since is not None:
        endpoint.failing_since = None


def _failed(delivery, endpoint, response, retry: bool) -> None:
    now = utcnow()
    delay = retry_delay(delivery.attempt_count, response) if retry else None
    delivery.locked_until = None
    if delay is None:
        delivery.status, delivery.next_attempt_at = "failed", None
    else:
        delivery.next_attempt_at = now + timedelta(seconds=delay)
    endpoint.failing_since = endpoint.failing_since or now
    if response.status == 410:
        _auto_disable(endpoint, f"The endpoint answered 410 Gone on {iso(now)}: it asked us to stop.")
    elif now - endpoint.failing_since >= timedelta(days=current_app.config["WEBHOOK_DISABLE_AFTER_DAYS"]):
        _auto_disable(endpoint, f"Every delivery failed since {iso(endpoint.failing_since)} "
                                f"(last error: {delivery.last_error}).")


def _auto_disable(endpoint: WebhookEndpoint, reason: str) -> None:
    endpoint.is_active, endpoint.disabled_reason = False, reason[:500]
    current_app.logger.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)


def retry_delay(attempts_made: int, response: outbound.Response) -> float | None:
    """Seconds until the next attempt, or None when the schedule is used up."""
    if attempts_made >= MAX_ATTEMPTS:
        return None
    delay = RETRY_DELAYS[attempts_made - 1] * (1 + random.uniform(0, 0.1))
    if response.status in (429, 503):
        asked = retry_after_seconds(response.headers.get("Retry-After"))
        if asked is not None:
            delay = max(delay, min(asked, MAX_RETRY_AFTER))
    return delay


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After is delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# --- test events and redelivery ------------------------------------------------------------------

def send_test(endpoint: WebhookEndpoint) -> Outcome:
    """Deliver a webhook.test event to this endpoint only, now, and return the logged delivery."""
    from app.webhooks.samples import sample_data

    event = Event(organization_id=endpoint.organization_id, type="webhook.test",
                  data=sample_data(), dispatched_at=utcnow())
    delivery = WebhookDelivery(id=uuid.uuid4(), organization_id=endpoint.organization_id,
                               endpoint=endpoint, event=event)
    db.session.add_all([event, delivery])
    db.session.commit()
    claim(delivery.id)
    return attempt(delivery.id, trigger="test")


def prepare_redelivery(delivery: WebhookDelivery) -> None:
    """Owe the delivery again, now: the worker sends it with the same event id."""
    delivery.status, delivery.next_attempt_at, delivery.locked_until = "pending", utcnow(), None
    db.session.commit()
