"""The outbox: every event, written in the same transaction as the change that caused it."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, created_at, org_fk, uuid_pk


class Event(db.Model):
    __table_args__ = (sa.Index("ix_event_org_type_created", "organization_id", "type", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    type: Mapped[str] = mapped_column(sa.String(64))
    # the site it belongs to (a call's, a site's own), for endpoints that want some sites only
    site_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, index=True)
    created_at: Mapped[datetime] = created_at()
    # `data` of the envelope, exactly as delivered (camelCase, nulls as documented)
    data: Mapped[dict] = mapped_column(sa.JSON)
    # set once delivery jobs for every matching endpoint exist; the sweeper picks up the rest
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    def envelope(self) -> dict:
        """The documented envelope: id, type, createdAt, organizationId, data."""
        from app.events import iso

        return {"id": str(self.id), "type": self.type, "createdAt": iso(self.created_at),
                "organizationId": str(self.organization_id), "data": self.data}
