"""Webhook endpoints and delivering events to them: what the API, the dashboard and the jobs share."""

import email.utils
import json
import random
import time
import uuid
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from app import outbound
from app.crypto import decrypt, encrypt
from app.database import commit_keeping_loaded
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
    def of(cls, columns: dict) -> "Outcome":
        return cls(**{f.name: columns[f.name] for f in fields(cls)})


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


def _request(url: str, secrets_: list[str], event: Event) -> tuple[str, bytes, dict]:
    """The URL, the exact body and the signed headers of one POST of the event."""
    body = body_of(event)
    return url, body, signed_headers(secrets_, str(event.id), event.type, int(time.time()), body)


# --- fan-out: one delivery row per (event, matching endpoint), in one transaction -----------------

def fan_out(event_id) -> list[tuple] | None:
    """Create the deliveries an event owes and mark it dispatched; None if another worker did it."""
    claimed = db.session.execute(
        sa.update(Event).where(Event.id == event_id, Event.dispatched_at.is_(None))
        .values(dispatched_at=utcnow()).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        db.session.rollback()
        return None
    owed = owe_deliveries([db.session.get(Event, event_id)])
    db.session.commit()
    return owed


def claim_undispatched(limit: int) -> tuple[list[Event], list[tuple]]:
    """Mark up to `limit` undispatched events dispatched, oldest first, with the deliveries they
    still owe: the events (loaded) and the new deliveries' (endpoint id, id)."""
    due = sa.select(Event.id).where(Event.dispatched_at.is_(None)).order_by(Event.created_at).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)  # two workers take different events
    events = db.session.scalars(
        sa.update(Event).where(Event.id.in_(due.scalar_subquery()), Event.dispatched_at.is_(None))
        .values(dispatched_at=utcnow()).returning(Event)).all()
    owed = owe_deliveries(events) if events else []
    commit_keeping_loaded()  # an event does not change: its consumers read it from the session
    return events, owed


def owe_deliveries(events: list[Event]) -> list[tuple]:
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
    return [(d.endpoint_id, d.id) for d in deliveries]


# --- attempts: a job's deliveries, one endpoint's after another on one of its slots ---------------

def claim(delivery_ids) -> list[uuid.UUID]:
    """Take for this worker the deliveries that are owed, due and held by nobody: their ids.

    The claim is committed by `attempt`, which reads the deliveries in the same transaction.
    """
    now = utcnow()
    return list(db.session.scalars(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(delivery_ids), WebhookDelivery.status == "pending",
               WebhookDelivery.next_attempt_at <= now + timedelta(seconds=1),
               sa.or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now))
        .values(locked_until=now + timedelta(seconds=throttle.lease())).returning(WebhookDelivery.id)
        .execution_options(synchronize_session=False)))


# seconds to wait for a busy endpoint's slot, by trigger: a person waits on a test, while a batch
# would otherwise be put back for seconds (busy slots turn over within a batch of fast requests)
SLOT_WAIT = {"test": 0.25, "auto": 2.0, "manual": 2.0}


def attempt(delivery_ids, trigger: str = "auto") -> list[Outcome]:
    """Make one attempt of each claimed delivery, log them, and decide what happens next.

    An endpoint's deliveries go out one after another, on one of its slots and one kept-alive
    connection. What the attempts changed is written in one transaction at the end: a worker
    killed before then leaves them claimed, and they are sent again once the claim runs out.
    """
    started = time.monotonic()
    deliveries, unwanted = _claimed(delivery_ids, trigger)
    commit_keeping_loaded()  # the claim (the deliveries are ours); no connection is held during the requests
    results = []
    for endpoint, group in _by_endpoint(deliveries):
        results += _send_all(endpoint, group, started, SLOT_WAIT[trigger])
    return _record(results, trigger) + unwanted


def _claimed(delivery_ids, trigger: str) -> tuple[list[WebhookDelivery], list[Outcome]]:
    """The claimed deliveries to send, each with its endpoint and event; the ones nobody wants any
    more (endpoint or organization switched off since) are canceled."""
    rows = db.session.execute(
        sa.select(WebhookDelivery, Organization.webhooks_enabled)
        .join(Organization, Organization.id == WebhookDelivery.organization_id)
        .where(WebhookDelivery.id.in_(delivery_ids))
        .options(sa.orm.joinedload(WebhookDelivery.endpoint), sa.orm.joinedload(WebhookDelivery.event))).all()
    wanted, unwanted = [], []
    for delivery, enabled in rows:
        if trigger != "auto" or (enabled and delivery.endpoint.is_active):
            wanted.append(delivery)
        else:
            unwanted.append(_columns(delivery, status="canceled", next_attempt_at=None))
    _update(unwanted)
    return wanted, [Outcome.of(c) for c in unwanted]


def _by_endpoint(deliveries: list[WebhookDelivery]):
    groups = {}
    for delivery in deliveries:
        groups.setdefault(delivery.endpoint_id, []).append(delivery)
    return [(group[0].endpoint, group) for group in groups.values()]


