"""Qualification rules on any answer (Widget → Qualifications): which outcome a visitor's answers
lead to. Stored as OutcomeRule rows of plain conditions; evaluated by app/routing/rules.py."""

import sqlalchemy as sa

from app.extensions import db
from app.models import OutcomeRule
from app.models.routing import OUTCOMES
from app.routing.rules import answer_facts, first_match

OUTCOME_LABELS = {"call": "Call", "message": "Show the disqualified message",
                  "calendar": "Show the calendar link", "leave_details": "Ask them to leave details"}
OP_LABELS = {"between": "is between", "equals": "is", "contains": "contains", "any_of": "is any of",
             "all_of": "includes all of"}
# which comparisons make sense for which answer type
OPS_BY_TYPE = {"number": ("between", "equals"), "text": ("contains", "equals"),
               "single_select": ("any_of",), "multi_select": ("any_of", "all_of")}


def site_rules(site_id) -> list[OutcomeRule]:
    return list(db.session.scalars(
        sa.select(OutcomeRule).where(OutcomeRule.site_id == site_id).order_by(OutcomeRule.position)))


def matching_outcome(site_id, answers: list) -> OutcomeRule | None:
    """The first of the site's rules that the answers satisfy."""
    rules = site_rules(site_id)
    if not rules:
        return None
    facts = {"answers": answer_facts(answers)}
    found = first_match([{"id": r.id, "conditions": r.conditions} for r in rules], facts)
    return next(r for r in rules if r.id == found["id"]) if found else None


def _number(text: str | None):
    if text is None or not str(text).strip():
        return None
    try:
        return float(str(text).strip())
    except ValueError as e:
        raise ValueError("Enter a number.") from e


def build_condition(question, op: str, value: str, minimum: str, maximum: str) -> dict:
    """The condition for this question, or ValueError with the message for the admin."""
    if op not in OPS_BY_TYPE[question.type]:
        allowed = " or ".join(OP_LABELS[o] for o in OPS_BY_TYPE[question.type])
        raise ValueError(f"For this question choose {allowed}.")
    condition = {"source": "answer", "key": str(question.id), "op": op}
    if op == "between":
        low, high = _number(minimum), _number(maximum)
        if low is None and high is None:
            raise ValueError("Enter a minimum, a maximum or both.")
        if low is not None and high is not None and low > high:
            raise ValueError("The minimum is above the maximum.")
        return {**condition, "value": {"min": low, "max": high}}
    value = (value or "").strip()
    if not value:
        raise ValueError("Enter the value to compare with.")
    if question.has_options:
        chosen = [v.strip() for v in value.split(",") if v.strip()]
        known = {o.value for o in question.options} | {o.label for o in question.options}
        unknown = [v for v in chosen if v not in known]
        if unknown:
            raise ValueError(f"Not an option of this question: {', '.join(unknown)}.")
        by_label = {o.label: o.value for o in question.options}
        return {**condition, "value": [by_label.get(v, v) for v in chosen]}
    if question.type == "number":
        return {**condition, "value": _number(value)}
    return {**condition, "value": value[:200]}


def add_rule(site, condition: dict, outcome: str, team=None) -> OutcomeRule:
    """At the end of the site's list; a "call" rule may name the team it rings."""
    if outcome not in OUTCOMES:
        raise ValueError("Choose an outcome.")
    last = db.session.scalar(
        sa.select(sa.func.max(OutcomeRule.position)).where(OutcomeRule.site_id == site.id))
    rule = OutcomeRule(organization_id=site.organization_id, site_id=site.id, position=(last or 0) + 1,
                       conditions=[condition], outcome=outcome,
                       team_id=team.id if team is not None and outcome == "call" else None)
    db.session.add(rule)
    return rule


def move(rule: OutcomeRule, direction: str) -> None:
    rules = site_rules(rule.site_id)
    i = rules.index(rule)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(rules):
        rules[i].position, rules[j].position = rules[j].position, rules[i].position


def describe(rule: OutcomeRule, questions: dict, team_names: dict | None = None) -> str:
    """'If “Seats” is between 100 and 500 → Call (team Enterprise)', for the readable list."""
    parts = [_describe_condition(c, questions) for c in rule.conditions or []]
    team = (team_names or {}).get(rule.team_id) if rule.outcome == "call" else None
    return (("If " + " and ".join(parts) if parts else "Always") + " → " + OUTCOME_LABELS[rule.outcome]
            + (f" (team {team})" if team else ""))


def _describe_condition(condition: dict, questions: dict) -> str:
    question = questions.get(condition.get("key"))
    label = f"“{question.label}”" if question else "a removed question"
    value, op = condition.get("value"), condition.get("op")
    if op == "between":
        low, high = value.get("min"), value.get("max")
        if low is not None and high is not None:
            return f"{label} is between {low:g} and {high:g}"
        return f"{label} is at least {low:g}" if low is not None else f"{label} is at most {high:g}"
    if isinstance(value, list):
        labels = {o.value: o.label for o in question.options} if question else {}
        shown = ", ".join(f"“{labels.get(v, v)}”" for v in value)
        return f"{label} {OP_LABELS[op]} {shown}"
    shown = f"{value:g}" if isinstance(value, float) else f"“{value}”"
    return f"{label} {OP_LABELS.get(op, op)} {shown}"
