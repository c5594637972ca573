"""Per-IP limits of the widget's public endpoints, with the `limits` library (Flask-Limiter's core).

The widget's config is the hottest endpoint of the app, so its counter can live in each web
process's memory (WIDGET_RATE_LIMIT_STORAGE=memory, the default: no network round trip; a visitor
whose requests spread over N processes gets up to N times the limit, still far above any real
visitor's rate) or in Redis (=redis: exact across processes, one round trip per request).
"""

import math
import time

from flask import current_app, request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from app.redis_store import limiter_storage_uri

# endpoint -> config key of its limit
LIMITS = {"widget.config": "WIDGET_RATE_LIMIT", "widget.qualify": "QUALIFY_RATE_LIMIT"}


def _limiter() -> FixedWindowRateLimiter:
    app = current_app
    if "widget_rate_limiter" not in app.extensions:
        where = app.config["WIDGET_RATE_LIMIT_STORAGE"]
        uri = limiter_storage_uri(app.config["REDIS_URL"]) if where == "redis" else "memory://"
        app.extensions["widget_rate_limiter"] = FixedWindowRateLimiter(storage_from_string(uri))
    return app.extensions["widget_rate_limiter"]


def retry_after_if_limited() -> int | None:
    """Count this request; the seconds to wait when it is over its endpoint's limit, else None."""
    key = LIMITS.get(request.endpoint)
    if key is None or request.method == "OPTIONS":
        return None
    item = parse(current_app.config[key])
    limiter, who = _limiter(), request.remote_addr or "unknown"
    if limiter.hit(item, "widget", request.endpoint, who):
        return None
    reset_at = limiter.get_window_stats(item, "widget", request.endpoint, who).reset_time
    return max(1, math.ceil(reset_at - time.time()))
