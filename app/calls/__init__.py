"""Live calls: the dashboard's calls pages and the visitor's call-request endpoints."""

from flask import Blueprint

from app.security import public_blueprint

bp = Blueprint("calls", __name__)
# called from customers' sites: authorised by the public key, the qualification token and the call token
visitor_bp = public_blueprint(Blueprint("call_requests", __name__))

from app.calls import routes, visitor_routes  # noqa: E402,F401
