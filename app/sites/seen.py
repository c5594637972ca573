"""Where a site's widget loaded but was refused: a domain not registered for it (yet).

A newcomer pastes the snippet, opens the page on 127.0.0.1 or www.their-site.com, and the badge
stays hidden. The config endpoint notes the refused page's host in a small Redis sorted set per
site (the newest KEEP hosts, scored by when they were last seen, gone after a week without one),
so the site's page can say "we saw your widget load on 127.0.0.1 — add it?". Only the refused path
pays for it: one pipelined round trip, at most once a minute per host and process.
"""

import time
from datetime import UTC, datetime

from app.redis_store import get_redis, unless_redis_down
from app.sites.service import InvalidDomain, normalize_domain

KEEP = 10
TTL_SECONDS = 7 * 24 * 3600
NOTE_EVERY_SECONDS = 60
_noted: dict[tuple[str, str], float] = {}  # this process's last note per (site, host)


def _key(site_id) -> str:
    return f"widget:unregistered:{site_id}"


def note(site_id: str, host: str | None) -> None:
    """A page on `host` asked for this site's config and was refused."""
    try:
        host = normalize_domain(host or "")
    except InvalidDomain:
        return  # nothing an admin could register
    now = time.monotonic()
    if now - _noted.get((site_id, host), -NOTE_EVERY_SECONDS) < NOTE_EVERY_SECONDS:
        return
    if len(_noted) > 10_000:  # a flood of made-up hosts must not grow this without bound
        _noted.clear()
    _noted[(site_id, host)] = now
    with unless_redis_down("noting an unregistered domain"):
        key = _key(site_id)
        pipe = get_redis().pipeline(transaction=False)
        pipe.zadd(key, {host: time.time()})
        pipe.zremrangebyrank(key, 0, -KEEP - 1)
        pipe.expire(key, TTL_SECONDS)
        pipe.execute()


def recent(site_id, registered: list[str]) -> list[tuple[str, datetime]]:
    """The hosts seen lately that are still not registered, newest first, with when."""
    rows = []
    with unless_redis_down("reading unregistered domains"):
        rows = get_redis().zrevrange(_key(site_id), 0, -1, withscores=True)
    hosts = [(h.decode() if isinstance(h, bytes) else h, score) for h, score in rows]
    return [(h, datetime.fromtimestamp(s, UTC)) for h, s in hosts if h not in registered]


def forget(site_id, host: str) -> None:
    with unless_redis_down("forgetting an unregistered domain"):
        get_redis().zrem(_key(site_id), host)
