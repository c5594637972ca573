"""Teams and routing (Settings → Teams and routing): teams, their members, how they ring and
overflow, and the routing rules that pick a team, as a readable list."""

import uuid

from flask import g, request
from flask_login import current_user

from app.extensions import db
from app.htmx import render
from app.models import RoutingRule, Team, User
from app.models.routing import STRATEGIES
from app.routing import bp, outcomes, team_rules, teams
from app.tenancy import admin_required, org_get_or_404, org_list


def _page(status=200):
    org_id = current_user.organization_id
    questions = team_rules.org_questions(org_id)
    sites = team_rules.org_sites(org_id)
    by_question = {str(q.id): q for q, _ in questions}
    site_names = {str(s.id): s.domain for s in sites}
    org_teams = teams.org_teams(org_id)
    rules = [(rule, team_rules.describe(rule.conditions, rule.team.name, by_question, site_names))
             for rule in teams.org_rules(org_id)]
    return render("routing/teams.html", "routing/_teams.html", status=status, teams=org_teams,
                  members=org_list(User, User.name), strategies=STRATEGIES, rules=rules,
                  questions=questions, sources=team_rules.SOURCE_LABELS, ops=outcomes.OP_LABELS,
                  error=g.get("team_error"), draft=g.get("team_draft") or {})


def _refused(error: str, field: str = "", draft_for: str = "new"):
    g.team_error = {"for": draft_for, "field": field, "message": error}
    g.team_draft = {"for": draft_for, **request.form.to_dict(), "members": request.form.getlist("members")}
    return _page(422)


@bp.get("/teams")
@admin_required
def teams_index():
    """Teams, how each rings and overflows, and the routing rules."""
    return _page()


def _save(team: Team | None):
    form = request.form
    try:
        teams.save_team(current_user.organization_id, team, name=form.get("name", ""),
                        strategy=form.get("strategy", ""), overflow_seconds=form.get("overflow_seconds"),
                        overflow_team_id=form.get("overflow_team"), member_ids=form.getlist("members"),
                        email_callbacks=form.get("email_callbacks") == "on")
    except teams.TeamError as e:
        db.session.rollback()
        return _refused(str(e), e.field, str(team.id) if team else "new")
    db.session.commit()
    return _page()


@bp.post("/teams")
@admin_required
def team_create():
    """Add a team."""
    return _save(None)


@bp.post("/teams/<uuid:team_id>")
@admin_required
def team_update(team_id: uuid.UUID):
    """Change a team's name, members, ringing and overflow."""
    return _save(org_get_or_404(Team, team_id))


@bp.post("/teams/<uuid:team_id>/delete")
@admin_required
def team_delete(team_id: uuid.UUID):
    """Remove a team and its routing rules (calls keep their history)."""
    teams.delete_team(org_get_or_404(Team, team_id))
    db.session.commit()
    return _page()


@bp.post("/teams/rules")
@admin_required
def routing_rule_create():
    """Add a routing rule at the end of the list."""
    form = request.form
    team = teams.org_team(current_user.organization_id, form.get("team"))
    if team is None:
        return _refused("Choose the team it rings.", "team", "rule")
    try:
        condition = team_rules.build_condition(
            current_user.organization_id, form.get("source", ""), form.get("key", ""), form.get("op", ""),
            form.get("value", ""), form.get("minimum"), form.get("maximum"))
    except ValueError as e:
        return _refused(str(e), "value", "rule")
    teams.add_routing_rule(current_user.organization_id, [condition], team)
    db.session.commit()
    return _page()


@bp.post("/teams/rules/<uuid:rule_id>/move")
@admin_required
def routing_rule_move(rule_id: uuid.UUID):
    """Move a routing rule one place up or down."""
    teams.move_routing_rule(org_get_or_404(RoutingRule, rule_id),
                            "up" if request.form.get("direction") == "up" else "down")
    db.session.commit()
    return _page()


@bp.post("/teams/rules/<uuid:rule_id>/team")
@admin_required
def routing_rule_team(rule_id: uuid.UUID):
    """Send a rule's calls to another team."""
    rule = org_get_or_404(RoutingRule, rule_id)
    team = teams.org_team(current_user.organization_id, request.form.get("team"))
    if team is None:
        return _refused("Choose the team it rings.", "team", "rule")
    rule.team_id = team.id
    db.session.commit()
    return _page()


@bp.post("/teams/rules/<uuid:rule_id>/delete")
@admin_required
def routing_rule_delete(rule_id: uuid.UUID):
    """Remove a routing rule."""
    db.session.delete(org_get_or_404(RoutingRule, rule_id))
    db.session.commit()
    return _page()


@bp.get("/teams/test")
@admin_required
def routing_test():
    """"A visitor from DE answering X on site Y would ring: …" (on Who can take a call)."""
    args = request.args
    org_id = current_user.organization_id
    sites = team_rules.org_sites(org_id)
    questions = [(q, s) for q, s in team_rules.org_questions(org_id)]
    site = next((s for s in sites if str(s.id) == args.get("site")), None)
    result, error = None, None
    if "site" in args:
        if site is None:
            error = "Choose a site."
        else:
            answers, error = _test_answers(site, questions, args)
            if error is None:
                result = teams.explain(site, answers, args.get("country", "").strip()[:2] or None,
                                       args.get("page_url", "").strip() or None,
                                       _attributes(args.get("attributes", "")))
    return render("routing/test.html", "routing/_test.html", status=422 if error else 200, sites=sites,
                  questions=questions, result=result, error=error, args=args, site=site)


def _test_answers(site, questions, args) -> tuple[list, str | None]:
    """The one answer the test gives, seed-shaped like /widget/qualify's (or none)."""
    question = next((q for q, s in questions if str(q.id) == args.get("question") and s.id == site.id), None)
    text = args.get("answer", "").strip()
    if question is None or not text:
        return [], None
    value = text
    if question.type == "number":
        value = outcomes._number(text) if _is_number(text) else None
        if value is None:
            return [], "Enter a number for this question."
    elif question.has_options:
        by_label = {o.label.casefold(): o.value for o in question.options}
        chosen = [by_label.get(v.strip().casefold(), v.strip()) for v in text.split(",") if v.strip()]
        value = chosen if question.type == "multi_select" else chosen[0]
    return [{"questionId": str(question.id), "question": {"label": question.label},
             "answer": {"value": value}}], None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _attributes(text: str) -> dict:
    """'plan=enterprise' lines, as setAttributes would send them."""
    pairs = (line.split("=", 1) for line in text.splitlines()[:50] if "=" in line)
    return {key.strip()[:64]: value.strip()[:500] for key, value in pairs if key.strip()}
