"""Settings → Automations: rules with a trigger, conditions and ordered actions, a preview and a run log."""

from flask import abort, flash, request, url_for
from flask_login import current_user

from app.automations import actions, bp, editing, service
from app.automations.conditions import FIELDS, OPS, describe
from app.automations.forms import ActionForm, ConditionForm, RuleForm
from app.events import event_type
from app.htmx import redirect_to, render
from app.integrations import slack, store
from app.integrations.errors import IntegrationError, RateLimited, Refused
from app.tenancy import admin_required

PREFIX = "/settings/automations"


@bp.app_context_processor
def _contact_labels():
    # the contact page shows what the Tag and Assign actions set
    return {"contact_labels": editing.contact_labels}


def _rule_or_404(rule_id):
    rule = editing.rule_of(current_user.organization_id, rule_id)
    if rule is None:
        abort(404)
    return rule


def _back_to(rule, section: str = ""):
    """After a change: the rule's page, at the section changed."""
    return redirect_to(url_for("automations.show", rule_id=rule.id) + section)


def _edit(rule_id, change, section: str):
    """The organization's rule (else a 404), changed by `change(rule)`, then back to its page."""
    rule = _rule_or_404(rule_id)
    change(rule)
    return _back_to(rule, section)


def _index(form, status=200):
    org = current_user.organization_id
    return render("automations/index.html", "automations/_rules.html", status=status, form=form,
                  rules=editing.rules_of(org), last_runs=editing.last_runs(org), event_type=event_type)


@bp.get(PREFIX)
@admin_required
def index():
    """The organization's rules (the standard alerts among them) and the form to start one."""
    service.ensure_defaults(current_user.organization_id)
    return _index(RuleForm(formdata=None))


@bp.post(PREFIX)
@admin_required
def create():
    """Start a rule: a name and its event; conditions and actions come next on its page."""
    form = RuleForm()
    if not form.validate_on_submit():
        return _index(form, 422)
    rule = editing.create(current_user.organization_id, form.name.data, form.trigger.data)
    return _back_to(rule)


def _channels() -> tuple[list, str | None]:
    """The connected workspace's channels, or why they cannot be listed."""
    row = store.integration_of(current_user.organization_id, "slack")
    if row is None or row.status != "connected":
        return [], "Connect Slack in Settings → Integrations to post to its channels."
    try:
        return slack.channels(row), None
    except (Refused, IntegrationError, RateLimited) as e:
        return [], f"Slack's channels could not be listed: {getattr(e, 'message', e)}"


def _action_form(**kwargs) -> tuple[ActionForm, str | None]:
    """The action form with the workspace's channels and the teammates (formdata=None: not posted)."""
    channels, problem = _channels()
    org = current_user.organization_id
    form = ActionForm(channels=channels, teammates=editing.teammates(org), teams=editing.teams(org), **kwargs)
    return form, problem


def _show(rule, status=200, rule_form=None, condition_form=None, action_form=None, editing_id=None):
    if action_form is None:
        action_form, channel_problem = _action_form(formdata=None)
        kind = request.args.get("kind")
        if kind in actions.KINDS:
            action_form.kind.data = kind
    else:
        channel_problem = _channels()[1] if action_form.kind.data == "slack" else None
    users = {str(u.id): u.name for u in editing.teammates(rule.organization_id)}
    users.update({str(t.id): f"the team {t.name}" for t in editing.teams(rule.organization_id)})
    return render("automations/show.html", "automations/_rule.html", status=status, rule=rule,
                  rule_form=rule_form or RuleForm(obj=rule, formdata=None),
                  condition_form=condition_form or ConditionForm(formdata=None),
                  action_form=action_form, channel_problem=channel_problem, editing_id=editing_id,
                  describe_condition=describe, describe_action=lambda a: actions.describe(a, users),
                  fields=FIELDS, ops=OPS, event_type=event_type(rule.trigger),
                  run_log=editing.run_log(rule), alert_kinds=actions.ALERT_KINDS, kinds=actions.KINDS)


@bp.get(PREFIX + "/<uuid:rule_id>")
@admin_required
def show(rule_id):
    """One rule: its settings, conditions, actions, preview and run log."""
    return _show(_rule_or_404(rule_id))


