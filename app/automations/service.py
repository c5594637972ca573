"""Automation rules at work: which rules an event meets (with why not), running their actions in
order, the default Slack/Discord alert rules, pausing a rule that keeps failing, stopping loops.

Everything owed is a row: a run per (rule, event) and a step per (rule, event, action). RQ makes
it prompt (app/automations/jobs.py); the cron pass finds what Redis or a killed worker lost.
"""

import uuid
from contextvars import ContextVar
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event as sa_event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.automations import actions, conditions
from app.events import read_once
from app.extensions import db
from app.models import (
    AutomationEventOrigin,
    AutomationRule,
    AutomationRun,
    AutomationStep,
    Event,
    Organization,
    Site,
)
from app.models.base import utcnow

# the default rules: today's fixed Slack/Discord alerts, one rule per event type they notify about
ALERTS = {
    "call.requested": "Incoming call alert", "call.missed": "Missed call alert",
    "call.ended": "Call ended alert", "call.transcript_ready": "Transcript ready alert",
    "callback.requested": "Callback requested alert", "callback.completed": "Callback done alert",
    "contact.disqualified": "Disqualified lead alert",
}
MAX_CHAIN = 5  # rules causing events that trigger rules…: past this many, stop whatever the rules
_causing: ContextVar[tuple] = ContextVar("automation_causing", default=())


# --- default rules ---------------------------------------------------------------------------------

def default_rule(organization_id, event_type: str) -> AutomationRule:
    return AutomationRule(
        organization_id=organization_id, name=ALERTS[event_type], trigger=event_type, match="all",
        conditions=[], builtin=f"alerts:{event_type}",
        actions=[{"id": "slack-alert", "kind": "slack_alert"},
                 {"id": "discord-alert", "kind": "discord_alert"}])


def ensure_defaults(organization_id) -> None:
    """Give the organization its default alert rules, once (the page calls it; so did the migration)."""
    have = set(db.session.scalars(sa.select(AutomationRule.builtin).where(
        AutomationRule.organization_id == organization_id, AutomationRule.builtin.is_not(None))))
    missing = [t for t in ALERTS if f"alerts:{t}" not in have]
    if not missing:
        return
    try:
        db.session.add_all(default_rule(organization_id, t) for t in missing)
        db.session.commit()
    except IntegrityError:  # two first visits at once
        db.session.rollback()


def alert_wanted(event: Event, kind: str) -> bool:
    """Does the default rule let the Slack/Discord integration send its standard alert?

    No rule yet (an organization that never opened Automations) means yes: today's behaviour.
    """
    rule = db.session.scalar(sa.select(AutomationRule).where(
        AutomationRule.organization_id == event.organization_id,
        AutomationRule.builtin == f"alerts:{event.type}"))
    if rule is None:
        return True
    if not rule.enabled or not any(a.get("kind") == f"{kind}_alert" for a in rule.actions or []):
        return False
    return conditions.evaluate(rule.conditions or [], rule.match, facts_of(event))[0]


# --- facts and decisions ---------------------------------------------------------------------------

def organization_timezone(organization_id):
    name = db.session.scalar(sa.select(Organization.timezone).where(Organization.id == organization_id)) \
        or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def facts_of(event: Event) -> dict:
    """What conditions can ask about this event: its payload, the local time, stored attributes."""
    from app.integrations.messages import call_of

    call = call_of(event) if (event.data or {}).get("call") else None
    contact = actions.contact_of(event) if (event.data or {}).get("contact") else None
    attributes = {**((contact.attributes or {}) if contact else {}),
                  **((call.attributes or {}) if call else {})}
    local = event.created_at.astimezone(organization_timezone(event.organization_id))
    site = db.session.scalar(sa.select(Site.domain).where(
        Site.id == event.site_id, Site.organization_id == event.organization_id)) if event.site_id else None
    return conditions.facts(event.data or {}, site_id=event.site_id, site_domain=site, local_time=local,
                            attributes=attributes)


def origin_chain(event: Event) -> list[str]:
    origin = db.session.get(AutomationEventOrigin, event.id)
    return list(origin.rule_ids) if origin else []


def decide(rule: AutomationRule, event: Event, chain: list[str]) -> tuple[bool, str]:
    """(run the actions?, what the run log says)."""
    if str(rule.id) in chain:
        return False, "Loop stopped: this event was caused by this rule's own action."
    if len(chain) >= MAX_CHAIN:
        return False, f"Loop stopped: {len(chain)} automations in a row caused this event."
    if rule.paused_reason:
        return False, f"Not run: the rule is paused ({rule.paused_reason})"
    return conditions.evaluate(rule.conditions or [], rule.match, facts_of(event))


