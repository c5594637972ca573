"""The transactional outbox: an event's deliveries are written in the same transaction as the event.

`before_flush` adds one delivery row per matching endpoint for every new event, so the change,
its event and what the event owes are committed together; only after the commit are the
delivery jobs enqueued. If Redis is down at that moment, the rows stay pending and the sweeper
enqueues them later. Consumers of every event (Slack, automations, …) run in a `dispatch_pending`
job, one queued at a time whatever the number of events committed (the sweeper is the backstop).
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
from app.models.webhooks import wants_site

DELIVERIES, EVENTS = "converc_new_deliveries", "converc_undispatched_events"
log = logging.getLogger(__name__)


@sa_event.listens_for(Session, "before_flush")
def _add_deliveries(session, flush_context, instances):
    new_events = [o for o in session.new if isinstance(o, Event) and o.dispatched_at is None]
    changing = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(o, WebhookEndpoint | Organization) for o in changing):
        session.info.pop(ENDPOINTS, None)  # what an endpoint wants may change in this flush
    for event in new_events:
        event.id = event.id or uuid.uuid4()
        with session.no_autoflush:
            endpoints = _matching(session, event)
        for endpoint_id in endpoints:
            delivery = WebhookDelivery(id=uuid.uuid4(), organization_id=event.organization_id,
                                       endpoint_id=endpoint_id, event_id=event.id)
            session.add(delivery)
            session.info.setdefault(DELIVERIES, []).append((endpoint_id, delivery.id))
        if consumers():
            session.info.setdefault(EVENTS, []).append(str(event.id))  # dispatch_event runs them
        else:
            event.dispatched_at = utcnow()


ENDPOINTS = "converc_endpoints"  # session.info: org id -> its active endpoints, this transaction


def _matching(session, event: Event) -> list:
    # read once per transaction: a call request records three or four events of one organization
    known = session.info.setdefault(ENDPOINTS, {})
    if event.organization_id not in known:
        known[event.organization_id] = session.execute(
            sa.select(WebhookEndpoint.id, WebhookEndpoint.events, WebhookEndpoint.sites)
            .join(Organization, Organization.id == WebhookEndpoint.organization_id)
            .where(WebhookEndpoint.organization_id == event.organization_id, WebhookEndpoint.is_active,
                   Organization.webhooks_enabled)).all()
    return [endpoint_id for endpoint_id, types, sites in known[event.organization_id]
            if (not types or event.type in types) and wants_site(sites, event.site_id)]


HELD = "converc_jobs_held"  # session.info key: this transaction's jobs wait for release()


def hold(session) -> None:
    """The next commit keeps its jobs until `release`: a caller with something more urgent to
    send first (the ring) sends it, then releases. The rows are committed all the same, so jobs
    a crash keeps from being released are the sweeper's."""
    session.info[HELD] = True


def release(session) -> None:
    session.info.pop(HELD, None)
    _enqueue(session)


@sa_event.listens_for(Session, "after_commit")
def _enqueue(session):
    session.info.pop(ENDPOINTS, None)
    if session.info.get(HELD):
        return
    owed, event_ids = session.info.pop(DELIVERIES, None), session.info.pop(EVENTS, None)
    if not owed and not event_ids:
        return
    from app.jobs import queue
    from app.webhooks.jobs import delivery_jobs, dispatch_pending_job

    try:
        q = queue()
        jobs = delivery_jobs(q, owed or [])
        if event_ids:
            jobs += dispatch_pending_job(q)
        q.enqueue_many(jobs)
    except RedisError:
        log.warning("Redis unavailable: deliveries left for the sweeper", exc_info=True)


@sa_event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop(ENDPOINTS, None)
    session.info.pop(HELD, None)
    session.info.pop(DELIVERIES, None)
    session.info.pop(EVENTS, None)
