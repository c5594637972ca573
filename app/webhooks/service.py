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
from app.events import event_types, iso
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
    known = event_types()
    unknown = [e for e in events if e not in known]
    if unknown:
        raise InvalidWebhook("events", f"Unknown event type {unknown[0]!r}. "
                                       f"Known types: {', '.join(known)}.")
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


def clean_sites(organization_id, sites) -> list[str]:
    """The site filter: ids of the organization's sites; empty means every site."""
    from app.models import Site

    if sites is None:
        return []
    if not isinstance(sites, list) or not all(isinstance(s, str) for s in sites) or len(sites) > 500:
        raise InvalidWebhook("sites", "sites must be a list of site ids.")
    try:
        wanted = list(dict.fromkeys(uuid.UUID(s) for s in sites))
    except ValueError as e:
        raise InvalidWebhook("sites", "sites must be a list of site ids (UUIDs).") from e
    known = set(db.session.scalars(sa.select(Site.id).where(
        Site.organization_id == organization_id, Site.id.in_(wanted)))) if wanted else set()
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise InvalidWebhook("sites", f"sites: site {unknown[0]} not found.")
    return [str(s) for s in wanted]


def create_endpoint(organization_id, url, events=None, source="api", description=None, sites=None):
    """Check and store a new endpoint; returns (endpoint, secret): the secret is shown only now."""
    types, endpoint_url = clean_events(events), clean_url(url)
    site_ids = clean_sites(organization_id, sites)
    secret = new_secret()
    endpoint = WebhookEndpoint(organization_id=organization_id, url=endpoint_url, events=types,
                               sites=site_ids, source=source, description=description,
                               secret_encrypted=encrypt(secret))
    db.session.add(endpoint)
    db.session.commit()
    return endpoint, secret


def to_json(endpoint: WebhookEndpoint) -> dict:
    """The seed's webhook object; `sites` is additive (and only present when a filter is set)."""
    body = {"id": str(endpoint.id), "url": endpoint.url, "events": list(endpoint.events or []),
            "isActive": endpoint.is_active, "createdAt": iso(endpoint.created_at),
            "updatedAt": iso(endpoint.updated_at)}
    if endpoint.sites:
        body["sites"] = list(endpoint.sites)
    return body


def disable(endpoint: WebhookEndpoint, reason: str | None = None) -> None:
    was_active = endpoint.is_active
    endpoint.is_active = False
    endpoint.disabled_reason = reason
    if was_active:
        record_disabled(endpoint, reason or "Disabled.")
    db.session.commit()


def record_disabled(endpoint: WebhookEndpoint, reason: str) -> None:
    """webhook.disabled, with the reason, to the organization's other endpoints."""
    from app.events import record_event

    record_event(endpoint.organization_id, "webhook.disabled",
                 {"webhook": to_json(endpoint), "reason": reason})


UPDATABLE = ("url", "events", "enabled", "sites")


def update_endpoint(endpoint: WebhookEndpoint, data: dict) -> WebhookEndpoint:
    """PATCH: any of url, events, enabled, sites; the rest stays. Checked before anything changes."""
    unknown = sorted(set(data) - set(UPDATABLE))
    if unknown:
        raise InvalidWebhook(unknown[0],
                             f"Unknown field {unknown[0]}: you can change {', '.join(UPDATABLE)}.")
    enabled = data.get("enabled", endpoint.is_active)
    if not isinstance(enabled, bool):
        raise InvalidWebhook("enabled", "enabled must be true or false.")
    changes = {}
    if "url" in data:
        changes["url"] = clean_url(data["url"])
    if "events" in data:
        changes["events"] = clean_events(data["events"])
    if "sites" in data:
        changes["sites"] = clean_sites(endpoint.organization_id, data["sites"])
    for field, value in changes.items():
        setattr(endpoint, field, value)
    if enabled and not endpoint.is_active:
        enable(endpoint)
    elif not enabled and endpoint.is_active:
        disable(endpoint, "Disabled through the API.")
    db.session.commit()
    return endpoint


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


def _request(endpoint: WebhookEndpoint, event: Event) -> tuple[str, bytes, dict]:
    """The URL, the exact body and the signed headers of one POST of the event to the endpoint."""
    body = body_of(event)
    headers = signed_headers(signing_secrets(endpoint), str(event.id), event.type, int(time.time()), body)
    return endpoint.url, body, headers


def send(endpoint_id, request: tuple[str, bytes, dict]) -> outbound.Response | None:
    """One signed POST (the URL is checked against SSRF again); hold no database connection meanwhile.

    None when the endpoint already has its share of requests in flight (it is slow).
    """
    token = uuid.uuid4().hex
    if not throttle.acquire(endpoint_id, token):
        return None
    try:
        return outbound.post(*request, current_app.config["WEBHOOK_TIMEOUT_SECONDS"])
    finally:
        throttle.release(endpoint_id, token)


