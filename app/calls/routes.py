"""The dashboard's calls: history, a call's timeline, and the rep's accept/decline/call screen."""

import uuid
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.calls import bp, connection, service
from app.calls.forms import CallFilterForm
from app.calls.ice import ice_servers, ice_transport_policy, turn_configured
from app.calls.tokens import sign_call_token
from app.extensions import db
from app.htmx import render
from app.models import Call, CallEvent, Event, Site, User
from app.pager import newest_first
from app.recordings.routes import player_context
from app.recordings.service import recording_for_call
from app.recordings.tokens import upload_token
from app.tenancy import org_get_or_404, org_list, org_select

PER_PAGE = 25


@bp.app_context_processor
def ice_diagnostics():
    # the Sites and "Who can take a call" pages warn when no TURN server is configured
    return {"turn_configured": turn_configured}


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.get("/calls")
@login_required
def index():
    """Every call of the organization, newest first, filtered and paginated."""
    form = _filter_form()
    # the row's contact, site and rep in the same query: no statement per row
    query = _filtered(org_select(Call), form).options(
        sa.orm.joinedload(Call.contact), sa.orm.joinedload(Call.site), sa.orm.joinedload(Call.accepted_by),
        sa.orm.joinedload(Call.recording))
    page = newest_first(query, Call.requested_at, Call.id, request.args, PER_PAGE)
    args = {k: v for k, v in request.args.items() if k not in ("before", "after") and v}
    return render("calls/index.html", "calls/_list.html", form=form, calls=page, args=args)


def _filter_form() -> CallFilterForm:
    form = CallFilterForm(request.args)
    form.site.choices += [(str(s.id), s.domain) for s in org_list(Site, Site.domain)]
    form.rep.choices += [(str(u.id), u.name) for u in org_list(User, User.name)]
    form.validate()
    return form


def _filtered(query, form: CallFilterForm):
    """Apply each filter whose value is valid; a bad value is shown as an error, not a 500."""
    if form.status.data and not form.status.errors:
        query = query.where(Call.status == form.status.data)
    if form.site.data and not form.site.errors:
        query = query.where(Call.site_id == uuid.UUID(form.site.data))
    if form.rep.data and not form.rep.errors:
        query = query.where(Call.accepted_by_id == uuid.UUID(form.rep.data))
    if form.date_from.data and not form.date_from.errors:
        query = query.where(Call.requested_at >= datetime.combine(form.date_from.data, time.min, UTC))
    if form.date_to.data and not form.date_to.errors:
        end = datetime.combine(form.date_to.data, time.min, UTC) + timedelta(days=1)
        query = query.where(Call.requested_at < end)
    return query


@bp.get("/calls/<uuid:call_id>")
@login_required
def show(call_id):
    """A call: its contact, the visitor's answers and the timeline of its events."""
    call = org_get_or_404(Call, call_id)
    events = db.session.scalars(
        sa.select(Event).join(CallEvent, CallEvent.event_id == Event.id)
        .where(CallEvent.call_id == call.id).order_by(Event.created_at, Event.type.desc())
    ).all()
    return render_template("calls/show.html", call=call, events=events,
                           answers=service.answer_lines(call.answers), place=service.place,
                           connections=connection.for_call(call.id), **player_context(call.id))


@bp.post("/calls/<uuid:call_id>/accept")
@login_required
def accept(call_id):
    """Take the call: the first rep wins, the others see who took it. (The service finds the call
    in the rep's organization: its ring can come before its row.)"""
    try:
        service.accept(call_id, current_user)
    except service.CallError as e:
        if wants_json():
            return jsonify({"error": {"code": e.code, "message": e.message}}), e.status
        if e.status == 404:
            abort(404)
        flash(e.message)
        return redirect(url_for("calls.show", call_id=call_id), 303)
    live = url_for("calls.live", call_id=call_id)
    return jsonify({"url": live}) if wants_json() else redirect(live, 303)


@bp.post("/calls/<uuid:call_id>/decline")
@login_required
def decline(call_id):
    """Not this one: stop this rep's ringing (all their tabs)."""
    try:
        service.decline(call_id, current_user)
    except service.CallError:  # not a call of the rep's organization
        abort(404)
    return ("", 204) if wants_json() else redirect(url_for("calls.index"), 303)


@bp.get("/calls/<uuid:call_id>/live")
@login_required
def live(call_id):
    """The call screen: video beside the visitor's answers, contact and location."""
    call = org_get_or_404(Call, call_id)
    if call.status != "accepted" or call.accepted_by_id != current_user.id:
        return redirect(url_for("calls.show", call_id=call_id))
    token = sign_call_token(call.id, "rep", current_user.id)
    socket_url = url_for("realtime.call_socket", token=token, _external=True)
    return render_template(
        "calls/live.html", call=call, answers=service.answer_lines(call.answers), place=service.place,
        socket_url=socket_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1),
        ice=ice_servers(f"rep-{current_user.id}"), ice_policy=ice_transport_policy(),
        upload_token=_upload_token(call),
    )


def _upload_token(call: Call) -> str | None:
    """The recorder's pass when this call is being recorded (the policy and the visitor allowed it)."""
    recording = recording_for_call(call.id, call.organization_id)
    if recording is None or recording.status != "recording":
        return None
    return upload_token(call.id, call.organization_id)


@bp.post("/calls/<uuid:call_id>/hangup")
@login_required
def hangup(call_id):
    """The rep hangs up: call.ended, and the visitor's screen says so. Only the rep in the call
    hangs it up; an admin may end any call of the organization."""
    call = org_get_or_404(Call, call_id)
    if call.accepted_by_id != current_user.id and not current_user.is_admin:
        if wants_json():
            message = "You can only hang up your own calls."
            return jsonify({"error": {"code": "forbidden", "message": message}}), 403
        abort(403)
    service.end(call.id, "rep_hung_up" if call.accepted_by_id == current_user.id else "admin_ended")
    return ("", 204) if wants_json() else redirect(url_for("calls.show", call_id=call_id), 303)
