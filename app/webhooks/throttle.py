"""At most WEBHOOK_ENDPOINT_CONCURRENCY requests in flight per endpoint, across every worker.

An endpoint that always times out would otherwise fill every worker thread and delay everyone
else's deliveries. Slots live in Redis (a sorted set of tokens scored by when their lease ends),
so a worker killed mid-request frees its slot when the lease runs out.
"""

import time

from flask import current_app

from app.redis_store import get_redis

SLOW = 1.0  # seconds: every slot held longer than this means the endpoint is slow, not busy

# 1: slot taken; 0: full of recent requests (wait a moment); -1: full of slow ones (give up now)
_ACQUIRE = """
local key, token = KEYS[1], ARGV[4]
local now, lease, limit, slow = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZCARD', key) >= limit then
  local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if now - (tonumber(newest[2]) - lease) > slow then return -1 end
  return 0
end
redis.call('ZADD', key, now + lease, token)
redis.call('EXPIRE', key, math.ceil(lease) + 1)
return 1
"""


def _key(endpoint_id) -> str:
    return f"converc:webhooks:inflight:{endpoint_id}"


def acquire(endpoint_id, token: str, wait: float = 0.25) -> bool:
    """A slot for one request; waits up to `wait` s for a busy endpoint, not at all for a slow one."""
    cfg = current_app.config
    lease = 2 * cfg["WEBHOOK_TIMEOUT_SECONDS"] + 2
    script = get_redis().register_script(_ACQUIRE)
    give_up = time.monotonic() + wait
    while True:
        args = [time.time(), lease, cfg["WEBHOOK_ENDPOINT_CONCURRENCY"], token, SLOW]
        taken = script(keys=[_key(endpoint_id)], args=args)
        if taken == 1:
            return True
        if taken == -1 or time.monotonic() >= give_up:
            return False
        time.sleep(0.01)


def release(endpoint_id, token: str) -> None:
    get_redis().zrem(_key(endpoint_id), token)
