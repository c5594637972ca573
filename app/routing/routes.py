"""Qualification rules on any answer (on Widget → Qualifications): add, move, remove."""

import uuid

from flask import g, request

from app.extensions import db
from app.models import OutcomeRule
from app.models.widget import QualificationQuestion, current_flow
from app.routing import bp, outcomes, teams
from app.tenancy import admin_required, org_get_or_404
from app.widget.admin import pick_site, saved


def _flow_page(site, status=200):
    from app.qualifications.routes import _page  # the page these rules are a section of

    return _page(site, status)


@bp.app_context_processor
def outcome_rules_helper():
    return {"outcome_rules": outcome_rules}


def outcome_rules(site) -> dict:
    """The rules section's context: the readable list and the add form (with its error, if any)."""
    questions = {str(q.id): q for q in current_flow(site).questions}
    org_teams = teams.org_teams(site.organization_id)
    names = {t.id: t.name for t in org_teams}
    rules = [(rule, outcomes.describe(rule, questions, names)) for rule in outcomes.site_rules(site.id)]
    return {"rules": rules, "teams": org_teams, "questions": list(questions.values()),
            "ops": outcomes.OP_LABELS,
            "ops_by_type": outcomes.OPS_BY_TYPE, "labels": outcomes.OUTCOME_LABELS,
            "error": g.get("rule_error"), "draft": g.get("rule_draft") or {}}


def _refused(site, message: str):
    g.rule_error, g.rule_draft = message, request.form.to_dict()
    return _flow_page(site, 422)


@bp.post("/widget/qualifications/<uuid:site_id>/rules")
@admin_required
def create_rule(site_id: uuid.UUID):
    """Add a rule at the end of the list (the first matching rule wins)."""
    site, _ = pick_site(site_id)
    question = _question(site, request.form.get("question"))
    if question is None:
        return _refused(site, "Choose a question.")
    try:
        condition = outcomes.build_condition(question, request.form.get("op", ""), request.form.get("value"),
                                             request.form.get("minimum"), request.form.get("maximum"))
        outcomes.add_rule(site, condition, request.form.get("outcome", ""),
                          teams.org_team(site.organization_id, request.form.get("team")))
    except ValueError as e:
        return _refused(site, str(e))
    return _saved(site)


def _question(site, value) -> QualificationQuestion | None:
    return next((q for q in current_flow(site).questions if str(q.id) == value), None)


def _saved(site):
    return saved(site, None, lambda status: _flow_page(site, status))


@bp.post("/widget/qualifications/rules/<uuid:rule_id>/move")
@admin_required
def move_rule(rule_id: uuid.UUID):
    """Move a rule one place up or down."""
    rule = org_get_or_404(OutcomeRule, rule_id)
    outcomes.move(rule, "up" if request.form.get("direction") == "up" else "down")
    return _saved(rule_site(rule))


@bp.post("/widget/qualifications/rules/<uuid:rule_id>/delete")
@admin_required
def delete_rule(rule_id: uuid.UUID):
    """Remove a rule."""
    rule = org_get_or_404(OutcomeRule, rule_id)
    site = rule_site(rule)
    db.session.delete(rule)
    return _saved(site)


def rule_site(rule: OutcomeRule):
    site, _ = pick_site(rule.site_id)
    return site
