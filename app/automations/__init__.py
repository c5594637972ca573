"""Automation rules: per-event triggers with conditions and ordered actions (Automations page)."""

from flask import Blueprint

bp = Blueprint("automations", __name__)

from app.automations import jobs, routes  # noqa: E402,F401
