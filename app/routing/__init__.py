"""Routing: which visitor may call (limits, refusals), teams, routing rules and who rings."""

from flask import Blueprint

bp = Blueprint("routing", __name__)

from app.routing import routes, team_routes  # noqa: E402,F401
from app.routing.snapshot import init_signals  # noqa: E402

init_signals()
