from flask import Blueprint

bp = Blueprint("availability", __name__)

from app.availability import routes  # noqa: E402,F401
from app.availability.signals import init_signals  # noqa: E402

init_signals()
