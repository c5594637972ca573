"""Operations endpoints: /healthz, /readyz, /metrics, and the web node's graceful shutdown."""

from flask import Blueprint

from app.security import public_blueprint

# public: probes and scrapers carry no session or CSRF token (/metrics checks its own access)
bp = public_blueprint(Blueprint("ops", __name__))

from app.ops import routes  # noqa: E402,F401