def rules_for(event: Event) -> list[AutomationRule]:
    return read_once(("automation rules", event.organization_id, event.type), lambda: db.session.scalars(
        sa.select(AutomationRule).where(
            AutomationRule.organization_id == event.organization_id, AutomationRule.trigger == event.type,
            AutomationRule.enabled).order_by(AutomationRule.created_at)).all())


def runs_for_event(event_id) -> list[str]:
    """Record each enabled rule's decision on the event (once per rule); the ids of runs owing actions."""
    event = db.session.get(Event, uuid.UUID(str(event_id)))
    if event is None:
        return []
    rules = rules_for(event)
    chain, owed = origin_chain(event) if rules else [], []
    for rule in rules:
        run = _record_run(rule, event, *decide(rule, event, chain))
        if run is not None and run.status == "pending":
            owed.append(str(run.id))
    return owed


def _record_run(rule: AutomationRule, event: Event, matched: bool, reason: str) -> AutomationRun | None:
    """The run row, created once: a duplicate job finds it and returns None."""
    run = AutomationRun(organization_id=rule.organization_id, rule_id=rule.id, event_id=event.id,
                        matched=matched, reason=reason[:600], status="pending" if matched else "skipped")
    try:
        db.session.add(run)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return run


# --- running the actions -----------------------------------------------------------------------------

def _step(run: AutomationRun, action: dict, position: int) -> AutomationStep:
    found = sa.select(AutomationStep).where(AutomationStep.rule_id == run.rule_id,
                                            AutomationStep.event_id == run.event_id,
                                            AutomationStep.action_id == str(action["id"]))
    step = db.session.scalar(found)
    if step is None:
        try:
            step = AutomationStep(organization_id=run.organization_id, run_id=run.id, rule_id=run.rule_id,
                                  event_id=run.event_id, action_id=str(action["id"]), position=position,
                                  kind=action["kind"], status="pending")
            db.session.add(step)
            db.session.commit()
        except IntegrityError:  # a duplicate job made it first
            db.session.rollback()
            step = db.session.scalar(found)
    return step


def execute(run_id, last_try: bool) -> str:
    """Run the run's actions in order from the first not done; stop at a delay not yet over.

    A failing action raises actions.Retry while tries are left (RQ retries the job with backoff);
    on the last try, or for actions.Failed, the run fails and the rule counts a failure.
    """
    run = db.session.get(AutomationRun, uuid.UUID(str(run_id)))
    if run is None or run.status not in ("pending", "waiting"):
        return run.status if run else "gone"
    rule, event = db.session.get(AutomationRule, run.rule_id), db.session.get(Event, run.event_id)
    for position, action in enumerate(rule.actions or []):
        step = _step(run, action, position)
        if step.status in ("succeeded", "skipped"):
            continue
        if action["kind"] == "delay":
            outcome = _wait(run, step, action, event)
            if outcome:
                return outcome
            continue
        outcome = _act(run, rule, step, action, event, last_try)
        if outcome:
            return outcome
    _finish(run, rule, "done", None)
    return "done"


def _wait(run: AutomationRun, step: AutomationStep, action: dict, event: Event) -> str | None:
    """A delay: 'waiting' until its due time (a row the cron pass reads); None once it is over."""
    now = utcnow()
    if step.due_at is None:
        step.due_at = now + timedelta(minutes=int(action.get("minutes") or 0))
    if step.due_at > now:
        step.status, run.status, run.due_at = "waiting", "waiting", step.due_at
        db.session.commit()
        return "waiting"
    stop = actions.stop_reason(action, event)
    step.status, step.detail, run.status, run.due_at = "succeeded", stop or "Waited", "pending", None
    if stop:
        step.status = "skipped"
        _finish(run, db.session.get(AutomationRule, run.rule_id), "done", stop)
        return "stopped"
    db.session.commit()
    return None


def _act(run, rule, step, action, event, last_try: bool) -> str | None:
    step.attempts += 1
    db.session.commit()
    token = _causing.set((*origin_chain(event), str(rule.id)))
    try:
        detail = actions.perform(action, event, rule)
    except actions.Failed as e:
        return _failed(run, rule, step, action, str(e))
    except actions.Later as e:
        db.session.rollback()
        step.error, run.status = str(e), "waiting"
        run.due_at = utcnow() + timedelta(seconds=e.seconds)
        db.session.commit()
        return "waiting"
    except actions.Retry as e:
        db.session.rollback()
        if last_try:
            return _failed(run, rule, step, action, f"{e} (gave up after {step.attempts} tries)")
        step.error = str(e)[:600]
        db.session.commit()
        raise
    finally:
        _causing.reset(token)
    step.status, step.detail, step.error = "succeeded", (detail or "")[:600], None
    db.session.commit()
    return None


