"""A stand-in customer website for trying the widget right after `make run` (DEMO_PAGE)."""

from flask import Blueprint

bp = Blueprint("demo", __name__)

from app.demo import routes  # noqa: E402,F401
