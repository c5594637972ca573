"""Settings → Integrations: the hub of integration cards, and API keys."""

from flask import Blueprint

bp = Blueprint("integrations", __name__)

from app.integrations import routes  # noqa: E402,F401
