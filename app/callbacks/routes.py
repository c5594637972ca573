"""The Callbacks queue: every lead waiting for a call back; claim, notes, done."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.callbacks import bp, service

# a module import, not names from it: app.calls.service may still be initializing here
# (calls.service → availability → routing → widget → callbacks), and its names come at call time
from app.calls import service as calls_service
from app.extensions import db
from app.htmx import is_htmx, render
from app.models import Callback
from app.models.base import utcnow
from app.tenancy import org_get_or_404

STATUS_FILTERS = (("", "To do"), ("open", "Unclaimed"), ("claimed", "Claimed"), ("done", "Done"))


@bp.get("/callbacks")
@login_required
def index():
    """The queue: open and claimed callbacks, the most overdue first (or the done ones)."""
    status = request.args.get("status", "")
    if status not in dict(STATUS_FILTERS):
        status = ""
    callbacks = db.session.scalars(
        service.queue_query(current_user.organization_id, status or None).limit(200)).all()
    return render("callbacks/index.html", "callbacks/_queue.html", callbacks=callbacks, current=status,
                  filters=STATUS_FILTERS, now=utcnow(), windows=service.WINDOWS, reasons=service.REASONS)


@bp.get("/callbacks/<uuid:callback_id>")
@login_required
def show(callback_id):
    """One callback: who, how to reach them, when, their answers and attributes, the notes."""
    callback = org_get_or_404(Callback, callback_id)
    return _show(callback)


def _show(callback, error=None, status=200):
    return render_template("callbacks/show.html", callback=callback, now=utcnow(), windows=service.WINDOWS,
                           reasons=service.REASONS, answers=calls_service.answer_lines(callback.answers),
                           place=calls_service.place,
                           error=error), status


def _back(callback):
    """An htmx click re-renders the queue; a plain form goes to the callback (303)."""
    if is_htmx():
        return index()
    return redirect(url_for("callbacks.show", callback_id=callback.id), 303)


@bp.post("/callbacks/<uuid:callback_id>/claim")
@login_required
def claim(callback_id):
    """I'll call them back."""
    callback = org_get_or_404(Callback, callback_id)
    if not service.claim(callback, current_user):
        flash("Someone else already claimed this callback.")
    return _back(callback)


@bp.post("/callbacks/<uuid:callback_id>/done")
@login_required
def done(callback_id):
    """Called back: done, with the notes; callback.completed goes out."""
    callback = org_get_or_404(Callback, callback_id)

    def finish(text):
        if not service.complete(callback, current_user, text or callback.notes):
            flash("This callback is already done.")
        return _back(callback)

    return _with_notes(callback, finish)


@bp.post("/callbacks/<uuid:callback_id>/notes")
@login_required
def notes(callback_id):
    """Save the notes (what was said, when to try again)."""
    callback = org_get_or_404(Callback, callback_id)

    def save(text):
        service.save_notes(callback, text)
        return redirect(url_for("callbacks.show", callback_id=callback.id), 303)

    return _with_notes(callback, save)


def _with_notes(callback, action):
    """Run `action` with the posted notes (stripped), or re-render the callback with the error."""
    text = (request.form.get("notes") or "").strip()
    if len(text) > service.MAX_NOTES:
        return _show(callback, f"Keep the notes under {service.MAX_NOTES} characters.", 422)
    return action(text)
