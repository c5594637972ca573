"""The one way to reach organization data: every query is scoped to the current user's org."""

from functools import wraps

import sqlalchemy as sa
from flask import abort, g
from flask_login import current_user, login_required

from app.extensions import db


def current_organization_id():
    """The organization of this request: the API key's (see app.api.auth), else the logged-in user's."""
    if g.get("api_organization_id") is not None:
        return g.api_organization_id
    return current_user.organization_id


def org_select(model):
    """SELECT of `model` limited to the current organization."""
    return sa.select(model).where(model.organization_id == current_organization_id())


def org_list(model, *order_by):
    return db.session.scalars(org_select(model).order_by(*order_by)).all()


def org_get_or_404(model, object_id):
    """The object when it belongs to this organization; another org's object is a 404."""
    obj = db.session.scalar(org_select(model).where(model.id == object_id))
    if obj is None:
        abort(404)
    return obj


def admin_required(view):
    """Logged-in admins only; a rep gets the 403 page."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped
