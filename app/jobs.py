"""Background jobs: one helper enqueues, worker.py runs them inside one app context."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from flask import Flask, current_app
from rq import Queue, Retry, SimpleWorker
from rq.timeouts import TimerDeathPenalty

from app.redis_store import get_redis


def queue(name: str = "default") -> Queue:
    return Queue(name, connection=get_redis())


def enqueue(func, *args, queue_name: str = "default", retry: Retry | None = None, **kwargs):
    """Enqueue `func(*args, **kwargs)`; jobs take ids, never ORM objects."""
    return queue(queue_name).enqueue(func, *args, retry=retry, **kwargs)


class ThreadPoolWorker(SimpleWorker):
    """An RQ worker that runs up to `threads` jobs at once, each in its own app context.

    Webhook deliveries spend their time waiting on other people's servers (up to 8 s each):
    threads let one process keep many in flight, so a timing-out endpoint holds one thread,
    not the worker, and there is no fork per job (RQ's default worker manages ~30 jobs/s here).
    """

    death_penalty_class = TimerDeathPenalty  # SIGALRM works only in the main thread

    def __init__(self, *args, app: Flask | None = None, threads: int = 16, **kwargs):
        super().__init__(*args, **kwargs)
        # RQ itself may build workers from Redis (e.g. Worker.all()): then the current app is used
        self.app = app or current_app._get_current_object()
        self.threads = threads
        self._slots = threading.BoundedSemaphore(threads)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="rq-job")
        self._running = 0
        self._idle = threading.Condition()

    def execute_job(self, job, queue):
        self._slots.acquire()  # a full pool holds the next job here instead of taking more
        with self._idle:
            self._running += 1
        self._pool.submit(self._run, job, queue)

    def _run(self, job, queue):
        try:
            with self.app.app_context():
                super().execute_job(job, queue)
        finally:
            self._slots.release()
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    def heartbeat(self, *args, **kwargs):
        # RQ beats after every job; the worker's TTL is minutes, so once a second is plenty
        now = time.monotonic()
        if now - getattr(self, "_last_beat", 0.0) >= 1.0:
            self._last_beat = now
            super().heartbeat(*args, **kwargs)

    def wait_idle(self) -> None:
        with self._idle:
            self._idle.wait_for(lambda: self._running == 0)

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        if result is None and timeout is None:
            # burst mode: running jobs may enqueue more (retries are scheduled, not queued)
            self.wait_idle()
            result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        return result

    def teardown(self):
        self.wait_idle()
        self._pool.shutdown(wait=True)
        super().teardown()
