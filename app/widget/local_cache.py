"""Each web process's memory of /widget/config's answers, kept right across processes.

Every change that drops a cached site config or availability answer in Redis is also published
on CHANNEL; a listener thread per process (one Redis subscription) drops it from that process's
memory. So a hot site's config is served with no Redis round trip, and an entry is kept until a
change drops it, not for a few seconds. A message can be missed only while the subscription is
down (starting, Redis unreachable or restarted): the listener then forgets everything, and until
it has subscribed again entries are kept only WIDGET_LOCAL_CACHE_SECONDS, as if nobody told it.
"""

import logging
import os
import socket
import threading
import time
import weakref
from collections import OrderedDict

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.redis_store import unless_redis_down

DROPS_NAMED = 4096  # drops remembered by key, for the puts of values read before them
CHANNEL = "widget:forget"  # messages: "<kind> <id>", the key of a LocalCache entry
KEEPALIVE = {socket.TCP_KEEPIDLE: 30, socket.TCP_KEEPINTVL: 10, socket.TCP_KEEPCNT: 3}
log = logging.getLogger(__name__)


class LocalCache:
    """A bounded LRU (past `max_entries`, the least recently used entries are forgotten one by one)
    that every process's listener keeps in step with the others' changes."""

    def __init__(self, max_entries: int, unheard_seconds: float):
        self.max_entries = max_entries
        self.unheard_seconds = unheard_seconds  # what an entry may live while changes go unheard
        self.listening = False  # the listener is subscribed: it hears every change
        self.listener: Listener | None = None
        self.preload = None  # fills it from Redis (a callable of the cache) once it hears every change
        self._entries: OrderedDict = OrderedDict()  # key -> (monotonic deadline, value)
        self._lock = threading.Lock()  # gthread: many request threads share it
        self._drops = 0  # every drop counts: a value read before one may be what it dropped
        # the count at each of the last DROPS_NAMED keys' drop; before `_unnamed`, drops are known only
        # by their number; before `_forgot`, everything was forgotten
        self._named: OrderedDict = OrderedDict()
        self._unnamed = self._forgot = 0

    def peek(self, key):
        """The remembered value, or None (never remembered, expired, or forgotten)."""
        with self._lock:
            hit = self._entries.get(key)
            if hit is None:
                return None
            if hit[0] <= time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return hit[1]

    def version(self) -> int:
        """Take it before reading what `put` will store: a drop of that key heard in between (or
        of everything) refuses the put. Other keys' drops do not: a busy deployment hears them
        all the time."""
        return self._drops

    def _dropped_since(self, key, version: int) -> bool:
        return max(self._forgot, self._unnamed, self._named.get(key, 0)) > version

    def put(self, key, value, seconds: float, version: int) -> None:
        """Remember `value` for `seconds`, or only `unheard_seconds` while changes go unheard."""
        with self._lock:
            if not self.listening:
                seconds = min(seconds, self.unheard_seconds)
            if seconds <= 0 or value is None or self._dropped_since(key, version) or not self.unheard_seconds:
                return
            self._entries[key] = (time.monotonic() + seconds, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def drop(self, key) -> None:
        with self._lock:
            self._drops += 1
            self._entries.pop(key, None)
            self._named[key] = self._drops
            self._named.move_to_end(key)
            if len(self._named) > DROPS_NAMED:
                self._unnamed = self._named.popitem(last=False)[1]

    def forget_all(self, listening: bool) -> None:
        with self._lock:
            self._drops += 1
            self._forgot = self._drops
            self._named.clear()
            self._entries.clear()
            self.listening = listening


def announce(kind: str, key: str) -> None:
    """Tell every process's memory to drop ("entry", public key) or ("available", organization id).
    Redis unreachable: the listeners, cut off too, have forgotten everything already."""
    from app.redis_store import get_redis

    with unless_redis_down("telling the web processes to forget a widget answer"):
        get_redis().publish(CHANNEL, f"{kind} {key}")


class Listener:
    """One subscription per process and Redis: drops what other processes' changes announce from
    every LocalCache of this process (tests run several apps in one process)."""

    def __init__(self, url: str):
        self.url = url
        self.caches: weakref.WeakSet = weakref.WeakSet()
        self.subscribed = False
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._listen_forever, name="widget-cache-listener", daemon=True)

    def add(self, cache: LocalCache) -> None:
        with self.lock:
            self.caches.add(cache)
            cache.listener = self
            cache.forget_all(listening=self.subscribed)
            if self.subscribed:
                _start_preload(cache)

    def _listen_forever(self) -> None:
        delay = 0.1
        while self._still_needed():
            try:
                self._listen()
            except (redis.RedisError, OSError):
                delay = 0.1 if self.subscribed else min(delay * 2, 5)  # back off while Redis stays away
                log.warning("widget cache: Redis subscription lost, retrying in %.1fs", delay)
            self._forget_all(subscribed=False)
            time.sleep(delay)

    def _still_needed(self) -> bool:
        """False once every app it served is gone (tests): it leaves the registry, its thread ends."""
        with _listeners_lock:
            if self.caches:
                return True
            _listeners.pop((os.getpid(), self.url), None)
            return False

    def _listen(self) -> None:
        # no silent reconnect (redis-py's default retries resubscribe): a gap must forget everything;
        # keepalives notice a Redis that vanished without closing the connection within a minute
        # (TCP only: the embedded Redis's unix socket takes no keepalive options, and its end is seen)
        tcp = {"socket_keepalive": True, "socket_keepalive_options": KEEPALIVE}
        if self.url.startswith("unix:"):
            tcp = {}
        client = redis.Redis.from_url(self.url, retry=Retry(NoBackoff(), 0), health_check_interval=30, **tcp)
        with client.pubsub() as pubsub:
            pubsub.subscribe(CHANNEL)
            while (message := pubsub.get_message(timeout=5)) is None or message["type"] != "subscribe":
                pass
            self._forget_all(subscribed=True)
            while True:
                message = pubsub.get_message(timeout=30)
                if message is not None and message["type"] == "message":
                    self._drop(message["data"].decode())

    def _drop(self, data: str) -> None:
        key = tuple(data.split(" ", 1))
        with self.lock:
            caches = list(self.caches)
        for cache in caches:
            cache.drop(key)

    def _forget_all(self, subscribed: bool) -> None:
        with self.lock:
            self.subscribed = subscribed
            caches = list(self.caches)
            for cache in caches:
                cache.forget_all(listening=subscribed)
        for cache in caches if subscribed else ():
            _start_preload(cache)


def _start_preload(cache: LocalCache) -> None:
    """Fill a cache that now hears every change, in a thread of its own: drops go on meanwhile."""
    if cache.preload is not None:
        threading.Thread(target=cache.preload, args=(cache,), name="widget-cache-preload",
                         daemon=True).start()


_listeners: dict[tuple[int, str], Listener] = {}
_listeners_lock = threading.Lock()


def listen(cache: LocalCache, redis_url: str) -> None:
    """Keep `cache` in step with every process's changes (a web process; a worker only drops)."""
    with _listeners_lock:
        key = (os.getpid(), redis_url)  # a forked child has no listener thread of its own yet
        listener = _listeners.get(key)
        if listener is None:
            listener = _listeners[key] = Listener(redis_url)
        listener.add(cache)
        if listener.thread.ident is None:  # not started yet
            listener.thread.start()
