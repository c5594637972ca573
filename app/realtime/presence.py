"""Reps' presence: a rep is online while at least one dashboard socket of theirs is open.

Kept in Redis so every web process sees it: per user, a sorted set of their sockets scored
by expiry; per organization, a sorted set of online users scored by their latest expiry.
Sockets refresh their expiry with each heartbeat, so a crashed process's sockets fade out.
"""

import time
import uuid

from app.redis_store import get_redis

TTL_SECONDS = 60
HEARTBEAT_SECONDS = 20

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
return 0
"""


def _user_key(user_id) -> str:
    return f"presence:user:{user_id}"


def _org_key(organization_id) -> str:
    return f"presence:org:{organization_id}"


def touch(user_id, organization_id, socket_id: str) -> None:
    """A rep's socket is open (or just sent a heartbeat): they are online for TTL_SECONDS more."""
    expires = time.time() + TTL_SECONDS
    pipe = get_redis().pipeline()
    pipe.zadd(_user_key(user_id), {socket_id: expires})
    pipe.expire(_user_key(user_id), TTL_SECONDS * 2)
    # GT: another socket of the same rep may already hold a later expiry
    pipe.zadd(_org_key(organization_id), {str(user_id): expires}, gt=True)
    pipe.execute()


def leave(user_id, organization_id, socket_id: str) -> None:
    """A socket closed: the rep stays online only if another of their sockets is open."""
    get_redis().eval(_DISCONNECT, 2, _user_key(user_id), _org_key(organization_id),
                     socket_id, time.time(), str(user_id))


def is_online(user_id) -> bool:
    return get_redis().zcount(_user_key(user_id), time.time(), "+inf") > 0


def online_user_ids(organization_id) -> set[uuid.UUID]:
    members = get_redis().zrangebyscore(_org_key(organization_id), time.time(), "+inf")
    return {uuid.UUID(m.decode()) for m in members}
