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
    created_at: Mapped[datetime] = created_at()

    organization: Mapped[Organization] = relationship(back_populates="users")

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
