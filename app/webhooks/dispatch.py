"""The transactional outbox: an event's deliveries are written in the same transaction as the event.

`before_flush` adds one delivery row per matching endpoint for every new event, so the change,
its event and what the event owes are committed together; only after the commit are the
delivery jobs enqueued. If Redis is down at that moment, the rows stay pending and the sweeper
enqueues them later. Consumers of every event (Slack, …) get a `dispatch_event` job.
"""

import logging
import uuid

import sqlalchemy as sa
from redis.exceptions import RedisError
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from app.events import consumers
from app.models import Event, Organization, WebhookDelivery, WebhookEndpoint
from app.models.base import utcnow

DELIVERIES, EVENTS = "converc_new_deliveries", "converc_undispatched_events"
log = logging.getLogger(__name__)


@sa_event.listens_for(Session, "before_flush")
def _add_deliveries(session, flush_context, instances):
    new_events = [o for o in session.new if isinstance(o, Event) and o.dispatched_at is None]
    for event in new_events:
        event.id = event.id or uuid.uuid4()
        with session.no_autoflush:
            endpoints = _matching(session, event)
        for endpoint_id in endpoints:
            delivery = WebhookDelivery(id=uuid.uuid4(), organization_id=event.organization_id,
                                       endpoint_id=endpoint_id, event_id=event.id)
            session.add(delivery)
            session.info.setdefault(DELIVERIES, []).append(str(delivery.id))
        if consumers():
            session.info.setdefault(EVENTS, []).append(str(event.id))  # dispatch_event runs them
        else:
            event.dispatched_at = utcnow()


def _matching(session, event: Event) -> list:
    rows = session.execute(
        sa.select(WebhookEndpoint.id, WebhookEndpoint.events)
        .join(Organization, Organization.id == WebhookEndpoint.organization_id)
        .where(WebhookEndpoint.organization_id == event.organization_id, WebhookEndpoint.is_active,
               Organization.webhooks_enabled))
    return [endpoint_id for endpoint_id, types in rows if not types or event.type in types]


@sa_event.listens_for(Session, "after_commit")
def _enqueue(session):
    delivery_ids, event_ids = session.info.pop(DELIVERIES, None), session.info.pop(EVENTS, None)
    if not delivery_ids and not event_ids:
        return
    from app.jobs import queue
    from app.webhooks.jobs import deliver, dispatch_event

    try:
        q = queue()
        jobs = [q.prepare_data(deliver, (i, "auto"), result_ttl=0, timeout=120) for i in delivery_ids or []]
        jobs += [q.prepare_data(dispatch_event, (i,), result_ttl=0) for i in event_ids or []]
        q.enqueue_many(jobs)
    except RedisError:
        log.warning("Redis unavailable: deliveries left for the sweeper", exc_info=True)


@sa_event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop(DELIVERIES, None)
    session.info.pop(EVENTS, None)
