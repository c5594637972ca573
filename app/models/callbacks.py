"""Callbacks: a visitor who could not talk now (nobody available, nobody answered, disqualified
with "leave details") leaves their details, and a rep calls them back."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import User
from app.models.base import UTCDateTime, created_at, org_fk, utcnow, uuid_pk
from app.models.calls import Contact
from app.models.sites import Site

CALLBACK_STATUSES = ("open", "claimed", "done")
# why the visitor left details instead of talking
CALLBACK_REASONS = ("no_one_available", "missed", "disqualified", "rate_limited", "chose")


class Callback(db.Model):
    __table_args__ = (sa.Index("ix_callback_org_status_due", "organization_id", "status", "due_at"),
                      sa.Index("ix_callback_org_updated", "organization_id", "updated_at", "id"))

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    site_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("site.id", ondelete="SET NULL"))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("contact.id", ondelete="SET NULL"), index=True)
    # the missed call it replaces, when there was one
    call_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("call.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(sa.String(24))
    name: Mapped[str | None] = mapped_column(sa.String(120))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    preferred_window: Mapped[str] = mapped_column(sa.String(16), default="asap")
    note: Mapped[str | None] = mapped_column(sa.String(1000))
    answers: Mapped[list] = mapped_column(sa.JSON, default=list)
    attributes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    page_url: Mapped[str | None] = mapped_column(sa.String(2000))
    status: Mapped[str] = mapped_column(sa.String(12), default="open")
    # when the visitor expects the call: past it, an open callback is overdue
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # the team routing picks for it (emailed to its members); None: no rule matched
    team_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("team.id", ondelete="SET NULL"))
    claimed_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the reps' own notes (what was said, when to try again)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at()
    # any change (claim, done, notes): the API's updated_since reads it
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    site: Mapped[Site | None] = relationship()
    contact: Mapped[Contact | None] = relationship()
    claimed_by: Mapped[User | None] = relationship()
    team = relationship("Team")

    def overdue(self, now: datetime) -> bool:
        return self.status != "done" and self.due_at < now
