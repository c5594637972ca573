"""RQ jobs of the event pipeline. Each takes ids and is idempotent: running it twice does no harm."""

import logging
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app.events import consumers, one_batch
from app.extensions import db
from app.jobs import enqueue, queue
from app.models import Event, WebhookAttempt, WebhookDelivery
from app.models.base import utcnow
from app.redis_store import get_redis
from app.webhooks import service

DISPATCH_QUEUED = "converc:events:dispatch-queued"
DISPATCH_BATCH = 100
DELIVERY_BATCH = 10  # an endpoint's deliveries per job: sent one after another on one connection
log = logging.getLogger(__name__)


def dispatch_event(event_id: str) -> int:
    """Fan an event out to its endpoints' deliveries and to the other consumers (Slack, …)."""
    owed = service.fan_out(uuid.UUID(event_id))
    if owed is None:
        return 0  # dispatched already
    if owed:
        enqueue_deliveries(owed)
    for consumer in consumers():
        enqueue(consumer, event_id)
    return len(owed)


def dispatch_pending_job(q) -> list:
    """The `dispatch_pending` job to enqueue, unless one is queued already (then: nothing).

    A burst of events costs one job rather than one per event. The flag expires: a job lost
    with it in place only delays its events until the flag or the sweeper's grace runs out."""
    if not get_redis().set(DISPATCH_QUEUED, "1", nx=True, ex=60):
        return []
    return [q.prepare_data(dispatch_pending, (), result_ttl=0)]


def dispatch_pending() -> int:
    """Dispatch the events committed and not dispatched yet, oldest first: the deliveries to
    endpoints added since they were committed, and their consumers."""
    get_redis().delete(DISPATCH_QUEUED)  # an event committed from now on queues another run
    # the events are held here, so the consumers' gets find them in the session
    events, owed = service.claim_undispatched(DISPATCH_BATCH)
    if owed:
        enqueue_deliveries(owed)
    with one_batch():
        for event in events:
            run_consumers(str(event.id))
    if len(events) == DISPATCH_BATCH:  # more are waiting: a job of their own
        q = queue()
        q.enqueue_many(dispatch_pending_job(q))
    return len(events)


def run_consumers(event_id: str) -> None:
    for consumer in consumers():
        try:
            consumer(event_id)
        except Exception:  # noqa: BLE001 — one consumer's failure must not cost the others their turn
            db.session.rollback()
            log.warning("%s failed on event %s: retried as a job of its own", consumer.__name__, event_id,
                        exc_info=True)
            enqueue(consumer, event_id)


def delivery_jobs(q, owed: list[tuple], trigger: str = "auto") -> list:
    """`deliver_batch` jobs to enqueue for (endpoint id, delivery id) pairs: each endpoint's in
    batches of DELIVERY_BATCH, so a burst costs a job per batch, and a slow endpoint's batch holds
    up only that endpoint's deliveries."""
    by_endpoint = {}
    for endpoint_id, delivery_id in owed:
        by_endpoint.setdefault(endpoint_id, []).append(str(delivery_id))
    return [q.prepare_data(deliver_batch, (ids[n:n + DELIVERY_BATCH], trigger), result_ttl=0, timeout=120)
            for ids in by_endpoint.values() for n in range(0, len(ids), DELIVERY_BATCH)]


def enqueue_deliveries(owed: list[tuple], trigger: str = "auto") -> None:
    q = queue()
    q.enqueue_many(delivery_jobs(q, owed, trigger))


def deliver_batch(delivery_ids: list[str], trigger: str = "auto") -> dict:
    """One attempt of each delivery that is due and free (the others are done, not due yet, or
    another worker's); a failure schedules its next attempt (RQ's scheduler), the database records
    it. The statuses by delivery id."""
    claimed = service.claim([uuid.UUID(i) for i in delivery_ids])
    if not claimed:
        db.session.rollback()
        return {}
    outcomes = service.attempt(claimed, trigger)
    for outcome in outcomes:
        if outcome.status == "pending":
            delay = (outcome.next_attempt_at - utcnow()).total_seconds()
            queue().enqueue_in(timedelta(seconds=max(delay, 0)), deliver, str(outcome.id), trigger,
                               result_ttl=0)
    return {str(outcome.id): outcome.status for outcome in outcomes}


def deliver(delivery_id: str, trigger: str = "auto") -> str:
    """One delivery's attempt (a retry, a redelivery)."""
    return deliver_batch([delivery_id], trigger).get(delivery_id, "not due or taken")


def sweep() -> dict:
    """The periodic pass (cron.py): dispatch what was left undispatched, re-enqueue overdue
    deliveries (their RQ job was lost with Redis or a killed worker), expire old logs."""
    cfg = current_app.config
    now = utcnow()
    grace = timedelta(seconds=cfg["OWED_SWEEP_SECONDS"])
    stale_events = db.session.scalars(sa.select(Event.id).where(
        Event.dispatched_at.is_(None), Event.created_at < now - min(grace, timedelta(seconds=5)))
        .order_by(Event.created_at).limit(500)).all()
    for event_id in stale_events:
        dispatch_event(str(event_id))
    overdue = db.session.execute(sa.select(WebhookDelivery.endpoint_id, WebhookDelivery.id).where(
        WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at < now - grace,
        sa.or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now))
        .limit(1000)).all()
    if overdue:
        enqueue_deliveries(overdue)
    expired = db.session.execute(sa.delete(WebhookAttempt).where(
        WebhookAttempt.attempted_at < now - timedelta(days=cfg["WEBHOOK_LOG_RETENTION_DAYS"]))).rowcount
    db.session.commit()
    return {"events": len(stale_events), "deliveries": len(overdue), "expiredAttempts": expired}
