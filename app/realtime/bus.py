"""Realtime fan-out between web processes, through Redis pub/sub.

Anyone publishes to a channel ("user:<id>", "call:<id>:visitor", …). Each web process runs
one listener thread (pattern-subscribed to every realtime channel) that hands each message
to the sockets of that process subscribed to its channel. Nothing else is shared in memory.
"""

import json
import logging
import threading
import time

import redis
from flask import current_app

from app.redis_store import get_redis, unless_redis_down

PREFIX = "rt:"
log = logging.getLogger(__name__)


def publish(channel: str, message: dict) -> None:
    """Send a notice to whoever listens on `channel`. A notice is never the record (the database
    is): with Redis unreachable it is skipped with a log line, and the change it announces stands."""
    with unless_redis_down(f"realtime notice {message.get('type')}"):
        get_redis().publish(PREFIX + channel, json.dumps(message))


FAN_OUT = "many"  # one published message for many channels: {"to": [channels], "data": message}


def publish_many(channels, message: dict) -> None:
    """The same message to many channels as one publish (the ring to every rep): each process's
    listener gets it once and hands it to its own sockets among them, instead of Redis copying
    it once per channel to every process."""
    with unless_redis_down(f"realtime notice {message.get('type')}"):
        get_redis().publish(*envelope(channels, message))


def envelope(channels, message: dict) -> tuple[str, str]:
    """The Redis channel and data that publish_many sends (for a caller's own pipeline)."""
    channels = list(channels)
    if len(channels) == 1:
        return PREFIX + channels[0], json.dumps(message)
    return PREFIX + FAN_OUT, json.dumps({"to": channels, "data": json.dumps(message)})


class Hub:
    """This process's subscriptions: channel -> the local sockets that want its messages."""

    def __init__(self, redis_url: str):
        self.redis_url = redis_url
        self.subscribers: dict[str, set] = {}
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.thread: threading.Thread | None = None

    def subscribe(self, channel: str, connection) -> bool:
        """Hand `channel`'s messages to `connection` from now on; False if this process is not
        hearing Redis (every message published meanwhile is lost): a socket must not say it is
        ready then."""
        listening = self._ensure_listening()
        with self.lock:
            self.subscribers.setdefault(channel, set()).add(connection)
        return listening

    def unsubscribe(self, channel: str, connection) -> None:
        with self.lock:
            connections = self.subscribers.get(channel)
            if connections is not None:
                connections.discard(connection)
                if not connections:
                    del self.subscribers[channel]

    def _ensure_listening(self) -> bool:
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._listen_forever, name="realtime-hub", daemon=True)
                self.thread.start()
        # the first socket must not announce itself before this process can hear the answer
        return self.ready.wait(10)

    def _listen_forever(self) -> None:
        delay = 0.1
        while True:
            try:
                self._listen()
            except redis.RedisError:
                log.warning("realtime: Redis connection lost, retrying in %.1fs", delay)
                self.ready.clear()
                time.sleep(delay)
                delay = min(delay * 2, 5)

    def _listen(self) -> None:
        pubsub = redis.Redis.from_url(self.redis_url).pubsub()
        pubsub.psubscribe(PREFIX + "*")
        # ready once Redis confirms: a message published after that reaches this process
        confirmation = pubsub.get_message(timeout=5)
        if confirmation is None or confirmation["type"] != "psubscribe":
            raise redis.ConnectionError(f"no psubscribe confirmation from Redis: {confirmation!r}")
        self.ready.set()
        for message in pubsub.listen():
            if message["type"] == "pmessage":
                self._dispatch(message["channel"].decode()[len(PREFIX):], message["data"].decode())

    def _dispatch(self, channel: str, data: str) -> None:
        if channel == FAN_OUT:
            fan = json.loads(data)
            channels, data = fan["to"], fan["data"]
        else:
            channels = (channel,)
        with self.lock:
            connections = [c for ch in channels for c in self.subscribers.get(ch, ())]
        for connection in connections:
            connection.deliver(data)


    def close_all(self, code: int, reason: str) -> int:
        """Close every local socket (a node shutting down): each one's own loop then ends."""
        with self.lock:
            connections = {c for conns in self.subscribers.values() for c in conns}
        for connection in connections:
            connection.close(code, reason)
        return len(connections)


_hubs: dict[str, Hub] = {}
_hubs_lock = threading.Lock()


def hub() -> Hub:
    """This process's hub for the app's Redis (one listener thread per process)."""
    url = current_app.config["REDIS_URL"]
    with _hubs_lock:
        if url not in _hubs:
            _hubs[url] = Hub(url)
        return _hubs[url]


def close_all_local(code: int, reason: str) -> int:
    """Close every socket of this process, whatever Redis its app uses."""
    with _hubs_lock:
        hubs = list(_hubs.values())
    return sum(h.close_all(code, reason) for h in hubs)