def _failed(run, rule, step, action, message: str) -> str:
    db.session.rollback()
    step.status, step.error = "failed", message[:600]
    what = actions.describe(action)
    _finish(run, rule, "failed", f"{what}: {message}")
    return "failed"


def _finish(run: AutomationRun, rule: AutomationRule, status: str, reason: str | None) -> None:
    """End the run; a rule whose runs fail AUTOMATION_PAUSE_AFTER times in a row is paused."""
    run.status, run.due_at = status, None
    if reason:
        run.reason = reason[:600]
    if status == "failed":
        rule.failures += 1
        limit = current_app.config["AUTOMATION_PAUSE_AFTER"]
        if rule.failures >= limit and not rule.paused_reason:
            why = f"Paused after {rule.failures} failed runs in a row. Last error: {reason}"
            rule.paused_reason = why[:600]
            rule.paused_at = utcnow()
    else:
        rule.failures = 0
    db.session.commit()


def due_in(run_id) -> timedelta:
    run = db.session.get(AutomationRun, uuid.UUID(str(run_id)))
    return (run.due_at - utcnow()) if run and run.due_at else timedelta(0)


def resume(rule: AutomationRule) -> None:
    rule.paused_reason, rule.paused_at, rule.failures = None, None, 0
    db.session.commit()


# --- owed work --------------------------------------------------------------------------------------

def overdue_runs(grace: timedelta, limit: int = 500) -> list[AutomationRun]:
    """Runs owing actions that nobody touched for a while, and waits that are over."""
    now = utcnow()
    return db.session.scalars(sa.select(AutomationRun).where(sa.or_(
        sa.and_(AutomationRun.status == "pending", AutomationRun.updated_at <= now - grace),
        sa.and_(AutomationRun.status == "waiting", AutomationRun.due_at <= now)))
        .order_by(AutomationRun.updated_at).limit(limit)).all()


def unevaluated_events(grace: timedelta, window: timedelta = timedelta(days=1), limit: int = 500) -> list:
    """Recent events an enabled rule never decided on (the dispatch job was lost): ids."""
    now = utcnow()
    decided = sa.select(AutomationRun.id).where(AutomationRun.rule_id == AutomationRule.id,
                                                AutomationRun.event_id == Event.id).exists()
    return db.session.scalars(
        sa.select(Event.id).join(AutomationRule, sa.and_(
            AutomationRule.organization_id == Event.organization_id, AutomationRule.trigger == Event.type,
            AutomationRule.enabled, AutomationRule.created_at <= Event.created_at))
        .where(Event.created_at <= now - grace, Event.created_at >= now - window,
               Event.dispatched_at.is_not(None), ~decided)
        .distinct().limit(limit)).all()


def purge_old_runs(days: int) -> int:
    """The run log keeps `days` days (AUTOMATION_LOG_RETENTION_DAYS); runs still owing work stay."""
    old = sa.delete(AutomationRun).where(AutomationRun.created_at < utcnow() - timedelta(days=days),
                                         AutomationRun.status.in_(("done", "failed", "skipped")))
    removed = db.session.execute(old.execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return removed


# --- loops: which rules caused a new event ------------------------------------------------------------

ORIGINS = "converc_automation_origins"


@sa_event.listens_for(Session, "before_flush")
def _note_caused_events(session, flush_context, instances):
    chain = _causing.get()
    if not chain:
        return
    for obj in session.new:
        if isinstance(obj, Event):
            obj.id = obj.id or uuid.uuid4()
            session.info.setdefault(ORIGINS, []).append((obj.id, list(chain)))


@sa_event.listens_for(Session, "after_flush_postexec")
def _stamp_origins(session, flush_context):
    # after the events' own INSERT (the origin row's foreign key needs it); commit flushes again
    for event_id, chain in session.info.pop(ORIGINS, []):
        session.add(AutomationEventOrigin(event_id=event_id, rule_ids=chain))


@sa_event.listens_for(Session, "after_rollback")
def _forget_origins(session):
    session.info.pop(ORIGINS, None)
