"""Visitors' identities (contacts) and their calls, with the call's own events."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import User
from app.models.base import UTCDateTime, created_at, org_fk, utcnow, uuid_pk
from app.models.sites import Site

CALL_STATUSES = ("requested", "accepted", "ended", "canceled", "missed")
OPEN_STATUSES = ("requested", "accepted")
MEDIA_TYPES = ("video", "audio")


class Contact(db.Model):
    """One visitor identity per widget fingerprint, reused across their calls."""

    __table_args__ = (sa.UniqueConstraint("organization_id", "fingerprint"),
                      sa.Index("ix_contact_org_updated", "organization_id", "updated_at", "id"),
                      sa.Index("ix_contact_org_created", "organization_id", "created_at", "id"),
                      sa.Index("ix_contact_org_seen", "organization_id", "last_seen_at", "id"),
                      # PostgreSQL: a trigram index serves the search's LIKE '%word%' (pg_trgm)
                      sa.Index("ix_contact_search_trgm", "search_text", postgresql_using="gin",
                               postgresql_ops={"search_text": "gin_trgm_ops"}).ddl_if(dialect="postgresql"))

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    fingerprint: Mapped[str] = mapped_column(sa.String(128))
    name: Mapped[str | None] = mapped_column(sa.String(120))
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    # name, email and phone digits folded (case, accents) for search: kept by app.contacts.search
    search_text: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # the envelope's contact.location shape, or None when no geo data is known
    location: Mapped[dict | None] = mapped_column(sa.JSON)
    # the latest qualification answers and setAttributes values they gave (kept for disqualified
    # visitors and callbacks too, whose leads are no longer thrown away)
    answers: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    attributes: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = created_at()
    # every change moves it: the API's `updated_since` and sync cursors read it
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    calls: Mapped[list["Call"]] = relationship(back_populates="contact", order_by="Call.requested_at.desc()")


class Call(db.Model):
    __table_args__ = (sa.Index("ix_call_org_requested", "organization_id", "requested_at", "id"),
                      sa.Index("ix_call_org_updated", "organization_id", "updated_at", "id"))

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    # calls outlive a deleted site or contact: history keeps them
    site_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("site.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(16), default="requested", index=True)
    media_type: Mapped[str] = mapped_column(sa.String(8), default="video")
    session_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, default=uuid.uuid4)
    visitor_fingerprint: Mapped[str] = mapped_column(sa.String(128))
    visitor_ip: Mapped[str | None] = mapped_column(sa.String(64))
    qualification_flow_id: Mapped[str | None] = mapped_column(sa.String(64))
    # seed-shaped qualificationAnswers, exactly as the qualification token carried them
    answers: Mapped[list] = mapped_column(sa.JSON, default=list)
    attributes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    page_url: Mapped[str | None] = mapped_column(sa.String(2000))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # owed work: while requested, nobody answered by then means missed (cron.py's pass ends it
    # even when the prompt RQ job was lost with Redis)
    ring_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # routing: the team it rang first (None: everyone); owed work: while requested, at overflow_at
    # the overflow target rings too (overflow_team_id, None: everyone); overflowed_at once it did
    team_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("team.id", ondelete="SET NULL"))
    overflow_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    overflow_team_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("team.id", ondelete="SET NULL"))
    overflowed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    # why it ended: canceled, missed, no_one_available, declined, visitor_hung_up, rep_hung_up, disconnected
    end_reason: Mapped[str | None] = mapped_column(sa.String(32))
    # the site's recording policy when the call was requested, and the visitor's answer to it
    recording_policy: Mapped[str] = mapped_column(sa.String(10), default="off", server_default="off")
    recording_consent: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # every transition moves it (Core UPDATEs too: onupdate applies to them)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    site: Mapped[Site | None] = relationship()
    contact: Mapped[Contact | None] = relationship(back_populates="calls")
    accepted_by: Mapped[User | None] = relationship()
    team = relationship("Team", foreign_keys=[team_id])
    # the Calls list marks recorded calls (loaded with the page, not per row)
    recording = relationship("Recording", uselist=False, viewonly=True)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def duration_seconds(self) -> int | None:
        if self.accepted_at is None or self.ended_at is None:
            return None
        return int((self.ended_at - self.accepted_at).total_seconds())


class CallEvent(db.Model):
    """Which outbox events belong to a call: the call page's timeline."""

    call_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("event.id", ondelete="CASCADE"), primary_key=True
    )
