"""The organization's own settings: its name and its timezone (the calendar analytics use)."""

from flask import Blueprint

bp = Blueprint("organization", __name__)

from app.organization import routes  # noqa: E402,F401
