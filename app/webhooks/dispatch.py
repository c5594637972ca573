"""After a commit that recorded events, enqueue their dispatch (the transactional outbox).

The event rows are committed with the change that caused them; only then are jobs enqueued.
If Redis is down at that moment the events stay undispatched and the sweeper sends them later.
"""

import logging

from redis.exceptions import RedisError
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from app.models import Event

KEY = "converc_new_events"
log = logging.getLogger(__name__)


@sa_event.listens_for(Session, "after_flush")
def _collect(session, flush_context):
    # `session.new` still holds the objects this flush inserted
    for obj in session.new:
        if isinstance(obj, Event) and obj.dispatched_at is None:
            session.info.setdefault(KEY, []).append(str(obj.id))


@sa_event.listens_for(Session, "after_commit")
def _enqueue(session):
    event_ids = session.info.pop(KEY, None)
    if not event_ids:
        return
    from app.jobs import queue
    from app.webhooks.jobs import dispatch_event

    try:
        q = queue()
        q.enqueue_many([q.prepare_data(dispatch_event, (i,), result_ttl=0) for i in event_ids])
    except RedisError:
        log.warning("Redis unavailable: %d events left for the sweeper", len(event_ids), exc_info=True)


@sa_event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop(KEY, None)
