import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import bp
from app.auth.forms import LoginForm, PasswordChangeForm, SignupForm
from app.auth.service import EmailTaken, authenticate, change_password, sign_up
from app.extensions import db, limiter, login_manager
from app.models import User


@login_manager.user_loader
def load_user(user_id: str):
    try:
        return db.session.get(User, uuid.UUID(user_id))
    except ValueError:
        return None


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
    # only same-site paths: never an absolute or scheme-relative URL
    return target if target.startswith("/") and not target.startswith("//") else None


@bp.post("/logout")
@login_required
def logout():
    """Log out."""
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """Change the password."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if change_password(current_user, form.current.data, form.password.data):
            flash("Password changed.")
            return redirect(url_for("auth.account"))
        form.current.errors.append("This is not your current password.")
    return render_template("auth/account.html", form=form), 422 if form.errors else 200
