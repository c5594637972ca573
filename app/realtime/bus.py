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

from app.redis_store import get_redis

PREFIX = "rt:"
log = logging.getLogger(__name__)


def publish(channel: str, message: dict) -> None:
    get_redis().publish(PREFIX + channel, json.dumps(message))


def publish_many(channels, message: dict) -> None:
    """The same message to many channels in one round trip (the ring to every rep)."""
    data = json.dumps(message)
    pipe = get_redis().pipeline(transaction=False)
    for channel in channels:
        pipe.publish(PREFIX + channel, data)
    pipe.execute()


class Hub:
    """This process's subscriptions: channel -> the local sockets that want its messages."""

    def __init__(self, redis_url: str):
        self.redis_url = redis_url
        self.subscribers: dict[str, set] = {}
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.thread: threading.Thread | None = None

    def subscribe(self, channel: str, connection) -> None:
        self._ensure_listening()
        with self.lock:
            self.subscribers.setdefault(channel, set()).add(connection)

    def unsubscribe(self, channel: str, connection) -> None:
        with self.lock:
            connections = self.subscribers.get(channel)
            if connections is not None:
                connections.discard(connection)
                if not connections:
                    del self.subscribers[channel]

    def _ensure_listening(self) -> None:
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._listen_forever, name="realtime-hub", daemon=True)
                self.thread.start()
        # the first socket must not announce itself before this process can hear the answer
        self.ready.wait(10)

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
        pubsub = redis.Redis.from_url(self.redis_url).pubsub(ignore_subscribe_messages=True)
        pubsub.psubscribe(PREFIX + "*")
        pubsub.get_message(timeout=5)  # the psubscribe confirmation
        self.ready.set()
        for message in pubsub.listen():
            if message["type"] == "pmessage":
                self._dispatch(message["channel"].decode()[len(PREFIX):], message["data"].decode())

    def _dispatch(self, channel: str, data: str) -> None:
        with self.lock:
            connections = list(self.subscribers.get(channel, ()))
        for connection in connections:
            connection.deliver(data)


_hubs: dict[str, Hub] = {}
_hubs_lock = threading.Lock()


def hub() -> Hub:
    """This process's hub for the app's Redis (one listener thread per process)."""
    url = current_app.config["REDIS_URL"]
    with _hubs_lock:
        if url not in _hubs:
            _hubs[url] = Hub(url)
        return _hubs[url]
