"""Reps' presence: a rep is online while at least one dashboard socket of theirs is open.

Kept in Redis so every web process sees it: per user, a sorted set of their sockets scored
by expiry; per organization, a sorted set of online users scored by their latest expiry.
Sockets refresh their expiry with each heartbeat, so a crashed process's sockets fade out.
`touch` and `leave` say when the rep came online or went offline: availability's cached answer
depends on it (a rep with no dashboard open cannot take a call).
"""

import time
import uuid

from app.redis_store import get_redis

TTL_SECONDS = 60
HEARTBEAT_SECONDS = 20

# Add or refresh one socket; answer 1 when the rep had no live socket before (came online).
_CONNECT = """
local was_online = redis.call('ZCOUNT', KEYS[1], ARGV[2], '+inf') > 0
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
-- GT: another socket of the same rep may already hold a later expiry
redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[5])
if was_online then return 0 end
return 1
"""

# Drop one socket and recompute the user's expiry in the org set, atomically, so a socket
# opening on another process at the same moment is never lost.
_DISCONNECT = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local latest = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if latest[2] then
  redis.call('ZADD', KEYS[2], latest[2], ARGV[3])
else
  redis.call('ZREM', KEYS[2], ARGV[3])
end
if redis.call('ZCOUNT', KEYS[1], ARGV[2], '+inf') > 0 then return 0 end
return 1
"""


def _user_key(user_id) -> str:
    return f"presence:user:{user_id}"


def _org_key(organization_id) -> str:
    return f"presence:org:{organization_id}"


def touch(user_id, organization_id, socket_id: str) -> bool:
    """A rep's socket is open (or just sent a heartbeat): they are online for TTL_SECONDS more.

    True when this made them online (their first live socket): the caller tells availability."""
    now = time.time()
    return bool(get_redis().eval(_CONNECT, 2, _user_key(user_id), _org_key(organization_id), socket_id,
                                 now, now + TTL_SECONDS, TTL_SECONDS * 2, str(user_id)))


def leave(user_id, organization_id, socket_id: str) -> bool:
    """A socket closed: the rep stays online only if another of their sockets is open.

    True when this was their last live socket (they went offline)."""
    return bool(get_redis().eval(_DISCONNECT, 2, _user_key(user_id), _org_key(organization_id),
                                 socket_id, time.time(), str(user_id)))


def is_online(user_id) -> bool:
    return get_redis().zcount(_user_key(user_id), time.time(), "+inf") > 0


def which_online(user_ids) -> set:
    """The given users who are online: `is_online` for many, in one round trip."""
    user_ids = list(user_ids)
    if not user_ids:
        return set()
    pipe = get_redis().pipeline(transaction=False)
    now = time.time()
    for user_id in user_ids:
        pipe.zcount(_user_key(user_id), now, "+inf")
    return {user_id for user_id, live in zip(user_ids, pipe.execute(), strict=True) if live}


def online_user_ids(organization_id) -> set[uuid.UUID]:
    members = get_redis().zrangebyscore(_org_key(organization_id), time.time(), "+inf")
    return {uuid.UUID(m.decode()) for m in members}


# Members of an organization's set whose latest expiry has passed: their dashboards faded out
# without closing (a crashed process). Taken out atomically, so one sweep reports each once.
_FADED = """
local faded = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #faded > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1]) end
return faded
"""


def take_faded() -> dict:
    """organization id -> ids of reps who went offline by fading out since the last sweep."""
    redis, now, faded = get_redis(), time.time(), {}
    for key in redis.scan_iter(match=_org_key("*"), count=1000):
        members = redis.eval(_FADED, 1, key, now)
        if members:
            faded[key.decode().rsplit(":", 1)[1]] = [m.decode() for m in members]
    return faded
