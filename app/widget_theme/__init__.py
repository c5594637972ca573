from flask import Blueprint

bp = Blueprint("widget_theme", __name__)

from app.widget_theme import routes  # noqa: E402,F401
