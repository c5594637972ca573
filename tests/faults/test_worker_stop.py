"""A worker told to stop (SIGTERM: a deploy, `systemctl stop`) finishes the jobs it is running and
exits then; it neither cuts them off nor lingers waiting for a job that is not coming."""

import signal

import pytest
import redis
from rq import Queue
from rq.exceptions import StopRequested
from rq.worker import WorkerStatus

from app.jobs import ThreadPoolWorker
from tests.faults.held_job import hold
from tests.faults.processes import wait_until
from tests.owed_stack import CEILING, redis_server_fixture, stack_fixture  # noqa: F401 (fixtures)


def test_a_worker_stopped_mid_job_finishes_it_and_exits(stack, tmp_path):
    """RQ's warm stop waits for "the current job" by letting its loop run on until its next dequeue
    returns: up to 405 s when no job comes. Our worker's main thread only hands jobs to its
    threads, so it must leave the loop at once and wait for the threads instead."""
    held = tmp_path / "held"
    held.mkdir()
    worker = stack.process("worker.py", "worker")
    Queue("default", connection=redis.Redis.from_url(stack.redis.url)).enqueue(hold, str(held))
    wait_until(lambda: (held / "started").exists(), CEILING, 0.05, "the job starting")

    worker.proc.terminate()  # warm stop, mid-job
    (held / "release").touch()

    wait_until(lambda: worker.proc.poll() is not None, CEILING, 0.1, f"the worker exiting:\n{worker.tail()}")
    assert (held / "done").exists(), "the running job was cut off"
    assert worker.proc.returncode == 0, worker.tail()


def test_a_stop_heard_while_a_thread_is_busy_leaves_the_dequeue_at_once(stack):
    """The order the test above cannot force: a job thread marks the worker busy after the main
    thread went back to waiting for the next job (a loaded machine). RQ's warm stop then only
    sets a flag the main thread reads after its dequeue returns; ours leaves the wait now."""
    worker = ThreadPoolWorker(["default"], connection=redis.Redis.from_url(stack.redis.url), app=stack.app)
    worker.set_state(WorkerStatus.BUSY)  # as a job thread's prepare_execution does
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with pytest.raises(StopRequested):
            worker.request_stop(signal.SIGTERM, None)  # RQ's SIGTERM handler
    finally:
        for sig, handler in handlers.items():  # it installs its cold-stop handlers: give pytest its own
            signal.signal(sig, handler)
