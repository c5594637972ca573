"""Per-IP limits of the widget's public endpoints.

The limits are parsed by the `limits` library (Flask-Limiter's core) and counted in fixed windows,
either in each web process's memory (WIDGET_RATE_LIMIT_STORAGE=memory, the default: no round
trip; a visitor whose requests spread over N processes gets up to N times the limit, still far
above any real visitor's rate) or in Redis with `limits` (=redis: exact across processes, one
round trip per request).
"""

import functools
import math
import threading
import time

from flask import current_app, request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from app.redis_store import limiter_storage_uri, unless_redis_down

# endpoint -> config key of its limit
# (the availability poll is counted apart from the config: an open page polls it every few seconds)
LIMITS = {"widget.config": "WIDGET_RATE_LIMIT", "widget.availability": "WIDGET_RATE_LIMIT",
          "widget.qualify": "QUALIFY_RATE_LIMIT"}


class LocalFixedWindow:
    """Fixed windows counted in this process.

    `limits`' own memory storage starts a timer thread every few milliseconds to expire its keys,
    which under load cost more than all the rest of /widget/config; here a window's counters are
    simply dropped when the next window starts.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._windows: dict[int, tuple[int, dict]] = {}  # window length -> (window number, counts)

    def hit(self, item: RateLimitItem, *identifiers) -> bool:
        length = item.get_expiry()
        number = int(time.time() // length)
        key = (item.amount, *identifiers)
        with self._lock:
            current, counts = self._windows.get(length, (None, None))
            if current != number:
                counts = {}
                self._windows[length] = (number, counts)
            counts[key] = counts.get(key, 0) + 1
            return counts[key] <= item.amount

    def retry_after(self, item: RateLimitItem, *identifiers) -> int:
        length = item.get_expiry()
        return max(1, math.ceil(length - time.time() % length))


class RedisFixedWindow:
    """The same, counted in Redis by `limits`: exact across every web process."""

    def __init__(self, redis_url: str):
        self._limiter = FixedWindowRateLimiter(storage_from_string(limiter_storage_uri(redis_url)))

    def hit(self, item: RateLimitItem, *identifiers) -> bool:
        allowed = True  # Redis unreachable: the limit fails open (logged) rather than refuse visitors
        with unless_redis_down("a widget rate limit"):
            allowed = self._limiter.hit(item, *identifiers)
        return allowed

    def retry_after(self, item: RateLimitItem, *identifiers) -> int:
        reset_at = self._limiter.get_window_stats(item, *identifiers).reset_time
        return max(1, math.ceil(reset_at - time.time()))


def _counter():
    app = current_app
    if "widget_rate_limiter" not in app.extensions:
        redis = app.config["WIDGET_RATE_LIMIT_STORAGE"] == "redis"
        app.extensions["widget_rate_limiter"] = (RedisFixedWindow(app.config["REDIS_URL"]) if redis
                                                 else LocalFixedWindow())
    return app.extensions["widget_rate_limiter"]


@functools.lru_cache(maxsize=32)
def _parsed(limit: str) -> RateLimitItem:
    return parse(limit)


def retry_after_if_limited() -> int | None:
    """Count this request; the seconds to wait when it is over its endpoint's limit, else None."""
    key = LIMITS.get(request.endpoint)
    if key is None or request.method == "OPTIONS":
        return None
    item = _parsed(current_app.config[key])
    counter, identifiers = _counter(), ("widget", request.endpoint, request.remote_addr or "unknown")
    if counter.hit(item, *identifiers):
        return None
    return counter.retry_after(item, *identifiers)
