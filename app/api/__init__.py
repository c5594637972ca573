"""The REST API (Bearer API keys): webhooks, events polling, the OpenAPI document."""

from flask import Blueprint, current_app

from app.extensions import limiter
from app.security import public_blueprint

bp = public_blueprint(Blueprint("api", __name__))
# per API key (or client address without one), so one busy integration cannot starve the others
limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=lambda: _rate_key())(bp)


def _rate_key() -> str:
    import hashlib

    from flask import request
    from flask_limiter.util import get_remote_address

    header = request.headers.get("Authorization", "")
    return hashlib.sha256(header.encode()).hexdigest()[:24] if header else get_remote_address()


from app.api import errors, idempotency, routes, zapier  # noqa: E402,F401
from app.api.v1 import routes as v1_routes  # noqa: E402,F401
