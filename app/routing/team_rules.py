"""Routing rules as the admin writes and reads them: a condition from the form, and the
readable line ("If visitor country is any of “DE”, “AT” → DACH")."""

import re

import sqlalchemy as sa

from app.extensions import db
from app.models import QualificationFlow, QualificationQuestion, Site
from app.routing import outcomes

SOURCE_LABELS = {"site": "the site", "country": "the visitor's country", "pageUrl": "the page URL",
                 "attribute": "the attribute"}
OPS_BY_SOURCE = {"site": ("any_of",), "country": ("any_of",), "pageUrl": ("contains", "equals"),
                 "attribute": ("equals", "contains", "any_of", "between")}
COUNTRY = re.compile(r"^[A-Za-z]{2}$")


def org_questions(organization_id) -> list[tuple[QualificationQuestion, Site]]:
    """Every question of the organization's sites' flows, with its site (rules may use answers)."""
    rows = db.session.execute(
        sa.select(QualificationQuestion, Site).join(QualificationFlow, QualificationQuestion.flow_id ==
                                                    QualificationFlow.id)
        .join(Site, Site.id == QualificationFlow.site_id)
        .where(Site.organization_id == organization_id).order_by(Site.domain, QualificationQuestion.position))
    return [(q, s) for q, s in rows]


def org_sites(organization_id) -> list[Site]:
    return list(db.session.scalars(sa.select(Site).where(Site.organization_id == organization_id)
                                   .order_by(Site.domain)))


def _list(value: str) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def build_condition(organization_id, source: str, key: str, op: str, value: str, minimum: str,
                    maximum: str) -> dict:
    """The condition the form describes, or ValueError with the message for the admin."""
    if source.startswith("answer:"):
        question = dict((str(q.id), q) for q, _ in org_questions(organization_id)).get(source[7:])
        if question is None:
            raise ValueError("Choose what the rule looks at.")
        return outcomes.build_condition(question, op, value, minimum, maximum)
    if source not in OPS_BY_SOURCE:
        raise ValueError("Choose what the rule looks at.")
    if op not in OPS_BY_SOURCE[source]:
        allowed = " or ".join(outcomes.OP_LABELS[o] for o in OPS_BY_SOURCE[source])
        raise ValueError(f"For {SOURCE_LABELS[source]} choose {allowed}.")
    condition = {"source": source, "op": op}
    if source == "attribute":
        key = (key or "").strip()
        if not key or len(key) > 64:
            raise ValueError("Enter the attribute's name (as setAttributes sends it).")
        condition["key"] = key
        if op == "between":
            low, high = outcomes._number(minimum), outcomes._number(maximum)
            if low is None and high is None:
                raise ValueError("Enter a minimum, a maximum or both.")
            return {**condition, "value": {"min": low, "max": high}}
    values = _list(value)
    if not values:
        raise ValueError("Enter the value to compare with.")
    if source == "site":
        by_domain = {s.domain.lower(): str(s.id) for s in org_sites(organization_id)}
        unknown = [v for v in values if v.lower() not in by_domain]
        if unknown:
            raise ValueError(f"Not a site of yours: {', '.join(unknown)}.")
        return {**condition, "value": [by_domain[v.lower()] for v in values]}
    if source == "country":
        wrong = [v for v in values if not COUNTRY.match(v)]
        if wrong:
            raise ValueError(f"Use two-letter country codes (DE, AT, CH): {', '.join(wrong)}.")
        return {**condition, "value": [v.upper() for v in values]}
    if op == "any_of":
        return {**condition, "value": [v[:200] for v in values]}
    return {**condition, "value": value.strip()[:500]}


def describe(conditions: list, team_name: str, questions: dict, sites: dict) -> str:
    """'If the visitor's country is any of “DE”, “AT” → DACH', for the readable list."""
    parts = [_describe(c, questions, sites) for c in conditions or []]
    return ("If " + " and ".join(parts) if parts else "Always") + f" → {team_name}"


def _describe(condition: dict, questions: dict, sites: dict) -> str:
    source = condition.get("source")
    if source == "answer":
        return outcomes._describe_condition(condition, questions)
    op, value = condition.get("op"), condition.get("value")
    label = (f"the attribute “{condition.get('key')}”" if source == "attribute"
             else SOURCE_LABELS.get(source, source))
    if op == "between":
        return outcomes._describe_condition({**condition, "key": None}, {}).replace(
            "a removed question", label)
    if isinstance(value, list):
        shown = ", ".join(f"“{sites.get(v, v) if source == 'site' else v}”" for v in value)
        return f"{label} {outcomes.OP_LABELS[op]} {shown}"
    return f"{label} {outcomes.OP_LABELS.get(op, op)} “{value}”"
