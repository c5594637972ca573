import uuid

from flask import abort, jsonify, request

from app.htmx import render
from app.models.widget import QualificationQuestion, current_flow, flow_for
from app.qualifications import bp, service
from app.qualifications.forms import FlowForm, QuestionForm
from app.tenancy import admin_required, org_get_or_404
from app.widget.admin import draft_preview, pick_site, preview_config, save, saved

PAGE, PARTIAL = "qualifications/index.html", "qualifications/_flow.html"


def _question_form(question=None, formdata=None) -> QuestionForm:
    prefix = f"q-{question.id}" if question else "new"
    if formdata is not None:
        return QuestionForm(prefix=prefix)  # the rows as sent, blank ones too
    form = QuestionForm(prefix=prefix, formdata=None)
    if question:
        form.load(question)
    else:
        form.required.data = True
        form.pad()
    return form


def _page(site, status=200, failed=None):
    """The flow editor; `failed` holds the one form refused ("flow", "new" or a question's id)."""
    site, sites = pick_site(site.id)
    flow = current_flow(site)
    failed = failed or {}
    forms = {q.id: failed.get(q.id) or _question_form(q) for q in flow.questions}
    flow_form = failed.get("flow")
    if flow_form is None:
        flow_form = FlowForm(formdata=None)
        flow_form.disqualified_action.data = flow.disqualified_action
    return render(PAGE, PARTIAL, status=status, site=site, sites=sites, flow=flow, forms=forms,
                  flow_form=flow_form, new_form=failed.get("new") or _question_form())


def _save(site, key, form, apply, message):
    """Save one of the page's forms; refused, the page shows that form (`key`) with its errors."""
    return save(site, form, apply, message,
                lambda status: _page(site, status, {key: form} if status == 422 else None))


def _save_question(site, key, form, apply, message):
    """A question form: its Add option / Remove buttons show it again with a row more or less
    (nothing saved yet); any other submit saves it."""
    if form.edit_options(request.form.get("op", "save")):
        return _page(site, 200, {key: form})
    return _save(site, key, form, apply, message)


def _saved(site, message):
    return saved(site, message, lambda status: _page(site, status))


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

    def apply():
        flow_for(site).disqualified_action = form.disqualified_action.data

    return _save(site, "flow", form, apply, "Saved what disqualified visitors see.")


@bp.post("/widget/qualifications/<uuid:site_id>/questions")
@admin_required
def create_question(site_id: uuid.UUID):
    """Add a question at the end of the flow."""
    site, _ = pick_site(site_id)
    form = _question_form(formdata=request.form)
    return _save_question(site, "new", form, lambda: service.save_question(flow_for(site), None, form),
                          "Question added.")


@bp.post("/widget/qualifications/questions/<uuid:question_id>")
@admin_required
def update_question(question_id: uuid.UUID):
    """Save a question's text, type, rules and options."""
    question = org_get_or_404(QualificationQuestion, question_id)
    form = _question_form(question, formdata=request.form)
    return _save_question(question.flow.site, question.id, form,
                          lambda: service.save_question(question.flow, question, form), "Question saved.")


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
    return jsonify(preview_config(site))


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

    def config():
        config = preview_config(site)
        questions = config["flow"]["questions"]
        draft = service.draft_json(form, draft_id, question.position if question else len(questions) + 1)
        index = next((i for i, q in enumerate(questions) if q["id"] == draft_id), len(questions))
        questions[index:index + 1] = [draft]
        return {**config, "previewQuestion": index}

    return draft_preview(form, config)


def _uuid_or_404(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        abort(404)
