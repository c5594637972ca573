import uuid
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import bp
from app.auth.forms import ForgotPasswordForm, LoginForm, PasswordChangeForm, ResetPasswordForm, SignupForm
from app.auth.service import (
    EmailTaken,
    authenticate,
    change_password,
    find_user,
    reset_token,
    set_password,
    sign_up,
    user_for_reset_token,
)
from app.extensions import db, limiter, login_manager
from app.mail import can_send
from app.models import User
from app.owed_mail import owe


@login_manager.user_loader
def load_user(session_id: str):
    """The session's user, unless that session was ended (logout, new password) since it was issued."""
    user_id, _, version = session_id.partition(".")
    try:
        # every dashboard page shows the organization: loaded with the user, one statement
        user = db.session.get(User, uuid.UUID(user_id), options=[sa.orm.joinedload(User.organization)])
    except ValueError:
        return None
    if user is None or str(user.session_version or 0) != (version or "0"):
        return None
    return user


def _login_email() -> str:
    return "login:" + (request.form.get("email") or "").strip().lower()


def _login_limit() -> str:
    from flask import current_app

    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """Create an organization and its first admin."""
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = sign_up(form.organization.data, form.name.data, form.email.data, form.password.data)
        except EmailTaken:
            # the address has an account already: say so next to the field, create nothing
            form.email.errors.append("An account with this email exists. Log in instead.")
        else:
            login_user(user)
            flash("Welcome to Converc. Add your website to get your widget snippet.")
            return redirect(url_for("sites.index"))
    return render_template("auth/signup.html", form=form), 422 if form.errors else 200


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, key_func=_login_email, methods=["POST"])
def login():
    """Log in with email and password."""
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user:
            login_user(user)
            return redirect(_safe_next() or url_for("dashboard.index"))
        form.password.errors.append("Wrong email or password.")
    return render_template("auth/login.html", form=form), 422 if form.errors else 200


def _safe_next() -> str | None:
    target = request.args.get("next", "")
    # only same-site paths. Browsers drop tabs and newlines and read "\" as "/", so "/\t/evil" or
    # "/\\evil" would become "//evil": refuse any of those characters, then any host or scheme.
    if not target.startswith("/") or any(ch in target for ch in "\\\t\r\n") or not target.isprintable():
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and not target.startswith("//") else None


@bp.post("/logout")
@login_required
def logout():
    """Log out; a copy of this session's cookie stops working too."""
    current_user.end_sessions()
    db.session.commit()
    logout_user()
    return redirect(url_for("auth.login"))


def _reset_email() -> str:
    return "reset:" + (request.form.get("email") or "").strip().lower()


def _reset_limit() -> str:
    return current_app.config["PASSWORD_RESET_RATE_LIMIT"]


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_reset_limit, key_func=_reset_email, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password():
    """Mail a reset link; the answer is the same whether the address has an account or not."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = find_user(form.email.data)
        if user and user.is_active and can_send():
            link = url_for("auth.reset_password", token=reset_token(user), _external=True)
            owe("password_reset", user.id, link)
        return render_template("auth/forgot.html", form=form, sent_to=form.email.data.strip())
    return render_template("auth/forgot.html", form=form, can_send=can_send()), 422 if form.errors else 200


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password from a mailed link (single use, expiring)."""
    user = user_for_reset_token(token)
    if user is None:
        return render_template("auth/reset.html", form=None), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        set_password(user, form.password.data)
        login_user(user)
        flash("Your password is changed, and every other session of your account has ended.")
        return redirect(url_for("dashboard.index"))
    return render_template("auth/reset.html", form=form), 422 if form.errors else 200


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """Change the password."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if change_password(current_user, form.current.data, form.password.data):
            login_user(current_user)  # a new session id for this browser; every other session has ended
            flash("Password changed. You are still logged in here; every other session has ended.")
            return redirect(url_for("auth.account"))
        form.current.errors.append("This is not your current password.")
    return render_template("auth/account.html", form=form), 422 if form.errors else 200
