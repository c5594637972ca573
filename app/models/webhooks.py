"""API keys, webhook endpoints, the deliveries each event owes them and every attempt made."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, created_at, org_fk, utcnow, uuid_pk

# per resource, read and write; `recordings:read` covers transcripts and recording URLs
API_SCOPES = ("webhooks:read", "webhooks:write", "events:read", "calls:read", "recordings:read",
              "contacts:read", "contacts:write", "sites:read", "sites:write", "teammates:read",
              "teammates:write", "availability:read", "availability:write", "callbacks:read",
              "callbacks:write", "analytics:read")
ENDPOINT_SOURCES = ("api", "dashboard", "zapier")
# pending: owed (first try or a retry is due at next_attempt_at); the others are final
DELIVERY_STATES = ("pending", "succeeded", "failed", "canceled")


class ApiKey(db.Model):
    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    name: Mapped[str] = mapped_column(sa.String(80))
    # the first characters of the key, shown in the list so people can tell keys apart
    prefix: Mapped[str] = mapped_column(sa.String(16))
    # SHA-256 of the whole key: the key itself is shown once and never stored
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    # a personal token acts as this user (with their role) and goes when they are removed
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = created_at()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class WebhookEndpoint(db.Model):
    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    url: Mapped[str] = mapped_column(sa.String(2048))
    # event types to deliver; empty means every type
    events: Mapped[list] = mapped_column(sa.JSON, default=list)
    # site ids whose events to deliver; empty means every site (events of no site always go)
    sites: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    source: Mapped[str] = mapped_column(sa.String(16), default="api", server_default="api")
    description: Mapped[str | None] = mapped_column(sa.String(200))
    # whsec_… secrets, encrypted with app.crypto; the previous one is still sent until it expires
    secret_encrypted: Mapped[str] = mapped_column(sa.Text)
    previous_secret_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # first failure since the last success: five days of failures disable the endpoint
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def wants(self, event_type: str, site_id=None) -> bool:
        return (not self.events or event_type in self.events) and wants_site(self.sites, site_id)


def wants_site(sites: list | None, site_id) -> bool:
    """An event of no site (a teammate joined) goes to every endpoint; a site's event to those wanting it."""
    return not sites or site_id is None or str(site_id) in sites


class WebhookDelivery(db.Model):
    """One event owed to one endpoint. The database, not Redis, is the record of what is owed."""

    __table_args__ = (
        sa.UniqueConstraint("endpoint_id", "event_id"),
        sa.Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempt_count: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    # a worker holds the delivery until then; a worker killed mid-delivery lets it expire
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = created_at()

    endpoint: Mapped[WebhookEndpoint] = relationship()
    event = relationship("Event")


class WebhookAttempt(db.Model):
    """The log: every request made, kept WEBHOOK_LOG_RETENTION_DAYS."""

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("webhook_delivery.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    trigger: Mapped[str] = mapped_column(sa.String(16), default="auto")  # auto, manual, test
    succeeded: Mapped[bool] = mapped_column(default=False)
    status_code: Mapped[int | None]
    duration_ms: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.String(500))
    response_body: Mapped[str | None] = mapped_column(sa.Text)  # the first 1 KB


class IdempotencyRecord(db.Model):
    """A POST/PATCH made with an `Idempotency-Key`: its answer is replayed for 24 h.

    The row is inserted before the work (status_code None: in progress), so of two identical
    requests arriving together only one does the work; the other waits for its answer.
    """

    __table_args__ = (sa.UniqueConstraint("api_key_id", "key", name="uq_idempotency_key"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    api_key_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("api_key.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(255))
    method: Mapped[str] = mapped_column(sa.String(8))
    path: Mapped[str] = mapped_column(sa.String(500))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
