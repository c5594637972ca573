"""Callbacks: visitors who could not talk now leave their details; reps work the queue."""

from flask import Blueprint

from app.security import public_blueprint

bp = Blueprint("callbacks", __name__)
# the widget's endpoint, called from customers' pages (CORS, no cookies, no CSRF)
visitor_bp = public_blueprint(Blueprint("callback_requests", __name__))

from app.callbacks import routes, visitor_routes  # noqa: E402,F401
