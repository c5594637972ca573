"""RQ jobs of the event pipeline. Each takes ids and is idempotent: running it twice does no harm."""

import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from redis.exceptions import RedisError

from app.events import consumers
from app.extensions import db
from app.jobs import enqueue, queue
from app.models import Event, WebhookAttempt, WebhookDelivery
from app.models.base import utcnow
from app.redis_store import get_redis
from app.webhooks import service

SWEEP_KEY = "converc:webhooks:sweep-scheduled"


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


def enqueue_deliveries(delivery_ids: list[str], trigger: str = "auto") -> None:
    q = queue()
    q.enqueue_many([q.prepare_data(deliver, (d, trigger), result_ttl=0, timeout=120) for d in delivery_ids])


def deliver(delivery_id: str, trigger: str = "auto") -> str:
    """One attempt; a failure schedules the next one (RQ's scheduler) and the database records it."""
    if service.claim(uuid.UUID(delivery_id)) is None:
        return "not due or taken"  # done already, not due yet, or another worker holds it
    delivery = service.attempt(uuid.UUID(delivery_id), trigger)
    if delivery.status == "pending":
        delay = (delivery.next_attempt_at - utcnow()).total_seconds()
        queue().enqueue_in(timedelta(seconds=max(delay, 0)), deliver, delivery_id, trigger, result_ttl=0)
    return delivery.status


def sweep() -> dict:
    """Dispatch what was left undispatched, re-enqueue overdue deliveries, expire old logs."""
    cfg = current_app.config
    now = utcnow()
    grace = timedelta(seconds=cfg["WEBHOOK_SWEEP_SECONDS"])
    stale_events = db.session.scalars(sa.select(Event.id).where(
        Event.dispatched_at.is_(None), Event.created_at < now - timedelta(seconds=5))
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


def periodic_sweep() -> dict:
    """The sweep, then the next one: one chain of sweeps runs, however many workers start it."""
    result = sweep()
    get_redis().delete(SWEEP_KEY)
    ensure_sweeper()
    return result


def ensure_sweeper() -> None:
    """Schedule the next sweep unless one is already scheduled (SET NX guards the chain)."""
    seconds = max(current_app.config["WEBHOOK_SWEEP_SECONDS"], 1)
    try:
        if get_redis().set(SWEEP_KEY, "1", nx=True, ex=seconds * 3):
            queue().enqueue_in(timedelta(seconds=seconds), periodic_sweep, result_ttl=0)
    except RedisError:
        current_app.logger.warning("could not schedule the webhook sweeper", exc_info=True)
