"""Integration jobs: every event goes to the organization's Slack, Discord and lead push; calendars sync.

Plain functions taking ids, idempotent: a delivery row per (integration, event) records what was
sent, so a retried or duplicated job sends nothing twice.
"""

import logging
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from rq import Retry, get_current_job
from sqlalchemy.exc import IntegrityError

from app.events import on_event, read_once
from app.extensions import db
from app.integrations import discord, google_calendar, lead_push, messages, slack, store
from app.integrations.errors import IntegrationError, RateLimited, Refused, Skipped
from app.jobs import enqueue, job_alive, queue
from app.models import CalendarConnection, Event, Integration, IntegrationDelivery
from app.models.base import utcnow

log = logging.getLogger(__name__)
# 5xx and timeouts: five more tries over about 40 minutes
RETRY = Retry(max=5, interval=[10, 60, 300, 900, 1800])


def _wants(row: Integration, event: Event) -> bool:
    if row.kind == "lead_push":
        return lead_push.wants(row, event.type)
    if event.type not in messages.NOTIFIED:
        return False
    if not (slack.ready(row) if row.kind == "slack" else discord.ready(row)):
        return False
    # the event type's default automation rule (Automations page) may be off or have conditions
    from app.automations.service import alert_wanted

    return alert_wanted(event, row.kind)


@on_event
def integrations_for_event(event_id: str) -> int:
    """Enqueue one send per integration of the event's organization that wants this event."""
    event = db.session.get(Event, uuid.UUID(event_id))
    if event is None:
        return 0
    rows = read_once(("integrations", event.organization_id), lambda: db.session.scalars(
        sa.select(Integration).where(Integration.organization_id == event.organization_id)).all())
    wanted = [row for row in rows if _wants(row, event)]
    for row in wanted:
        # the pending row first: it is what owes the send if Redis loses the job
        _enqueue_send(_delivery(row, event))
    return len(wanted)


def _send_job_id(delivery: IntegrationDelivery) -> str:
    return f"integration-send-{delivery.id}"


def _enqueue_send(delivery: IntegrationDelivery, delay: timedelta | None = None) -> None:
    args = (send_to_integration, str(delivery.integration_id), str(delivery.event_id))
    kwargs = {"retry": RETRY, "job_id": _send_job_id(delivery)}
    if delay:
        queue().enqueue_in(delay, *args, **kwargs)
    else:
        enqueue(*args, **kwargs)


def resend_lost_integration_deliveries(limit: int = 500) -> int:
    """The periodic pass (cron.py): a pending send untouched for a while whose job no longer exists
    (Redis restarted empty, a worker killed) is enqueued again. Its delivery row makes it harmless."""
    grace = timedelta(seconds=max(current_app.config["OWED_SWEEP_SECONDS"], 30))
    pending = db.session.scalars(sa.select(IntegrationDelivery).where(
        IntegrationDelivery.status == "pending", IntegrationDelivery.updated_at <= utcnow() - grace)
        .order_by(IntegrationDelivery.updated_at).limit(limit)).all()
    lost = [delivery for delivery in pending if not job_alive(_send_job_id(delivery))]
    for delivery in lost:
        _enqueue_send(delivery)
    return len(lost)


def _delivery(row: Integration, event: Event) -> IntegrationDelivery:
    found = sa.select(IntegrationDelivery).where(
        IntegrationDelivery.integration_id == row.id, IntegrationDelivery.event_id == event.id
    )
    delivery = db.session.scalar(found)
    if delivery is None:
        try:
            delivery = IntegrationDelivery(
                organization_id=row.organization_id, integration_id=row.id, event_id=event.id
            )
            db.session.add(delivery)
            db.session.commit()
        except IntegrityError:  # a duplicate job made it first
            db.session.rollback()
            delivery = db.session.scalar(found)
    return delivery


def _send(row: Integration, event: Event):
    if row.kind == "lead_push":
        return lead_push.send(row, event)
    message = messages.for_event(event)
    if message is None:
        return None
    return (slack if row.kind == "slack" else discord).send(row, message)


def send_to_integration(integration_id: str, event_id: str) -> str:
    """Send one event to one integration; 429 waits Retry-After, 5xx/timeouts raise for RQ's retries."""
    row = db.session.get(Integration, uuid.UUID(integration_id))
    event = db.session.get(Event, uuid.UUID(event_id))
    if row is None or event is None or row.organization_id != event.organization_id:
        return "gone"
    delivery = _delivery(row, event)
    if delivery.status != "pending":
        return delivery.status  # sent (or given up) already
    delivery.attempts += 1
    try:
        status_code = _send(row, event)
    except RateLimited as e:
        delivery.message = f"Rate limited: trying again in {e.retry_after:g} s"
        db.session.commit()
        _enqueue_send(delivery, timedelta(seconds=e.retry_after))
        return "rate limited"
    except Skipped as e:
        _finish(delivery, "skipped", None, e.message)
        return "skipped"
    except Refused as e:
        _finish(delivery, "failed", e.status_code, e.message)
        store.remember_failure(row, e)
        return "failed"
    except IntegrationError as e:
        _retry_or_give_up(row, delivery, str(e))
        raise
    _finish(delivery, "succeeded", status_code, None)
    store.remember_success(row)
    return "succeeded"


def _finish(delivery: IntegrationDelivery, status: str, status_code, message) -> None:
    delivery.status, delivery.status_code, delivery.message = (
        status,
        status_code,
        (message or None) and message[:500],
    )
    db.session.commit()


def _retry_or_give_up(row: Integration, delivery: IntegrationDelivery, message: str) -> None:
    job = get_current_job()
    last = job is None or not job.retries_left
    delivery.message = message[:500]
    if last:
        delivery.status = "failed"
        store.remember_failure(row, Refused(f"{message} (gave up after {delivery.attempts} attempts)"))
    db.session.commit()


# --- Google Calendar -------------------------------------------------------------------------------


def sync_calendar(connection_id: str) -> int:
    """Read one rep's busy time now (after connecting, on Refresh, and periodically)."""
    conn = db.session.get(CalendarConnection, uuid.UUID(connection_id))
    if conn is None:
        return 0
    try:
        return google_calendar.sync(conn)
    except Refused as e:
        # a pass that changed nothing says nothing; a failure is logged (and shown on the rep's page)
        log.warning("Google Calendar sync of connection %s failed: %s", connection_id, e.message)
        google_calendar.remember_failure(conn, e)
        return 0


def sync_all_calendars() -> int:
    """The periodic job (cron.py): enqueue a sync of every working calendar connection."""
    ids = db.session.scalars(
        sa.select(CalendarConnection.id).where(
            CalendarConnection.status == "connected", CalendarConnection.calendar_id.is_not(None)
        )
    ).all()
    for connection_id in ids:
        enqueue(sync_calendar, str(connection_id), retry=Retry(max=2, interval=[30, 120]))
    return len(ids)
