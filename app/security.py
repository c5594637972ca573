"""Response headers and request checks every dashboard page gets."""

import os

from flask import Flask, abort, g, request

from app.extensions import csrf

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; media-src 'self' blob:; frame-ancestors 'none'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'"
)
_public_blueprints: set[str] = set()  # names of blueprints open to other sites


def public_blueprint(bp):
    """Mark a blueprint called from customer sites or API clients: no session CSRF, no same-site rule."""
    csrf.exempt(bp)
    _public_blueprints.add(bp.name)
    return bp


def is_public_request() -> bool:
    """Called from customer sites or API clients (errors answer in JSON), not the dashboard."""
    return request.blueprint in _public_blueprints


def _refuse_cross_site_writes():
    # A browser tells us a write comes from another site: refuse it before CSRF even runs.
    if request.method in UNSAFE_METHODS and request.blueprint not in _public_blueprints:
        if request.headers.get("Sec-Fetch-Site") == "cross-site":
            abort(400, "Cross-site request refused.")


def _request_id():
    # 128 random bits in hex, like uuid4().hex at a third of its cost
    g.request_id = request.headers.get("X-Request-Id") or os.urandom(16).hex()


def _headers(response):
    response.headers["X-Request-Id"] = g.get("request_id", "")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.blueprint not in _public_blueprints:
        response.headers.setdefault("Content-Security-Policy", DASHBOARD_CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def init_security(app: Flask) -> None:
    app.before_request(_request_id)
    app.before_request(_refuse_cross_site_writes)
    app.after_request(_headers)
