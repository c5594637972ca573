"""What the integration pages show: recent sends and each card's status."""

import sqlalchemy as sa

from app.extensions import db
from app.integrations import google_calendar, store
from app.models import Event, Integration, IntegrationDelivery, WebhookEndpoint


def recent_deliveries(row: Integration, limit: int = 10) -> list[tuple[IntegrationDelivery, Event]]:
    return db.session.execute(
        sa.select(IntegrationDelivery, Event)
        .join(Event, Event.id == IntegrationDelivery.event_id)
        .where(
            IntegrationDelivery.integration_id == row.id,
            IntegrationDelivery.organization_id == row.organization_id,
        )
        .order_by(IntegrationDelivery.updated_at.desc())
        .limit(limit)
    ).all()


def card_status(kind: str):
    def status(organization_id) -> str:
        row = store.integration_of(organization_id, kind)
        if row is None:
            return "Not connected"
        if row.status == "broken":
            return "Needs reconnecting"
        if row.last_error:
            return "Last send failed"
        if kind == "slack" and not (row.settings or {}).get("channelId"):
            return "Pick a channel"
        return "Connected"

    return status


def calendar_status(organization_id) -> str:
    from flask_login import current_user

    conn = google_calendar.connection_of(current_user.id)
    if conn is None:
        return "Not connected"
    return (
        "Needs reconnecting"
        if conn.status == "broken"
        else f"Syncing {conn.calendar_name or 'no calendar yet'}"
    )


def zapier_subscriptions(organization_id) -> list[WebhookEndpoint]:
    """The organization's Zapier REST-hook subscriptions (webhook endpoints of source zapier)."""
    return db.session.scalars(sa.select(WebhookEndpoint).where(
        WebhookEndpoint.organization_id == organization_id, WebhookEndpoint.source == "zapier")
        .order_by(WebhookEndpoint.created_at)).all()


def zapier_status(organization_id) -> str:
    active = [s for s in zapier_subscriptions(organization_id) if s.is_active]
    return f"{len(active)} active Zap trigger{'s' if len(active) != 1 else ''}" if active else "No Zap yet"
