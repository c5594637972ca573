from flask import Blueprint

bp = Blueprint("qualifications", __name__)

from app.qualifications import routes  # noqa: E402,F401
