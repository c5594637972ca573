"""Routing: refused call requests (shown on "Who can take a call"), teams and routing rules."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import User
from app.models.base import created_at, org_fk, uuid_pk


class CallRefusal(db.Model):
    """One call request the server refused (rate limit, disqualified, paused, bad token, …), so an
    admin sees on "Who can take a call" what visitors met that the reps never saw."""

    __table_args__ = (sa.Index("ix_call_refusal_org_created", "organization_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    site_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("site.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(sa.String(32))
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    fingerprint: Mapped[str | None] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = created_at()


OUTCOMES = ("call", "message", "calendar", "leave_details")


class OutcomeRule(db.Model):
    """A qualification rule of a site: when its conditions hold on the visitor's answers, the
    outcome. The site's rules are tried in `position` order; the first match wins (see
    app/routing/rules.py for the conditions' shape)."""

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    site_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=1)
    conditions: Mapped[list] = mapped_column(sa.JSON, default=list)
    outcome: Mapped[str] = mapped_column(sa.String(16), default="call")
    # outcome "call" routed to this team (None: the routing rules, then everyone, decide)
    team_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("team.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at()


# who of the team's available members rings first
STRATEGIES = {"ring_all": "Ring everyone in the team", "round_robin": "Round robin (one at a time, in turn)",
              "longest_idle": "Longest idle first (one at a time)"}

team_member = sa.Table(
    "team_member", db.metadata,
    sa.Column("team_id", sa.Uuid, sa.ForeignKey("team.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.Uuid, sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Team(db.Model):
    """A group of reps calls can be routed to ("Enterprise", "DACH"), how it rings, and where a
    call goes when nobody in it answers within `overflow_seconds` (None: nowhere, it rings out)."""

    __table_args__ = (sa.UniqueConstraint("organization_id", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    name: Mapped[str] = mapped_column(sa.String(80))
    strategy: Mapped[str] = mapped_column(sa.String(16), default="ring_all")
    overflow_seconds: Mapped[int | None] = mapped_column()
    # the fallback team; None with overflow_seconds set: everyone who can take a call
    overflow_team_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("team.id", ondelete="SET NULL"))
    # new callbacks routed to the team are emailed to its members (when SMTP is set up)
    email_callbacks: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = created_at()

    members: Mapped[list[User]] = relationship(secondary=team_member, order_by=User.name)
    overflow_team: Mapped["Team | None"] = relationship(remote_side=[id])


class RoutingRule(db.Model):
    """Which team a call goes to: the organization's rules are tried in `position` order on the
    visitor's answers, site, country, page URL and attributes; the first match wins."""

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    position: Mapped[int] = mapped_column(default=1)
    conditions: Mapped[list] = mapped_column(sa.JSON, default=list)
    team_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("team.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = created_at()

    team: Mapped[Team] = relationship()
