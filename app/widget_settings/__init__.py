from flask import Blueprint

bp = Blueprint("widget_settings", __name__)

from app.widget_settings import routes  # noqa: E402,F401
