"""Organizations, their users and pending invites."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, created_at, org_fk, utcnow, uuid_pk

ROLES = ("admin", "rep")


class Organization(db.Model):
    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(sa.String(120))
    # Settings → Integrations → Webhooks: off stops deliveries and the webhooks API answers 403
    webhooks_enabled: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # the organization's calendar: analytics cut days and hours in it (IANA name)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC", server_default="UTC")
    created_at: Mapped[datetime] = created_at()

    users: Mapped[list["User"]] = relationship(back_populates="organization")


class User(UserMixin, db.Model):
    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16), default="rep")
    is_active_member: Mapped[bool] = mapped_column(default=True)
    # the rep's own "Available" toggle; the availability rules add schedule and calendar
    available: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # part of every session's id: raising it ends every session of this user (logout, new password)
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = created_at()

    organization: Mapped[Organization] = relationship(back_populates="users")

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"

    def end_sessions(self) -> None:
        """Make every session cookie issued so far worthless (the caller commits)."""
        self.session_version = (self.session_version or 0) + 1

    @property
    def is_active(self) -> bool:
        return self.is_active_member

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Invite(db.Model):
    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    email: Mapped[str] = mapped_column(sa.String(254))
    role: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = created_at()

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.expires_at > utcnow()


class OwedEmail(db.Model):
    """An email (an invite, a password reset, a new callback to its team) still owed: written
    before its job is enqueued, so a job lost with Redis is enqueued again by the cron pass;
    deleted once sent (or given up on). The link is a secret, kept encrypted."""

    __tablename__ = "owed_email"

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(sa.String(32))  # "invite", "password_reset" or "callback"
    subject_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)  # the invite's, the user's or the callback's id
    link_encrypted: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
