"""Automation rules: a trigger (an event type), conditions on its payload and ordered actions.

A run is one rule meeting one event (the run log, and the owed work the cron pass picks up); a
step is one action of that run, unique by (rule, event, action): an action done is never redone.
"""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, created_at, org_fk, utcnow, uuid_pk

RUN_STATUSES = ("pending", "waiting", "done", "failed", "skipped")


class AutomationRule(db.Model):
    __table_args__ = (sa.UniqueConstraint("organization_id", "builtin"),
                      sa.Index("ix_automation_rule_org_trigger", "organization_id", "trigger"))

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    name: Mapped[str] = mapped_column(sa.String(120))
    trigger: Mapped[str] = mapped_column(sa.String(64))  # an event type of app/events/registry.py
    match: Mapped[str] = mapped_column(sa.String(3), default="all")  # all / any of the conditions
    # [{"field", "key", "op", "value"}], see app/automations/conditions.py
    conditions: Mapped[list] = mapped_column(sa.JSON, default=list)
    # [{"id", "kind", ...the kind's settings}] in order, see app/automations/actions.py
    actions: Mapped[list] = mapped_column(sa.JSON, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    # the default Slack/Discord alert rule of an event type ("alerts:call.missed"); None for the admin's own
    builtin: Mapped[str | None] = mapped_column(sa.String(80))
    # failed runs in a row; at AUTOMATION_PAUSE_AFTER the rule is paused with the reason shown
    failures: Mapped[int] = mapped_column(default=0)
    paused_reason: Mapped[str | None] = mapped_column(sa.String(600))
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AutomationRun(db.Model):
    __table_args__ = (sa.UniqueConstraint("rule_id", "event_id"),
                      sa.Index("ix_automation_run_status_updated", "status", "updated_at"),
                      sa.Index("ix_automation_run_rule_created", "rule_id", "created_at"))

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    rule_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("automation_rule.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    # pending: actions owed; waiting: a delay until due_at; done / failed; skipped: not matched or stopped
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")
    matched: Mapped[bool | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(sa.String(600))  # why not matched, why stopped or failed
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AutomationStep(db.Model):
    __table_args__ = (sa.UniqueConstraint("rule_id", "event_id", "action_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    run_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("automation_run.id", ondelete="CASCADE"),
                                              index=True)
    rule_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    event_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    action_id: Mapped[str] = mapped_column(sa.String(36))
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(sa.String(16))
    # succeeded / failed / waiting (a delay) / skipped
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detail: Mapped[str | None] = mapped_column(sa.String(600))
    error: Mapped[str | None] = mapped_column(sa.String(600))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AutomationEventOrigin(db.Model):
    """The rules whose actions caused an event: a rule never runs on its own action's event (loops)."""

    event_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"),
                                                primary_key=True)
    rule_ids: Mapped[list] = mapped_column(sa.JSON, default=list)


class ContactTag(db.Model):
    """A tag on a contact (the "Tag the contact" action)."""

    __table_args__ = (sa.UniqueConstraint("contact_id", "tag"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    contact_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    tag: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = created_at()


class ContactAssignment(db.Model):
    """The rep or team a contact is assigned to (the "Assign" action)."""

    contact_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("contact.id", ondelete="CASCADE"),
                                                  primary_key=True)
    organization_id: Mapped[uuid.UUID] = org_fk()
    user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    # or the routing team it is assigned to
    team_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("team.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
