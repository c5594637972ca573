import uuid

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_user

from app.extensions import db
from app.htmx import render
from app.models import Invite, User
from app.models.base import utcnow
from app.owed_mail import owe
from app.team import bp, service
from app.team.forms import AcceptInviteForm, InviteForm, RoleForm
from app.tenancy import admin_required, org_get_or_404, org_list


def _team_page(form=None, link=None, error=None, status=200):
    invites = [i for i in org_list(Invite, Invite.created_at.desc()) if i.is_pending]
    return render(
        "team/index.html", "team/_team.html", status=status,
        members=org_list(User, User.created_at), invites=invites,
        # formdata=None: after a POST a fresh form would otherwise refill itself from the request
        form=form or InviteForm(formdata=None), role_form=RoleForm(formdata=None), link=link, error=error,
    )


@bp.get("/team")
@admin_required
def index():
    """List teammates and pending invites."""
    return _team_page()


@bp.post("/team/invites")
@admin_required
def invite():
    """Invite a teammate by email; show the link to copy, and mail it when SMTP is set up."""
    form = InviteForm()
    if not form.validate_on_submit():
        return _team_page(form=form, status=422)
    try:
        invite, token = service.create_invite(current_user, form.email.data, form.role.data)
    except service.TeamError as e:
        form.email.errors.append(str(e))
        return _team_page(form=form, status=422)
    link = url_for("team.join", token=token, _external=True)
    if current_app.config["SMTP_HOST"]:
        owe("invite", invite.id, link)  # owed: sent even if Redis is down now (the link is shown too)
    return _team_page(link=link)


@bp.post("/team/invites/<uuid:invite_id>/delete")
@admin_required
def invite_delete(invite_id: uuid.UUID):
    """Revoke a pending invite."""
    invite = org_get_or_404(Invite, invite_id)
    invite.expires_at = utcnow()
    db.session.commit()
    return _team_page()


@bp.post("/team/<uuid:user_id>/role")
@admin_required
def role_update(user_id: uuid.UUID):
    """Change a teammate's role."""
    member = org_get_or_404(User, user_id)
    form = RoleForm()
    error = None
    if form.validate_on_submit():
        try:
            service.change_role(member, form.role.data)
        except service.TeamError as e:
            error = str(e)
    return _team_page(error=error, status=422 if error else 200)


@bp.post("/team/<uuid:user_id>/delete")
@admin_required
def delete(user_id: uuid.UUID):
    """Remove a teammate."""
    member = org_get_or_404(User, user_id)
    try:
        service.remove_member(current_user, member)
    except service.TeamError as e:
        return _team_page(error=str(e), status=422)
    return _team_page()


@bp.route("/invite/<token>", methods=["GET", "POST"])
def join(token: str):
    """Accept an invite: choose a name and password, then land on the dashboard."""
    invite = service.find_invite(token)
    if invite is None:
        return render_template("team/join_invalid.html"), 410
    form = AcceptInviteForm()
    if form.validate_on_submit():
        try:
            user = service.accept_invite(invite, form.name.data, form.password.data)
        except service.TeamError as e:
            form.name.errors.append(str(e))
        else:
            login_user(user)
            flash("Welcome aboard. Set yourself Available to take calls.")
            return redirect(url_for("dashboard.index"))
    return render_template("team/join.html", form=form, invite=invite), 422 if form.errors else 200
