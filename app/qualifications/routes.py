import uuid

from flask import abort, flash, jsonify, request

from app.extensions import db
from app.htmx import render
from app.models.widget import QualificationQuestion, flow_for
from app.qualifications import bp, service
from app.qualifications.forms import FlowForm, QuestionForm
from app.tenancy import admin_required, org_get_or_404
from app.widget.admin import pick_site
from app.widget.service import invalidate
from app.widget_settings.routes import preview_config

PAGE, PARTIAL = "qualifications/index.html", "qualifications/_flow.html"


def _question_form(question=None, formdata=None) -> QuestionForm:
    prefix = f"q-{question.id}" if question else "new"
    if formdata is not None:
        form = QuestionForm(prefix=prefix)
        form.pad()
        return form
    form = QuestionForm(prefix=prefix, formdata=None)
    if question:
        form.load(question)
    else:
        form.required.data = True
        form.pad()
    return form


def _page(site, status=200, flow_form=None, failed=None):
    """The flow editor; `failed` is the one question form (id or "new") to show with its errors."""
    site, sites = pick_site(site.id)
    flow = flow_for(site)
    failed = failed or {}
    forms = {q.id: failed.get(q.id) or _question_form(q) for q in flow.questions}
    if flow_form is None:
        flow_form = FlowForm(formdata=None)
        flow_form.disqualified_action.data = flow.disqualified_action
    response = render(PAGE, PARTIAL, status=status, site=site, sites=sites, flow=flow, forms=forms,
                      flow_form=flow_form, new_form=failed.get("new") or _question_form())
    db.session.commit()
    return response


def _saved(site, message):
    db.session.commit()
    invalidate(site)
    flash(message)
    return _page(site)


@bp.get("/widget/qualifications")
@admin_required
def index():
    """The site's qualification flow: questions in order, what happens to disqualified visitors."""
    site, sites = pick_site()
    if site is None:
        return render(PAGE, PARTIAL, site=None, sites=sites)
    return _page(site)


@bp.post("/widget/qualifications/<uuid:site_id>/flow")
@admin_required
def update_flow(site_id: uuid.UUID):
    """Choose what disqualified visitors get."""
    site, _ = pick_site(site_id)
    form = FlowForm()
    if not form.validate_on_submit():
        return _page(site, 422, flow_form=form)
    flow_for(site).disqualified_action = form.disqualified_action.data
    return _saved(site, "Saved what disqualified visitors see.")


@bp.post("/widget/qualifications/<uuid:site_id>/questions")
@admin_required
def create_question(site_id: uuid.UUID):
    """Add a question at the end of the flow."""
    site, _ = pick_site(site_id)
    form = _question_form(formdata=request.form)
    if not form.validate_on_submit():
        return _page(site, 422, failed={"new": form})
    service.save_question(flow_for(site), None, form)
    return _saved(site, "Question added.")


@bp.post("/widget/qualifications/questions/<uuid:question_id>")
@admin_required
def update_question(question_id: uuid.UUID):
    """Save a question's text, type, rules and options."""
    question = org_get_or_404(QualificationQuestion, question_id)
    site = question.flow.site
    form = _question_form(question, formdata=request.form)
    if not form.validate_on_submit():
        return _page(site, 422, failed={question.id: form})
    service.save_question(question.flow, question, form)
    return _saved(site, "Question saved.")


@bp.post("/widget/qualifications/questions/<uuid:question_id>/move")
@admin_required
def move_question(question_id: uuid.UUID):
    """Move a question one place up or down."""
    question = org_get_or_404(QualificationQuestion, question_id)
    service.move(question, "up" if request.form.get("direction") == "up" else "down")
    return _saved(question.flow.site, "Order saved.")


@bp.post("/widget/qualifications/questions/<uuid:question_id>/delete")
@admin_required
def delete_question(question_id: uuid.UUID):
    """Remove a question (answers already given stay with their calls)."""
    question = org_get_or_404(QualificationQuestion, question_id)
    site = question.flow.site
    service.delete(question)
    return _saved(site, "Question removed.")


@bp.get("/widget/qualifications/<uuid:site_id>/preview")
@admin_required
def preview(site_id: uuid.UUID):
    """The saved flow as the widget gets it, with which options disqualify, for the live preview."""
    site, _ = pick_site(site_id)
    config = preview_config(site)
    db.session.commit()
    return jsonify(config)


@bp.post("/widget/qualifications/<uuid:site_id>/preview")
@admin_required
def preview_draft(site_id: uuid.UUID):
    """The flow with one question as the admin is typing it (unsaved), for the live preview."""
    site, _ = pick_site(site_id)
    draft_id = request.form.get("draft", "new")
    question = None
    if draft_id != "new":
        question = org_get_or_404(QualificationQuestion, _uuid_or_404(draft_id))
    form = _question_form(question, formdata=request.form)
    if not form.validate():
        return jsonify({"errors": form.errors}), 422
    config = preview_config(site)
    db.session.commit()
    questions = config["flow"]["questions"]
    draft = service.draft_json(form, draft_id, question.position if question else len(questions) + 1)
    index = next((i for i, q in enumerate(questions) if q["id"] == draft_id), len(questions))
    questions[index:index + 1] = [draft]
    return jsonify({**config, "previewQuestion": index})


def _uuid_or_404(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        abort(404)
