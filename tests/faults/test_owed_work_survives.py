"""Faults against real processes: a redis-server restarted empty and a worker.py / cron.py
SIGKILLed mid-burst lose nothing owed: every event reaches the endpoint (by id; duplicates are
allowed, none may be missing) and every call left ringing ends as missed, with no human action."""

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.faults.processes import wait_until
from tests.owed_stack import CEILING, redis_server_fixture, stack_fixture  # noqa: F401 (fixtures)
from tests.webhook_receiver import Reply


def test_redis_restarting_empty_mid_burst_loses_nothing(stack):
    stack.process("worker.py", "worker")
    stack.process("cron.py", "cron")
    stack.request_calls(10)  # each call's prompt timeout job and delivery jobs are in Redis
    stack.redis.kill()  # …and are gone
    stack.record_events(5)
    stack.redis.start()  # back, empty
    stack.rep_online()  # the rep's dashboard reconnects
    stack.request_calls(10)
    stack.assert_nothing_owed_is_lost()


def test_worker_and_cron_sigkilled_mid_burst_lose_nothing(stack):
    stack.receiver.script("/hook", Reply(200, delay=0.3))  # deliveries are in flight when it dies
    worker = stack.process("worker.py", "worker")
    leader = stack.process("cron.py", "cron-1")
    stack.process("cron.py", "cron-2")  # a standby
    stack.request_calls(15)
    wait_until(lambda: len(stack.receiver.at("/hook")) >= 3, CEILING, 0.1, "the first deliveries")
    worker.kill()
    leader.kill()
    stack.request_calls(10)  # no worker runs now
    stack.process("worker.py", "worker-2")  # the supervisor starts it again
    stack.assert_nothing_owed_is_lost()


def test_database_connections_dropped_mid_burst_lose_nothing(stack):
    """A database blip: every other connection to the database is cut (PostgreSQL restarts, a
    failover); jobs then fail, and the passes finish what they owed."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("cutting connections is PostgreSQL's")
    stack.process("worker.py", "worker")
    stack.process("cron.py", "cron")
    for _ in range(3):
        stack.request_calls(5)
        db.session.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        db.session.commit()
    stack.request_calls(5)
    stack.assert_nothing_owed_is_lost()
