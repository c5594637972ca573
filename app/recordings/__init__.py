"""Call recordings and transcripts.

`bp`: the dashboard's player and transcript (session login). `public_bp`: the rep browser's
uploads (upload token) and the signed media URLs, which carry their own authorisation.
"""

from flask import Blueprint

from app.security import public_blueprint

bp = Blueprint("recordings", __name__)
public_bp = public_blueprint(Blueprint("recordings_public", __name__, url_prefix="/recordings"))

from app.recordings import api, routes  # noqa: E402,F401
