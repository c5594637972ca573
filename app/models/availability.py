"""Availability: each rep's weekly hours, date overrides, the team default and calendar busy blocks.

Hours are wall-clock minutes in the rep's IANA timezone, kept as JSON lists of [start, end]
(0..1439). An end at or before its start runs past midnight into the next day; 00:00-00:00 is
the whole day. The rules that read them live in app/availability/rules.py.
"""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, org_fk, utcnow, uuid_pk


def empty_week() -> list:
    return [[] for _ in range(7)]


def user_fk() -> Mapped[uuid.UUID]:
    return mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True, nullable=False)


class DefaultSchedule(db.Model):
    """The organization's default hours: reps who have not customized theirs follow it."""

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), unique=True
    )
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    # Monday first; no intervals at all means "no hours set": reps are bound by their toggle only
    weekly: Mapped[list] = mapped_column(sa.JSON, default=empty_week)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RepSchedule(db.Model):
    """A rep's timezone and, once customized, their own weekly hours."""

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), unique=True
    )
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    follows_default: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    weekly: Mapped[list] = mapped_column(sa.JSON, default=empty_week)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DateOverride(db.Model):
    """Hours on one date that replace the weekly ones: none is a day off."""

    __table_args__ = (sa.UniqueConstraint("user_id", "day"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    user_id: Mapped[uuid.UUID] = user_fk()
    day: Mapped[date] = mapped_column(sa.Date)
    intervals: Mapped[list] = mapped_column(sa.JSON, default=list)


class BusyBlock(db.Model):
    """A time a rep is busy in a connected calendar; `source` names the calendar it came from."""

    __table_args__ = (sa.Index("ix_busy_block_user_span", "user_id", "starts_at", "ends_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(sa.String(120))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BusySync(db.Model):
    """When a rep's calendar source was last synced, even when it had no busy time."""

    __table_args__ = (sa.UniqueConstraint("user_id", "source"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    user_id: Mapped[uuid.UUID] = user_fk()
    source: Mapped[str] = mapped_column(sa.String(120))
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)


class RepAvailabilityNotice(db.Model):
    """What `rep.availability_changed` last said about a rep, and when to look again.

    The toggle and presence (a dashboard opening or closing) mark a check due a few seconds
    later; the check announces only a real change, so a page reload (socket closed, reopened)
    says nothing. The due time is the owed work: cron re-enqueues checks whose job was lost.
    """

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    organization_id: Mapped[uuid.UUID] = org_fk()
    announced: Mapped[bool | None]
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
