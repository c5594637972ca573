"""The public side of the widget: the scripts customer sites load, its config and the answers check."""

from flask import Blueprint

from app.security import public_blueprint

bp = public_blueprint(Blueprint("widget", __name__))

from app.widget import routes  # noqa: E402,F401
from app.widget.signals import init_signals  # noqa: E402

init_signals()