def _commit_keeping_loaded() -> None:
    """Commit, keeping the loaded rows as they are: the delivery is ours (claimed), so reading it
    again after the request would only cost round trips."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


# --- fan-out: one delivery row per (event, matching endpoint), in one transaction -----------------

def fan_out(event_id) -> list[str] | None:
    """Create the deliveries an event owes and mark it dispatched; None if another worker did it."""
    claimed = db.session.execute(
        sa.update(Event).where(Event.id == event_id, Event.dispatched_at.is_(None))
        .values(dispatched_at=utcnow()).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        db.session.rollback()
        return None
    delivery_ids = owe_deliveries([db.session.get(Event, event_id)])
    db.session.commit()
    return delivery_ids


def claim_undispatched(limit: int) -> tuple[list[Event], list[str]]:
    """Mark up to `limit` undispatched events dispatched, oldest first, with the deliveries they
    still owe: the events (loaded) and the new deliveries' ids."""
    due = sa.select(Event.id).where(Event.dispatched_at.is_(None)).order_by(Event.created_at).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)  # two workers take different events
    events = db.session.scalars(
        sa.update(Event).where(Event.id.in_(due.scalar_subquery()), Event.dispatched_at.is_(None))
        .values(dispatched_at=utcnow()).returning(Event)).all()
    delivery_ids = owe_deliveries(events) if events else []
    _commit_keeping_loaded()  # an event does not change: its consumers read it from the session
    return events, delivery_ids


def owe_deliveries(events: list[Event]) -> list[str]:
    """Add the deliveries the events owe and lack (an endpoint added since they were committed)."""
    owed = set(db.session.execute(sa.select(WebhookDelivery.event_id, WebhookDelivery.endpoint_id)
                                  .where(WebhookDelivery.event_id.in_([e.id for e in events]))).all())
    endpoints = db.session.scalars(
        sa.select(WebhookEndpoint).join(Organization, Organization.id == WebhookEndpoint.organization_id)
        .where(WebhookEndpoint.organization_id.in_({e.organization_id for e in events}),
               WebhookEndpoint.is_active, Organization.webhooks_enabled)).all()
    deliveries = [WebhookDelivery(id=uuid.uuid4(), organization_id=event.organization_id,
                                  endpoint_id=endpoint.id, event_id=event.id)
                  for event in events for endpoint in endpoints
                  if endpoint.organization_id == event.organization_id and (event.id, endpoint.id) not in owed
                  and endpoint.wants(event.type, event.site_id)]
    db.session.add_all(deliveries)
    return [str(d.id) for d in deliveries]


# --- one attempt ---------------------------------------------------------------------------------

def claim(delivery_id):
    """Take the delivery for this worker if it is owed, due and nobody else holds it: its endpoint id.

    The claim is committed by `attempt`, which reads the delivery in the same transaction.
    """
    now = utcnow()
    # longer than the request can take: a live worker never loses its claim, a killed one frees it
    lease = timedelta(seconds=2 * current_app.config["WEBHOOK_TIMEOUT_SECONDS"] + 2)
    return db.session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending",
               WebhookDelivery.next_attempt_at <= now + timedelta(seconds=1),
               sa.or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now))
        .values(locked_until=now + lease).returning(WebhookDelivery.endpoint_id)
        .execution_options(synchronize_session=False)).scalar()


def _defer(delivery: WebhookDelivery) -> Outcome:
    """Put a claimed delivery back, due again in a few seconds (a minute if the endpoint is failing)."""
    seconds = 60 if delivery.endpoint.failing_since else random.uniform(5, 15)
    delivery.locked_until, delivery.next_attempt_at = None, utcnow() + timedelta(seconds=seconds)
    outcome = Outcome.of(delivery)
    db.session.commit()
    return outcome


def attempt(delivery_id, trigger: str = "auto") -> Outcome:
    """Make one attempt of a claimed delivery, log it, and decide what happens next."""
    delivery, wanted = db.session.execute(
        sa.select(WebhookDelivery, Organization.webhooks_enabled)
        .join(Organization, Organization.id == WebhookDelivery.organization_id)
        .where(WebhookDelivery.id == delivery_id)
        .options(sa.orm.joinedload(WebhookDelivery.endpoint), sa.orm.joinedload(WebhookDelivery.event))).one()
    endpoint, event = delivery.endpoint, delivery.event
    if trigger == "auto" and not (endpoint.is_active and wanted):
        delivery.status, delivery.locked_until, delivery.next_attempt_at = "canceled", None, None
        outcome = Outcome.of(delivery)
        db.session.commit()
        return outcome
    request = _request(endpoint, event)
    _commit_keeping_loaded()  # the claim; and no connection is held during the request
    response = send(endpoint.id, request)
    if response is None:
        return _not_sent(delivery) if trigger == "test" else _defer(delivery)
    _log(delivery, response, trigger)
    if response.ok:
        _succeeded(delivery, endpoint)
    else:
        _failed(delivery, endpoint, response, retry=trigger == "auto")
    outcome = Outcome.of(delivery)
    db.session.commit()
    return outcome


def _not_sent(delivery: WebhookDelivery) -> Outcome:
    """A test the endpoint had no free slot for: say so at once rather than queue behind slow requests."""
    limit = current_app.config["WEBHOOK_ENDPOINT_CONCURRENCY"]
    delivery.status, delivery.locked_until, delivery.next_attempt_at = "failed", None, None
    delivery.last_status_code = None
    delivery.last_error = (f"Not sent: this endpoint already has {limit} requests in flight (it is slow "
                           "to answer). Try again when they have finished.")
    outcome = Outcome.of(delivery)
    db.session.commit()
    return outcome


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
    was_active = endpoint.is_active
    endpoint.is_active, endpoint.disabled_reason = False, reason[:500]
    if was_active:
        record_disabled(endpoint, reason[:500])
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
    """Deliver a webhook.test event to this endpoint only, now, and return the logged delivery.

    The test takes one of the endpoint's WEBHOOK_ENDPOINT_CONCURRENCY slots like any delivery, so
    tests cannot pile up on a slow endpoint (one without a free slot answers at once that it was
    not sent), and it waits at most WEBHOOK_TIMEOUT_SECONDS for the endpoint's answer."""
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