@bp.post(PREFIX + "/<uuid:rule_id>")
@admin_required
def update(rule_id):
    """Save the rule's name, event, all/any and on/off."""
    rule = _rule_or_404(rule_id)
    form = RuleForm()
    if form.validate_on_submit():
        try:
            editing.update(rule, form.name.data, form.trigger.data, form.match.data, form.enabled.data)
        except ValueError as e:
            form.trigger.errors.append(str(e))
        else:
            flash("Rule saved.")
            return _back_to(rule)
    return _show(rule, 422, rule_form=form)


@bp.post(PREFIX + "/<uuid:rule_id>/conditions")
@admin_required
def add_condition(rule_id):
    """Add one condition on the event's payload."""
    rule = _rule_or_404(rule_id)
    form = ConditionForm()
    if not form.validate_on_submit():
        return _show(rule, 422, condition_form=form)
    editing.add_condition(rule, form.condition())
    return _back_to(rule, "#conditions")


@bp.post(PREFIX + "/<uuid:rule_id>/conditions/<int:index>/delete")
@admin_required
def remove_condition(rule_id, index):
    """Remove a condition."""
    return _edit(rule_id, lambda rule: editing.remove_condition(rule, index), "#conditions")


@bp.post(PREFIX + "/<uuid:rule_id>/actions")
@admin_required
def save_action(rule_id):
    """Add an action at the end, or save the one being edited."""
    rule = _rule_or_404(rule_id)
    form, _ = _action_form()
    action_id = request.form.get("action_id") or ""
    if action_id and editing.action_of(rule, action_id) is None:
        abort(404)
    if not form.validate_on_submit():
        return _show(rule, 422, action_form=form, editing_id=action_id or None)
    editing.save_action(rule, form.action(action_id or editing.new_action_id()))
    return _back_to(rule, "#actions")


@bp.get(PREFIX + "/<uuid:rule_id>/actions/<action_id>/edit")
@admin_required
def edit_action(rule_id, action_id):
    """The action's settings in the form, to change them."""
    rule = _rule_or_404(rule_id)
    action = editing.action_of(rule, action_id)
    if action is None or action["kind"] in actions.ALERT_KINDS:
        abort(404)
    form, _ = _action_form(formdata=None)
    form.fill(action)
    return _show(rule, action_form=form, editing_id=action_id)


@bp.post(PREFIX + "/<uuid:rule_id>/actions/<action_id>/move")
@admin_required
def move_action(rule_id, action_id):
    """Move an action up or down: they run in order."""
    up = request.form.get("direction") == "up"
    return _edit(rule_id, lambda rule: editing.move_action(rule, action_id, up=up), "#actions")


@bp.post(PREFIX + "/<uuid:rule_id>/actions/<action_id>/delete")
@admin_required
def remove_action(rule_id, action_id):
    """Remove an action."""
    return _edit(rule_id, lambda rule: editing.remove_action(rule, action_id), "#actions")


@bp.get(PREFIX + "/<uuid:rule_id>/preview")
@admin_required
def preview(rule_id):
    """Each message of the rule rendered with the last real event of its type."""
    rule = _rule_or_404(rule_id)
    event = editing.last_event(rule.organization_id, rule.trigger)
    previews = []
    if event is not None:
        previews = [(actions.describe(a), actions.preview(a, event, rule)) for a in rule.actions or []]
        matched = service.decide(rule, event, [])
    else:
        matched = None
    return render("automations/preview.html", "automations/_preview.html", rule=rule, event=event,
                  previews=previews, matched=matched)


@bp.post(PREFIX + "/<uuid:rule_id>/resume")
@admin_required
def resume(rule_id):
    """Resume a paused rule (after fixing what failed)."""
    rule = _rule_or_404(rule_id)
    service.resume(rule)
    flash("Rule resumed: it runs on the next event.")
    return _back_to(rule)


@bp.post(PREFIX + "/<uuid:rule_id>/delete")
@admin_required
def delete(rule_id):
    """Delete the rule and its run log."""
    rule = _rule_or_404(rule_id)
    try:
        editing.delete(rule)
    except ValueError as e:
        flash(str(e))
        return _back_to(rule)
    flash("Rule deleted.")
    return redirect_to(url_for("automations.index"))
