"""RQ jobs of the event pipeline. Each takes ids and is idempotent: running it twice does no harm."""

import logging
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app.events import consumers
from app.extensions import db
from app.jobs import enqueue, queue
from app.models import Event, WebhookAttempt, WebhookDelivery
from app.models.base import utcnow
from app.redis_store import get_redis
from app.webhooks import service

DISPATCH_QUEUED = "converc:events:dispatch-queued"
DISPATCH_BATCH = 100
log = logging.getLogger(__name__)


def dispatch_event(event_id: str) -> int:
    """Fan an event out to its endpoints' deliveries and to the other consumers (Slack, …)."""
    delivery_ids = service.fan_out(uuid.UUID(event_id))
    if delivery_ids is None:
        return 0  # dispatched already
    if delivery_ids:
        enqueue_deliveries(delivery_ids)
    for consumer in consumers():
        enqueue(consumer, event_id)
    return len(delivery_ids)


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
    events, delivery_ids = service.claim_undispatched(DISPATCH_BATCH)
    if delivery_ids:
        enqueue_deliveries(delivery_ids)
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


def enqueue_deliveries(delivery_ids: list[str], trigger: str = "auto") -> None:
    q = queue()
    q.enqueue_many([q.prepare_data(deliver, (d, trigger), result_ttl=0, timeout=120) for d in delivery_ids])


def deliver(delivery_id: str, trigger: str = "auto") -> str:
    """One attempt; a failure schedules the next one (RQ's scheduler) and the database records it."""
    if service.claim(uuid.UUID(delivery_id)) is None:
        db.session.rollback()
        return "not due or taken"  # done already, not due yet, or another worker holds it
    delivery = service.attempt(uuid.UUID(delivery_id), trigger)
    if delivery.status == "pending":
        delay = (delivery.next_attempt_at - utcnow()).total_seconds()
        queue().enqueue_in(timedelta(seconds=max(delay, 0)), deliver, delivery_id, trigger, result_ttl=0)
    return delivery.status


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
    overdue = db.session.scalars(sa.select(WebhookDelivery.id).where(
        WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at < now - grace,
        sa.or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now))
        .limit(1000)).all()
    if overdue:
        enqueue_deliveries([str(i) for i in overdue])
    expired = db.session.execute(sa.delete(WebhookAttempt).where(
        WebhookAttempt.attempted_at < now - timedelta(days=cfg["WEBHOOK_LOG_RETENTION_DAYS"]))).rowcount
    db.session.commit()
    return {"events": len(stale_events), "deliveries": len(overdue), "expiredAttempts": expired}
