"""Connections to other products: a rep's Google Calendar, an organization's Slack, Discord and lead push."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, created_at, org_fk, utcnow, uuid_pk

INTEGRATION_KINDS = ("slack", "discord", "lead_push")
# connected: works; broken: revoked or refused (the page shows Reconnect)
CONNECTION_STATES = ("connected", "broken")


class CalendarConnection(db.Model):
    """A rep's Google Calendar: OAuth tokens (encrypted) and the calendar whose busy time blocks them."""

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    account_email: Mapped[str | None] = mapped_column(sa.String(320))
    access_token_encrypted: Mapped[str] = mapped_column(sa.Text)
    refresh_token_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    expires_at: Mapped[int | None] = mapped_column(sa.BigInteger)  # epoch seconds, as OAuth tokens say
    calendar_id: Mapped[str | None] = mapped_column(sa.String(255))
    calendar_name: Mapped[str | None] = mapped_column(sa.String(255))
    status: Mapped[str] = mapped_column(sa.String(16), default="connected")
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = created_at()


class Integration(db.Model):
    """One organization-wide integration of a kind (Slack, Discord, lead push) and its settings.

    `secret_encrypted` holds what must not leak: Slack's token set, Discord's webhook URL, the
    lead endpoint's password.
    """

    __table_args__ = (sa.UniqueConstraint("organization_id", "kind"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    kind: Mapped[str] = mapped_column(sa.String(16))
    settings: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    secret_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="connected")
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class IntegrationDelivery(db.Model):
    """One event sent (or being sent) to one integration: makes retried jobs harmless, and is the log."""

    __table_args__ = (sa.UniqueConstraint("integration_id", "event_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    integration_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("integration.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")  # pending, succeeded, failed
    attempts: Mapped[int] = mapped_column(default=0)
    status_code: Mapped[int | None]
    message: Mapped[str | None] = mapped_column(sa.String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
