"""What the Automations page changes: rules, their conditions and ordered actions, and what it shows.

Every query is scoped to the organization; JSON lists are replaced, never mutated in place (the
column tracks assignment). An action keeps its id when edited: its (rule, event, action) steps
stay done.
"""

import uuid

import sqlalchemy as sa

from app.extensions import db
from app.models import AutomationRule, AutomationRun, AutomationStep, Event, Team, User


def rules_of(organization_id) -> list[AutomationRule]:
    return db.session.scalars(sa.select(AutomationRule)
                              .where(AutomationRule.organization_id == organization_id)
                              .order_by(AutomationRule.builtin.is_not(None), AutomationRule.created_at)).all()


def rule_of(organization_id, rule_id) -> AutomationRule | None:
    return db.session.scalar(sa.select(AutomationRule).where(
        AutomationRule.organization_id == organization_id, AutomationRule.id == rule_id))


def create(organization_id, name: str, trigger: str) -> AutomationRule:
    rule = AutomationRule(organization_id=organization_id, name=name.strip(), trigger=trigger, match="all",
                          conditions=[], actions=[], enabled=True)
    db.session.add(rule)
    db.session.commit()
    return rule


def update(rule: AutomationRule, name: str, trigger: str, match: str, enabled: bool) -> None:
    if trigger != rule.trigger and rule.builtin:
        raise ValueError("A standard alert keeps its event: turn it off and make your own rule instead.")
    rule.name, rule.trigger, rule.match, rule.enabled = name.strip(), trigger, match, enabled
    db.session.commit()


def add_condition(rule: AutomationRule, condition: dict) -> None:
    rule.conditions = [*(rule.conditions or []), condition]
    db.session.commit()


def remove_condition(rule: AutomationRule, index: int) -> None:
    rule.conditions = [c for i, c in enumerate(rule.conditions or []) if i != index]
    db.session.commit()


def new_action_id() -> str:
    return uuid.uuid4().hex


def save_action(rule: AutomationRule, action: dict) -> None:
    """Add the action at the end, or replace the one with its id in place."""
    listed = list(rule.actions or [])
    at = next((i for i, a in enumerate(listed) if a["id"] == action["id"]), None)
    if at is None:
        listed.append(action)
    else:
        listed[at] = action
    rule.actions = listed
    db.session.commit()


def action_of(rule: AutomationRule, action_id: str) -> dict | None:
    return next((a for a in rule.actions or [] if a["id"] == action_id), None)


def remove_action(rule: AutomationRule, action_id: str) -> None:
    rule.actions = [a for a in rule.actions or [] if a["id"] != action_id]
    db.session.commit()


def move_action(rule: AutomationRule, action_id: str, up: bool) -> None:
    listed = list(rule.actions or [])
    at = next((i for i, a in enumerate(listed) if a["id"] == action_id), None)
    to = None if at is None else at - 1 if up else at + 1
    if to is not None and 0 <= to < len(listed):
        listed[at], listed[to] = listed[to], listed[at]
        rule.actions = listed
        db.session.commit()


def delete(rule: AutomationRule) -> None:
    if rule.builtin:
        raise ValueError("A standard alert cannot be deleted: turn it off instead.")
    db.session.delete(rule)
    db.session.commit()


def last_event(organization_id, event_type: str) -> Event | None:
    """The organization's latest real event of the type: what the preview renders."""
    return db.session.scalar(sa.select(Event).where(Event.organization_id == organization_id,
                                                    Event.type == event_type)
                             .order_by(Event.created_at.desc()).limit(1))


def run_log(rule: AutomationRule, limit: int = 30) -> list[tuple[AutomationRun, Event, list[AutomationStep]]]:
    """The rule's latest runs, each with its event and steps (newest first)."""
    rows = db.session.execute(sa.select(AutomationRun, Event).join(Event, Event.id == AutomationRun.event_id)
                              .where(AutomationRun.rule_id == rule.id,
                                     AutomationRun.organization_id == rule.organization_id)
                              .order_by(AutomationRun.created_at.desc()).limit(limit)).all()
    steps = db.session.scalars(sa.select(AutomationStep).where(
        AutomationStep.run_id.in_([run.id for run, _ in rows])).order_by(AutomationStep.position)).all()
    by_run = {}
    for step in steps:
        by_run.setdefault(step.run_id, []).append(step)
    return [(run, event, by_run.get(run.id, [])) for run, event in rows]


def last_runs(organization_id) -> dict:
    """rule id -> its latest run, for the list."""
    latest = sa.select(AutomationRun.rule_id, sa.func.max(AutomationRun.created_at).label("at")).where(
        AutomationRun.organization_id == organization_id).group_by(AutomationRun.rule_id).subquery()
    runs = db.session.scalars(sa.select(AutomationRun).join(latest, sa.and_(
        AutomationRun.rule_id == latest.c.rule_id, AutomationRun.created_at == latest.c.at)))
    return {run.rule_id: run for run in runs}


def teams(organization_id) -> list[Team]:
    return db.session.scalars(sa.select(Team).where(Team.organization_id == organization_id)
                              .order_by(Team.name)).all()


def teammates(organization_id) -> list[User]:
    return db.session.scalars(sa.select(User).where(User.organization_id == organization_id)
                              .order_by(User.name)).all()


def contact_labels(contact) -> dict:
    """What automations set on a contact: its tags and the rep it is assigned to (the contact page)."""
    from app.models import ContactAssignment, ContactTag

    tags = db.session.scalars(sa.select(ContactTag.tag).where(
        ContactTag.contact_id == contact.id, ContactTag.organization_id == contact.organization_id)
        .order_by(ContactTag.tag)).all()
    assignment = db.session.get(ContactAssignment, contact.id)
    owner = db.session.get(User, assignment.user_id) if assignment and assignment.user_id else None
    if owner is None and assignment and assignment.team_id:
        owner = db.session.get(Team, assignment.team_id)
    if owner is not None and owner.organization_id != contact.organization_id:
        owner = None
    return {"tags": tags, "owner": owner}
