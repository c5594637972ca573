"""Settings → Integrations: the hub of integration cards, API keys, and the connections to other products."""

from flask import Blueprint

bp = Blueprint("integrations", __name__)

from app.integrations import connection_routes, jobs, routes  # noqa: E402,F401
