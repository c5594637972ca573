"""The call limits, met when the visitor qualifies (before they press "Call now"), not after.

Counted in Redis by `limits` (fixed windows, exact across processes): per address (every
visitor behind an office NAT shares it, so it is the looser one) and per visitor fingerprint;
per site at the call request itself. Redis down: the limits fail open with a log line, except
the call request's own (CallRequestLimits), which ride on the request's MULTI: without Redis
nobody can be rung anyway, and the request is answered 503.
"""

import functools
import math
import time

from flask import current_app
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from redis.exceptions import RedisError

from app.redis_store import limiter_storage_uri

# refusal reason -> config key of its limit
VISITOR_LIMITS = (("rate_limited_ip", "CALL_RATE_LIMIT_PER_IP"),
                  ("rate_limited_visitor", "CALL_RATE_LIMIT_PER_VISITOR"))


def _limiter() -> FixedWindowRateLimiter:
    app = current_app
    if "call_limiter" not in app.extensions:
        storage = storage_from_string(limiter_storage_uri(app.config["REDIS_URL"]))
        app.extensions["call_limiter"] = FixedWindowRateLimiter(storage)
    return app.extensions["call_limiter"]


@functools.lru_cache(maxsize=16)
def _parsed(limit: str) -> RateLimitItem:
    return parse(limit)


def _visitor_keys(site, ip: str | None, fingerprint: str | None) -> list:
    keys = [("rate_limited_ip", ("calls-ip", ip or "unknown"))]
    if fingerprint:
        keys.append(("rate_limited_visitor", ("calls-visitor", str(site.id), fingerprint)))
    return [(reason, _parsed(current_app.config[dict(VISITOR_LIMITS)[reason]]), ids) for reason, ids in keys]


def _retry_after(item: RateLimitItem, ids) -> int:
    reset_at = _limiter().get_window_stats(item, *ids).reset_time
    return max(1, math.ceil(reset_at - time.time()))


def peek(site, ip, fingerprint) -> tuple[str | None, int | None]:
    """(refusal reason, seconds until allowed) if this visitor may not call now; counts nothing."""
    try:
        for reason, item, ids in _visitor_keys(site, ip, fingerprint):
            if not _limiter().test(item, *ids):
                return reason, _retry_after(item, ids)
    except RedisError:
        current_app.logger.warning("call limits unreachable: allowing", exc_info=True)
    return None, None


def take(site, ip, fingerprint) -> str | None:
    """Count one call permit for this visitor; the refusal reason when over a limit (nothing counted)."""
    reason, _ = peek(site, ip, fingerprint)
    if reason:
        return reason
    try:
        for _, item, ids in _visitor_keys(site, ip, fingerprint):
            _limiter().hit(item, *ids)
    except RedisError:
        current_app.logger.warning("call limits unreachable: allowing", exc_info=True)
    return None


class CallRequestLimits:
    """A call request's limits, the qualification's uses and the site's requests, counted in the
    MULTI the request sends anyway (its lock, who can be rung): no round trip of their own. The same
    fixed windows and keys as `limits`' own hits (SET NX with the window's expiry, then INCR, as its
    script does)."""

    def __init__(self, site, nonce: str | None):
        self.counters = []  # (refusal code, key, limit)
        if nonce:
            self._add("token_used_up", _parsed(f"{current_app.config['CALLS_PER_QUALIFICATION']} per hour"),
                      ("calls-token", nonce))
        self._add("rate_limited", _parsed(current_app.config["CALL_RATE_LIMIT_PER_SITE"]),
                  ("calls-site", str(site.id)))

    def _add(self, code: str, item: RateLimitItem, ids: tuple) -> None:
        key = _limiter().storage.prefixed_key(item.key_for(*ids))
        self.counters.append((code, key, item))

    def queue(self, pipe) -> int:
        """Queue the counts on `pipe`; how many replies they take (read them with `refusal`)."""
        for _, key, item in self.counters:
            pipe.set(key, 0, ex=item.get_expiry(), nx=True)
            pipe.incr(key)
            pipe.ttl(key)
        return 3 * len(self.counters)

    def refusal(self, replies: list) -> tuple[str, int, list[str]] | None:
        """(code, seconds until allowed, keys counted that the refusal must uncount) for the first
        limit these replies are over, in order (a used-up qualification does not count against the
        site, as when each was hit in turn); None when the request is within every limit."""
        for i, (code, _key, item) in enumerate(self.counters):
            count, ttl = replies[3 * i + 1], replies[3 * i + 2]
            if count > item.amount:
                return code, max(1, ttl), [key for _, key, _ in self.counters[i + 1:]]
        return None


def take_callback(ip: str | None) -> bool:
    """Count one left-details request from this address; False when over CALLBACK_RATE_LIMIT."""
    item = _parsed(current_app.config["CALLBACK_RATE_LIMIT"])
    try:
        return _limiter().hit(item, "callbacks-ip", ip or "unknown")
    except RedisError:
        current_app.logger.warning("callback limit unreachable: allowing", exc_info=True)
        return True
