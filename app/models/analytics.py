"""Analytics aggregates: the counters the widget bumps in Redis, kept per UTC hour, and the daily
rows (in the organization's timezone) the Analytics page reads instead of scanning calls."""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, org_fk

# the funnel's steps counted in Redis (no SQL on the widget's hot paths); rung is per rep
COUNTER_STEPS = ("badge_shown", "widget_opened", "qualified", "disqualified", "rung")


class AnalyticsCounter(db.Model):
    """One Redis counter of one UTC hour, copied as it was last read (the larger value wins, so a
    Redis that restarted empty never lowers a count already kept)."""

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)  # a site, or a rep (rung)
    step: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    organization_id: Mapped[uuid.UUID] = org_fk()
    count: Mapped[int] = mapped_column(default=0)


class SiteDay(db.Model):
    """One site's funnel and calls on one day of the organization's calendar."""

    __table_args__ = (sa.Index("ix_site_day_org_day", "organization_id", "day"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    # a deleted site's history stays, under the nil UUID
    site_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    badge_shown: Mapped[int] = mapped_column(default=0)
    widget_opened: Mapped[int] = mapped_column(default=0)
    qualified: Mapped[int] = mapped_column(default=0)
    disqualified: Mapped[int] = mapped_column(default=0)
    requested: Mapped[int] = mapped_column(default=0)
    answered: Mapped[int] = mapped_column(default=0)
    connected: Mapped[int] = mapped_column(default=0)
    completed: Mapped[int] = mapped_column(default=0)
    missed: Mapped[int] = mapped_column(default=0)
    canceled: Mapped[int] = mapped_column(default=0)
    callbacks_left: Mapped[int] = mapped_column(default=0)
    callbacks_done: Mapped[int] = mapped_column(default=0)
    talk_seconds: Mapped[int] = mapped_column(default=0)
    # {"seconds to answer": calls}: medians and p90s merge across days and sites from these
    answer_seconds: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # {"minutes from left to done": callbacks}, by the day they were done
    callback_minutes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # call requests per hour of the local day (24 numbers): the week-by-hour heatmap
    requests_by_hour: Mapped[list] = mapped_column(sa.JSON, default=list)


class RepDay(db.Model):
    """One rep's calls on one day of the organization's calendar."""

    __table_args__ = (sa.Index("ix_rep_day_org_day", "organization_id", "day"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    rung: Mapped[int] = mapped_column(default=0)
    answered: Mapped[int] = mapped_column(default=0)
    talk_seconds: Mapped[int] = mapped_column(default=0)
    answer_seconds: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class AnswerDay(db.Model):
    """Calls per answer of each qualification question, per site and day."""

    __table_args__ = (sa.Index("ix_answer_day_org_day", "organization_id", "day"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    site_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    question: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    answer: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    requested: Mapped[int] = mapped_column(default=0)
    answered: Mapped[int] = mapped_column(default=0)


class AnalyticsState(db.Model):
    """Where each organization's roll-up got to: the next pass recomputes the days touched since."""

    organization_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    )
    rolled_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the timezone the daily rows were cut in: another one rebuilds them all
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
