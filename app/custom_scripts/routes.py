"""The Custom Scripts page (admins): scripts, their versions and rollback, the audit log, the kill switch."""

import uuid

from flask import abort, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.custom_scripts import bp
from app.custom_scripts import service as svc
from app.custom_scripts.forms import ScriptForm
from app.models import Site
from app.models.custom_scripts import CustomScript
from app.tenancy import admin_required, org_get_or_404, org_list


def _form(script: CustomScript | None = None) -> ScriptForm:
    form = (
        ScriptForm(obj=None)
        if script is None
        else ScriptForm(
            data={
                "name": script.name,
                "surface": script.surface,
                "kind": script.kind,
                "enabled": script.enabled,
                "pages": script.screens if script.surface == "dashboard" else [],
                "steps": script.screens if script.surface == "widget" else [],
                "sites": list(script.site_ids or []),
                "content": script.current.content,
            }
        )
    )
    form.sites.choices = [(str(s.id), s.domain) for s in org_list(Site, Site.domain)]
    return form


def _index(status=200):
    org_id = current_user.organization_id
    return render_template(
        "custom_scripts/index.html",
        scripts=org_list(CustomScript, CustomScript.name),
        disabled=svc.scripts_disabled(org_id),
        activity=svc.audit_log(org_id),
    ), status


@bp.get("/custom-scripts")
@admin_required
def index():
    """Every script, the kill switch and the audit log."""
    return _index()


@bp.post("/custom-scripts/kill-switch")
@admin_required
def kill_switch():
    """Stop (or start again) every script of the organization at once."""
    svc.set_kill_switch(current_user.organization_id, current_user, request.form.get("disabled") == "1")
    return redirect(url_for("custom_scripts.index"), 303)


@bp.get("/custom-scripts/new")
@admin_required
def new():
    """The form for a new script."""
    form = _form()
    if request.args.get("surface") in ("dashboard", "widget"):
        form.surface.data = request.args["surface"]
    return render_template("custom_scripts/edit.html", form=form, script=None)


@bp.post("/custom-scripts")
@admin_required
def create():
    """Save a new script as its version 1."""
    form = _form()
    if form.validate_on_submit():
        try:
            script = svc.create_script(current_user.organization_id, current_user, surface=form.surface.data,
                                       kind=form.kind.data, **_edits(form))
        except svc.ScriptError as e:
            getattr(form, e.field).errors.append(str(e))
        else:
            return redirect(url_for("custom_scripts.show", script_id=script.id), 303)
    return render_template("custom_scripts/edit.html", form=form, script=None), 422


def _edits(form: ScriptForm) -> dict:
    """What the form says of a script, new or saved again."""
    return {"name": form.name.data.strip(), "screens": form.screens(), "site_ids": form.sites.data or [],
            "enabled": form.enabled.data, "content": form.content.data or "", "note": form.note.data or ""}


def _show(script: CustomScript, form: ScriptForm, status: int = 200, problem: str | None = None):
    return render_template(
        "custom_scripts/edit.html",
        form=form,
        script=script,
        problem=problem,
        logs=svc.recent_logs(script),
        activity=svc.audit_log(script.organization_id, script.id),
        file_url=svc.file_url(script, script.current),
    ), status


@bp.get("/custom-scripts/<uuid:script_id>")
@admin_required
def show(script_id: uuid.UUID):
    """A script: its form, its versions with rollback, what browsers reported, its audit log."""
    script = org_get_or_404(CustomScript, script_id)
    return _show(script, _form(script))


@bp.post("/custom-scripts/<uuid:script_id>")
@admin_required
def update(script_id: uuid.UUID):
    """Save the script; changed code becomes a new version. Surface and type stay as created."""
    script = org_get_or_404(CustomScript, script_id)
    form = _form()
    form.surface.data, form.kind.data = script.surface, script.kind  # not editable: the form shows them
    if form.validate_on_submit():
        try:
            svc.update_script(script, current_user, **_edits(form))
        except svc.ScriptError as e:
            getattr(form, e.field).errors.append(str(e))
        else:
            return redirect(url_for("custom_scripts.show", script_id=script.id), 303)
    return _show(script, form, 422)


@bp.post("/custom-scripts/<uuid:script_id>/enabled")
@admin_required
def toggle(script_id: uuid.UUID):
    """Turn one script on or off from the list."""
    script = org_get_or_404(CustomScript, script_id)
    svc.set_enabled(script, current_user, request.form.get("enabled") == "1")
    return redirect(
        request.form.get("next") == "show"
        and url_for("custom_scripts.show", script_id=script.id)
        or url_for("custom_scripts.index"),
        303,
    )


@bp.post("/custom-scripts/<uuid:script_id>/rollback")
@admin_required
def rollback(script_id: uuid.UUID):
    """Run an older version again (saved as a new version)."""
    script = org_get_or_404(CustomScript, script_id)
    try:
        svc.rollback(script, current_user, int(request.form.get("version", "0") or 0))
    except (svc.ScriptError, ValueError) as e:
        message = str(e) if isinstance(e, svc.ScriptError) else "Choose a version."
        return _show(script, _form(script), 422, problem=message)
    return redirect(url_for("custom_scripts.show", script_id=script.id), 303)


@bp.post("/custom-scripts/<uuid:script_id>/errors/reset")
@admin_required
def reset_errors(script_id: uuid.UUID):
    """Start counting errors from zero (after fixing the script)."""
    svc.reset_errors(org_get_or_404(CustomScript, script_id), current_user)
    return redirect(url_for("custom_scripts.show", script_id=script_id), 303)


@bp.post("/custom-scripts/<uuid:script_id>/delete")
@admin_required
def delete(script_id: uuid.UUID):
    """Delete a script and its versions (the audit log keeps the record)."""
    svc.delete_script(org_get_or_404(CustomScript, script_id), current_user)
    return redirect(url_for("custom_scripts.index"), 303)


@bp.post("/custom-scripts/<uuid:script_id>/reports")
@login_required
def report(script_id: uuid.UUID):
    """ctx.log() lines and caught errors from a dashboard page (any teammate's browser runs scripts)."""
    script = svc.script_by_id(current_user.organization_id, script_id)
    if script is None or script.surface != "dashboard":
        abort(404)
    if not svc.record_posted(script, request.get_json(silent=True) or {}):
        return jsonify(
            {"error": {"code": "rate_limited", "message": "Too many reports from this script."}}
        ), 429
    return "", 204
