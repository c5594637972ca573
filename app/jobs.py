"""Background jobs: one helper enqueues, worker.py runs them inside one app context."""

import importlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from flask import Flask, current_app
from redis.exceptions import LockError, RedisError
from rq import Queue, Retry, SimpleWorker
from rq.cron import CronScheduler
from rq.exceptions import NoSuchJobError, StopRequested
from rq.job import Job, JobStatus
from rq.timeouts import TimerDeathPenalty

from app.redis_store import get_redis


def queue(name: str = "default") -> Queue:
    return Queue(name, connection=get_redis())


def enqueue(func, *args, queue_name: str = "default", retry: Retry | None = None, **kwargs):
    """Enqueue `func(*args, **kwargs)`; jobs take ids, never ORM objects."""
    return queue(queue_name).enqueue(func, *args, retry=retry, **kwargs)


def job_alive(job_id: str) -> bool:
    """The job is waiting or running (a worker killed mid-job leaves it failed, once RQ notices)."""
    try:
        status = Job.fetch(job_id, connection=get_redis()).get_status()
    except NoSuchJobError:
        return False
    return status in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


def run_pass(dotted_name: str):
    """Run one periodic pass over owed work (cron.py enqueues these), unless a copy ran moments ago.

    cron.py keeps enqueuing passes while no worker runs them (a worker was down): the piled-up
    copies then cost nothing. Without Redis the pass runs: the database is what it reads.
    """
    seconds = current_app.config["OWED_SWEEP_SECONDS"]
    try:
        due = get_redis().set(f"converc:pass:{dotted_name}", "1", nx=True, px=max(int(seconds * 500), 1))
    except RedisError:
        due = True
    if not due:
        return "skipped: ran moments ago"
    module, name = dotted_name.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)()


class ThreadPoolWorker(SimpleWorker):
    """An RQ worker that runs up to `threads` jobs at once, each in its own app context.

    Webhook deliveries spend their time waiting on other people's servers (up to 8 s each):
    threads let one process keep many in flight, so a timing-out endpoint holds one thread,
    not the worker, and there is no fork per job (RQ's default worker manages ~30 jobs/s here).
    """

    death_penalty_class = TimerDeathPenalty  # SIGALRM works only in the main thread
    # RQ waits up to 60 s between tries while Redis is away: a Redis that came back is used within 5 s
    max_connection_wait_time = 5.0

    def __init__(self, *args, app: Flask | None = None, threads: int = 16, **kwargs):
        super().__init__(*args, **kwargs)
        # RQ itself may build workers from Redis (e.g. Worker.all()): then the current app is used
        self.app = app or current_app._get_current_object()
        self.threads = threads
        self._slots = threading.BoundedSemaphore(threads)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="rq-job")
        self._running = 0
        self._idle = threading.Condition()
        self._handing_over = False

    def execute_job(self, job, queue):
        self._handing_over = True
        try:
            self._slots.acquire()  # a full pool holds the next job here instead of taking more
            with self._idle:
                self._running += 1
            self._pool.submit(self._run, job, queue)
        finally:
            self._handing_over = False

    def _shutdown(self):
        """A warm stop (SIGTERM). RQ's waits for "the current job" by letting the main loop run on
        until its dequeue returns, which is minutes when no job comes; and a job thread marks the
        worker busy whenever it starts. Here the main thread runs no job: it leaves the loop now
        and teardown waits for the threads' jobs. Only a job being handed over is let finish its
        hand-over (a stop raised inside it would leave the pool's count unbalanced)."""
        if self._handing_over:
            self._stop_requested = True  # the loop checks it before its next dequeue
            return
        raise StopRequested()

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
        try:
            super().teardown()
        except RedisError:  # Redis is away: nothing to unregister from, but stop listening for commands
            if self.pubsub_thread:
                self.pubsub_thread.stop()
            raise


class StandbyCronScheduler(CronScheduler):
    """RQ's CronScheduler that outlives Redis and lets several cron.py run as standbys.

    RQ's own loop ends on the first Redis error and has no lock: two schedulers both enqueue.
    Here only the holder of a Redis lock enqueues (a standby takes over within `lock_seconds` of
    the leader's death), a Redis error is logged and the loop carries on (Redis restarted empty:
    the lock and the registry entry are taken again), and no sleep is longer than `tick`.
    """

    LOCK_KEY = "converc:cron:leader"

    def __init__(self, *args, tick: float = 5.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.tick = max(tick, 0.1)
        self.lock_seconds = max(3 * self.tick, 1.0)
        self._lock = None

    def lead(self) -> bool:
        """Keep (or take) the leader lock; False while another cron.py holds it."""
        if self._lock is not None:
            try:
                self._lock.reacquire()
                return True
            except LockError:  # expired, or Redis restarted empty: try to take it again
                self._lock = None
        lock = self.connection.lock(self.LOCK_KEY, timeout=self.lock_seconds)
        if lock.acquire(blocking=False):
            self._lock = lock
            self.log.info("CronScheduler %s: leading", self.name)
            return True
        return False

    def run_once(self) -> bool:
        """One turn: enqueue what is due if leading. False when Redis failed (logged)."""
        try:
            if self.lead() and self.enqueue_jobs():
                self.save()
            self.heartbeat()  # re-registers itself after Redis lost everything
            return True
        except RedisError as error:
            self.log.warning("CronScheduler %s: Redis unavailable (%s); trying again", self.name, error)
            self._lock = None
            return False

    def start(self):
        self._install_signal_handlers()
        try:
            while True:
                ok = self.run_once()
                leading = ok and self._lock is not None
                pause = min(self.calculate_sleep_interval(), self.tick) if leading else self.tick
                time.sleep(max(pause, 0.05))
        except (KeyboardInterrupt, StopRequested):
            self.log.info("CronScheduler %s: stopping", self.name)
        finally:
            self._release()

    def _release(self) -> None:
        """Hand over at once: a standby need not wait for the lock to expire."""
        try:
            if self._lock is not None:
                self._lock.release()
            self.register_death()
        except (RedisError, LockError):
            logging.getLogger(__name__).warning("cron: could not release the leader lock", exc_info=True)
