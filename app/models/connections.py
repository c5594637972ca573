"""What each browser of a call reported about its WebRTC connection: the call page shows it,
and the troubleshooter counts the calls that never connected."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, created_at, org_fk, utcnow, uuid_pk

CANDIDATE_TYPES = ("host", "srflx", "prflx", "relay")


class CallConnection(db.Model):
    """One side (visitor or rep) of one call, updated as its browser reports."""

    __table_args__ = (sa.UniqueConstraint("call_id", "side"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    call_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), index=True)
    side: Mapped[str] = mapped_column(sa.String(8))
    # [{"state": "checking", "at": ms since the browser started the call}, …], the latest last
    ice_states: Mapped[list] = mapped_column(sa.JSON, default=list)
    local_candidate: Mapped[str | None] = mapped_column(sa.String(8))   # host / srflx / prflx / relay
    remote_candidate: Mapped[str | None] = mapped_column(sa.String(8))
    protocol: Mapped[str | None] = mapped_column(sa.String(8))          # udp / tcp
    connected_after_ms: Mapped[int | None]
    # why it never connected or dropped for good: ice_failed, …
    failure_reason: Mapped[str | None] = mapped_column(sa.String(32))
    # getStats summary: rttMs, jitterMs, packetLossPct, bitrateKbps, framesDecoded, framesDropped
    quality: Mapped[dict | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def connected(self) -> bool:
        return self.connected_after_ms is not None
