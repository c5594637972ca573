"""At most WEBHOOK_ENDPOINT_CONCURRENCY requests in flight per endpoint, across every worker.

An endpoint that always times out would otherwise fill every worker thread and delay everyone
else's deliveries. Slots live in Redis (a sorted set of tokens scored by when their lease ends),
so a worker killed mid-request frees its slot when the lease runs out.
"""

import time

from flask import current_app

from app.redis_store import get_redis

# seconds: a request in flight longer than this is slow; an endpoint with half its slots or more
# on slow requests is slow (no waiting for it), one with fewer is busy (its slots turn over). Short:
# the slots a timing-out endpoint frees are taken again at once, and jobs waiting while those look
# busy hold worker threads the healthy endpoints need
SLOW = 0.25

# 1: slot taken; 0: full of recent requests (wait a moment); -1: full, half on slow ones (give up now)
_ACQUIRE = """
local key, token = KEYS[1], ARGV[4]
local now, lease, limit, slow = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZCARD', key) >= limit then
  -- a slot's score is when its current request's lease ends
  if 2 * redis.call('ZCOUNT', key, '-inf', now - slow + lease) >= limit then return -1 end
  return 0
end
redis.call('ZADD', key, now + lease, token)
redis.call('EXPIRE', key, math.ceil(lease) + 1)
return 1
"""


def _key(endpoint_id) -> str:
    return f"converc:webhooks:inflight:{endpoint_id}"


def lease() -> float:
    """Seconds a worker holds a slot (or a claimed delivery) for a request: longer than a request
    can take, so a live worker never loses it and a killed one frees it."""
    return 2 * current_app.config["WEBHOOK_TIMEOUT_SECONDS"] + 2


def acquire(endpoint_id, token: str, wait: float = 0.25) -> bool:
    """A slot for one request or a batch of them; waits up to `wait` s for a busy endpoint, not at
    all for a slow one."""
    script = get_redis().register_script(_ACQUIRE)
    give_up, pause = time.monotonic() + wait, 0.005
    while True:
        args = [time.time(), lease(), current_app.config["WEBHOOK_ENDPOINT_CONCURRENCY"], token, SLOW]
        taken = script(keys=[_key(endpoint_id)], args=args)
        if taken == 1:
            return True
        if taken == -1 or time.monotonic() >= give_up:
            return False
        time.sleep(pause)
        pause = min(2 * pause, 0.05)  # many waiting threads: fewer calls


def renew(endpoint_id, token: str) -> None:
    """The slot's next request starts now: how long a request holds a slot, not how long the job
    has, is what tells a slow endpoint from a busy one."""
    get_redis().zadd(_key(endpoint_id), {token: time.time() + lease()}, xx=True)


def release(endpoint_id, token: str) -> None:
    get_redis().zrem(_key(endpoint_id), token)
