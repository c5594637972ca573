"""The periodic roll-up (cron.py runs it every ANALYTICS_ROLLUP_SECONDS)."""

from app.analytics import rollup as service
from app.redis_store import get_redis

LOCK_SECONDS = 600


def rollup():
    """Roll counters and calls up into the daily rows; one pass at a time across all workers."""
    lock = get_redis().lock("converc:analytics:rollup", timeout=LOCK_SECONDS, blocking=False)
    if not lock.acquire():
        return "skipped: another roll-up is running"
    try:
        return service.rollup()
    finally:
        lock.release()
