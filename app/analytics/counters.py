"""The widget's funnel counters: one HINCRBY per step into a hash per UTC hour, no SQL.

A visitor is never identified: the counter knows a site (or a rep, for "rung"), a step and an
hour, nothing else. The roll-up job (app.analytics.jobs) copies the hashes into the database, so
the numbers survive Redis; the hashes themselves expire after KEEP_SECONDS.
"""

import atexit
import threading
import time
from collections import Counter

from flask import current_app

from app.redis_store import get_redis, unless_redis_down

PREFIX = "converc:analytics:"
KEEP_SECONDS = 7 * 86400  # the roll-up reads the last days; a week is slack for a stopped cron


def hour_key(unix_time: float) -> str:
    return PREFIX + time.strftime("%Y%m%d%H", time.gmtime(unix_time))


def add(pipe, subject_id, step: str, unix_time: float | None = None) -> None:
    """Queue one count on a pipeline the caller already sends (no round trip of its own)."""
    key = hour_key(time.time() if unix_time is None else unix_time)
    pipe.hincrby(key, f"{subject_id}|{step}", 1)
    pipe.expire(key, KEEP_SECONDS)


def count(subject_id, step: str) -> None:
    """Count one step now: one round trip; without Redis the count is lost, the request is not."""
    with unless_redis_down("an analytics counter"):
        pipe = get_redis().pipeline(transaction=False)
        add(pipe, subject_id, step)
        pipe.execute()


# One hour's counts in one command (HINCRBY takes one field): a flush sends as many commands as
# hours, not two per site, however many sites the traffic was spread over.
_ADD_COUNTS = """
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
"""


class Buffer:
    """Counts of the hottest step (/widget/config's badge_shown), added up in this process and sent
    in one pipeline every ANALYTICS_FLUSH_SECONDS by a daemon thread: the request itself makes no
    round trip for them. A process that dies loses at most that many seconds of counts."""

    def __init__(self, redis, seconds: float):
        self._redis, self._seconds = redis, seconds
        self._counts: Counter = Counter()
        self._lock = threading.Lock()
        self._add_counts = redis.register_script(_ADD_COUNTS)
        threading.Thread(target=self._run, name="analytics-counters", daemon=True).start()
        atexit.register(self.flush)

    def add(self, subject_id, step: str) -> None:
        with self._lock:
            self._counts[(str(subject_id), step, hour_key(time.time()))] += 1

    def flush(self) -> None:
        with self._lock:
            counts, self._counts = self._counts, Counter()
        if not counts:
            return
        by_hour: dict = {}
        for (subject_id, step, key), amount in counts.items():
            by_hour.setdefault(key, []).extend((f"{subject_id}|{step}", amount))
        with unless_redis_down("analytics counters"):
            pipe = self._redis.pipeline(transaction=False)
            for key, fields in by_hour.items():
                self._add_counts(keys=[key], args=[KEEP_SECONDS, *fields], client=pipe)
            pipe.execute()

    def _run(self) -> None:
        while True:
            time.sleep(self._seconds)
            self.flush()


def count_soon(subject_id, step: str) -> None:
    """Count one step within ANALYTICS_FLUSH_SECONDS (0: now, with its own round trip)."""
    seconds = current_app.config["ANALYTICS_FLUSH_SECONDS"]
    if seconds <= 0:
        count(subject_id, step)
        return
    buffer = current_app.extensions.get("analytics_buffer")
    if buffer is None:
        with _starting:
            buffer = current_app.extensions.get("analytics_buffer")
            if buffer is None:
                buffer = current_app.extensions["analytics_buffer"] = Buffer(get_redis(), seconds)
    buffer.add(subject_id, step)


def flush() -> None:
    """Send this process's buffered counts now (the roll-up does, before it reads)."""
    buffer = current_app.extensions.get("analytics_buffer")
    if buffer is not None:
        buffer.flush()


_starting = threading.Lock()