def _send_all(endpoint: WebhookEndpoint, group: list[WebhookDelivery], started: float,
              slot_wait: float) -> list[tuple]:
    """(delivery, response) for each of the endpoint's deliveries, None for those not sent.

    Not sent: all when the endpoint has its share of requests in flight already (it is slow);
    the rest after a request without an answer (the endpoint is down or slow, and each would
    hold this thread for the timeout), and any the claim might not outlast.
    """
    timeout, token = current_app.config["WEBHOOK_TIMEOUT_SECONDS"], uuid.uuid4().hex
    last_start = started + throttle.lease() - timeout - 1
    if not throttle.acquire(endpoint.id, token, slot_wait):
        return [(delivery, None) for delivery in group]
    sent, secrets_ = [], signing_secrets(endpoint)
    try:
        for delivery in group:
            if time.monotonic() > last_start or (sent and sent[-1][1].status is None):
                break
            if sent:
                throttle.renew(endpoint.id, token)
            sent.append((delivery, outbound.post(*_request(endpoint.url, secrets_, delivery.event), timeout)))
    finally:
        throttle.release(endpoint.id, token)
    return sent + [(delivery, None) for delivery in group[len(sent):]]


def _record(results: list[tuple], trigger: str) -> list[Outcome]:
    """Write each delivery's new state and its attempt (plain statements, no ORM flush); commit."""
    now = utcnow()
    changes = [_after(delivery, response, trigger, now) for delivery, response in results]
    attempts = [_attempt_row(delivery, response, trigger, now, change["last_error"])
                for (delivery, response), change in zip(results, changes, strict=True) if response]
    _update(changes)
    if attempts:
        db.session.execute(sa.insert(WebhookAttempt), attempts)
    db.session.commit()
    return [Outcome.of(change) for change in changes]


def _update(changes: list[dict]) -> None:
    """One UPDATE by primary key for them all (each dict has the same columns)."""
    if changes:
        db.session.execute(sa.update(WebhookDelivery), changes)


KEPT = ("status", "attempt_count", "next_attempt_at", "last_status_code", "last_error", "delivered_at")


def _columns(delivery: WebhookDelivery, **changed) -> dict:
    """The delivery's columns after an attempt, released from its claim: as they were unless given."""
    return {"id": delivery.id, "locked_until": None, **{k: getattr(delivery, k) for k in KEPT}, **changed}


def _after(delivery, response: outbound.Response | None, trigger: str, now) -> dict:
    """The delivery's new state: sent (and succeeded or failed) or not sent."""
    endpoint = delivery.endpoint
    if response is None:
        return _not_sent(delivery) if trigger == "test" else _deferred(delivery, now)
    error = response.error or _http_error(response)
    if response.ok:
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
        return _columns(delivery, status="succeeded", next_attempt_at=None, last_status_code=response.status,
                        last_error=None, attempt_count=delivery.attempt_count + 1, delivered_at=now)
    delay = retry_delay(delivery.attempt_count + 1, response) if trigger == "auto" else None
    _endpoint_failed(endpoint, response, error, now)
    return _columns(delivery, status="failed" if delay is None else "pending",
                    next_attempt_at=None if delay is None else now + timedelta(seconds=delay),
                    last_status_code=response.status, last_error=error,
                    attempt_count=delivery.attempt_count + 1)


def _attempt_row(delivery, response: outbound.Response, trigger: str, now, error) -> dict:
    return {"id": uuid.uuid4(), "organization_id": delivery.organization_id, "delivery_id": delivery.id,
            "attempted_at": now, "trigger": trigger, "succeeded": response.ok,
            "status_code": response.status, "duration_ms": response.duration_ms, "error": error,
            "response_body": response.body}


def _deferred(delivery: WebhookDelivery, now) -> dict:
    """Put back unsent, due again in a few seconds (a minute if the endpoint is failing)."""
    seconds = 60 if delivery.endpoint.failing_since else random.uniform(5, 15)
    return _columns(delivery, next_attempt_at=now + timedelta(seconds=seconds))


def _not_sent(delivery: WebhookDelivery) -> dict:
    """A test the endpoint had no free slot for: say so at once rather than queue behind slow requests."""
    limit = current_app.config["WEBHOOK_ENDPOINT_CONCURRENCY"]
    return _columns(delivery, status="failed", next_attempt_at=None, last_status_code=None,
                    last_error=(f"Not sent: this endpoint already has {limit} requests in flight (it is "
                                "slow to answer). Try again when they have finished."))


def _http_error(response: outbound.Response) -> str | None:
    if response.ok:
        return None
    if 300 <= response.status < 400:
        return f"HTTP {response.status}: redirects are not followed, answer 2xx at this URL"
    return f"HTTP {response.status}"


def _endpoint_failed(endpoint: WebhookEndpoint, response: outbound.Response, error: str, now) -> None:
    endpoint.failing_since = endpoint.failing_since or now
    if response.status == 410:
        _auto_disable(endpoint, f"The endpoint answered 410 Gone on {iso(now)}: it asked us to stop.")
    elif now - endpoint.failing_since >= timedelta(days=current_app.config["WEBHOOK_DISABLE_AFTER_DAYS"]):
        _auto_disable(endpoint, f"Every delivery failed since {iso(endpoint.failing_since)} "
                                f"(last error: {error}).")


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
    [outcome] = attempt(claim([delivery.id]), trigger="test")
    return outcome


def prepare_redelivery(delivery: WebhookDelivery) -> None:
    """Owe the delivery again, now: the worker sends it with the same event id."""
    delivery.status, delivery.next_attempt_at, delivery.locked_until = "pending", utcnow(), None
    db.session.commit()
