"""Owed work lives in the database: cron.py's passes pick up what Redis lost; SQLite under load."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from app.calls import service as calls
from app.events import record_event
from app.extensions import db
from app.models import Call, CallEvent, Event, Recording
from app.models.base import utcnow
from app.webhooks import service as webhooks
from tests.calls_support import go_online, make_site
from tests.conftest import LOOPBACK_HOOKS, free_port, make_member, run_jobs
from tests.owed_stack import redis_server_fixture, stack_fixture  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[1]
OWED = {**LOOPBACK_HOOKS, "OWED_SWEEP_SECONDS": 0}


@pytest.fixture
def app(make_app):
    app = make_app(**OWED)
    with app.app_context():
        yield app


@pytest.fixture
def ringing(app, admin):
    """A call ringing an online rep (so it is not missed at once)."""
    go_online(make_member(admin.organization_id, "ana@acme.example.com", "rep", "Ana"))
    site = make_site(admin.organization_id, ring_timeout_seconds=30)
    return calls.request_call(site, fingerprint="fp-owed", qualification={"answers": []})


@pytest.fixture
def run_cron_once(app):
    """What cron.py does on one turn (enqueue every pass that is due), then a worker runs them."""
    import cron

    scheduler = cron.build(app.extensions["redis"], app.config)

    def turn():
        time.sleep(0.11)  # the passes are due every OWED_SWEEP_SECONDS (0.1 s at least)
        assert scheduler.run_once() and scheduler.lead()
        run_jobs(app)
    return turn


def redis_restarts_empty(app) -> None:
    app.extensions["redis"].flushdb()


def call_events(call_id) -> list[str]:
    return sorted(db.session.scalars(sa.select(Event.type).join(CallEvent, CallEvent.event_id == Event.id)
                                     .where(CallEvent.call_id == call_id)))


def pass_due(call: Call) -> None:
    """Let the clock pass the ring deadline (moved, not waited for)."""
    call.ring_deadline_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def test_cron_owns_every_periodic_job(app):
    import cron
    from app.jobs import run_pass
    from app.webhooks import jobs

    owned = {(j.func, j.args) for j in cron.build(app.extensions["redis"], app.config).get_jobs()}
    for name in ("app.webhooks.jobs.sweep", "app.calls.jobs.end_overdue_rings",
                 "app.calls.jobs.end_abandoned_calls", "app.recordings.jobs.finish_overdue_recordings",
                 "app.integrations.jobs.resend_lost_integration_deliveries"):
        assert (run_pass, (name,)) in owned
    assert not hasattr(jobs, "ensure_sweeper") and not hasattr(jobs, "periodic_sweep")  # no self-rescheduling


def test_a_ring_timeout_lost_with_redis_still_ends_the_call_as_missed(app, ringing, run_cron_once):
    assert ringing.ring_deadline_at == ringing.requested_at + timedelta(seconds=30)
    redis_restarts_empty(app)  # the prompt ring_timeout job is gone with it
    run_cron_once()
    assert db.session.get(Call, ringing.id, populate_existing=True).status == "requested"  # not due yet
    pass_due(ringing)
    run_cron_once()
    call = db.session.get(Call, ringing.id, populate_existing=True)
    assert call.status == "missed" and call.end_reason == "missed"
    assert call_events(call.id) == ["call.ended", "call.missed", "call.requested"]


def test_ending_overdue_rings_again_or_racing_the_prompt_job_sends_nothing_twice(app, ringing):
    from app.calls import jobs

    pass_due(ringing)
    assert jobs.end_overdue_rings() == 1
    assert jobs.end_overdue_rings() == 0
    jobs.ring_timeout(str(ringing.id))  # the prompt job, late
    assert call_events(ringing.id) == ["call.ended", "call.missed", "call.requested"]


def test_an_answered_call_is_not_missed_by_the_pass(app, ringing, admin):
    from app.calls import jobs

    calls.accept(ringing.id, admin)
    pass_due(db.session.get(Call, ringing.id))
    assert jobs.end_overdue_rings() == 0
    assert db.session.get(Call, ringing.id, populate_existing=True).status == "accepted"


def test_an_answered_call_whose_abandon_check_was_lost_still_ends(app, ringing, admin):
    """The visitor's socket closed and Redis lost the delayed abandon check with everything else:
    the pass starts from the accepted call's row, waits out the grace, and ends it once."""
    from app.calls import jobs

    calls.accept(ringing.id, admin)
    calls.side_joined(ringing.id, "rep", "rep-socket")  # the rep is still there
    redis = app.extensions["redis"]
    assert jobs.end_abandoned_calls() == 0  # the visitor is missing from now on: the grace starts
    key = f"call:{ringing.id}:missing:visitor"
    assert redis.exists(key)
    redis.set(key, utcnow().timestamp() - 3600)  # an hour gone
    assert jobs.end_abandoned_calls() == 1
    call = db.session.get(Call, ringing.id, populate_existing=True)
    assert call.status == "ended" and call.end_reason == "disconnected"
    assert jobs.end_abandoned_calls() == 0


def test_a_live_call_is_never_ended_by_the_abandon_pass(app, ringing, admin):
    from app.calls import jobs

    calls.accept(ringing.id, admin)
    for side in ("rep", "visitor"):
        calls.side_joined(ringing.id, side, f"{side}-socket")
        app.extensions["redis"].set(f"call:{ringing.id}:missing:{side}", utcnow().timestamp() - 3600)
    assert jobs.end_abandoned_calls() == 0  # both sides here (after a blip): the old marks are dropped
    assert db.session.get(Call, ringing.id, populate_existing=True).status == "accepted"
    assert not app.extensions["redis"].exists(f"call:{ringing.id}:missing:visitor")


def test_deliveries_owed_when_redis_lost_everything_reach_the_endpoint(app, admin, receiver, run_cron_once):
    webhooks.create_endpoint(admin.organization_id, receiver.url + "/hook", None, source="api")
    ids = []
    for n in range(3):
        event = record_event(admin.organization_id, "call.ended", {"call": {"id": f"c{n}"}})
        db.session.commit()
        ids.append(str(event.id))
    redis_restarts_empty(app)  # the delivery jobs were queued there
    run_cron_once()
    got = receiver.wait_for("/hook", 3)
    assert sorted(r.headers["x-ic-id"] for r in got) == sorted(ids)


def test_piled_up_copies_of_a_pass_do_nothing(make_app):
    from app.jobs import run_pass

    with make_app(OWED_SWEEP_SECONDS=60).app_context():
        assert isinstance(run_pass("app.calls.jobs.end_overdue_rings"), int)
        assert run_pass("app.calls.jobs.end_overdue_rings") == "skipped: ran moments ago"


def test_a_recording_nobody_finished_is_finished_after_the_grace(make_app, admin):
    from app.recordings.jobs import finish_overdue_recordings
    from tests.recording_helpers import new_recording

    app = make_app(**OWED, RECORDING_FINISH_GRACE_SECONDS=60)
    recording = new_recording(admin.organization_id)
    call = db.session.get(Call, recording.call_id)
    call.status, call.ended_at = "ended", utcnow()
    db.session.commit()
    with app.app_context():
        assert finish_overdue_recordings()["finished"] == 0  # the browser may still send its last chunks
    call.ended_at = utcnow() - timedelta(seconds=61)
    db.session.commit()
    with app.app_context():
        assert finish_overdue_recordings()["finished"] == 1
    assert db.session.get(Recording, recording.id, populate_existing=True).status == "assembling"


def test_an_assembly_whose_job_was_lost_is_enqueued_again(app, admin):
    from app.jobs import queue
    from app.recordings.jobs import finish_overdue_recordings
    from app.recordings.service import assembly_job_id
    from tests.recording_helpers import new_recording

    recording = new_recording(admin.organization_id)
    recording.status, recording.completed_at = "assembling", utcnow() - timedelta(seconds=5)
    db.session.commit()
    assert finish_overdue_recordings()["assemblies"] == 1  # no job: Redis lost it
    assert queue().fetch_job(assembly_job_id(recording.id)) is not None
    assert finish_overdue_recordings()["assemblies"] == 0  # queued now: not twice


def test_standby_cron_schedulers_one_enqueues_and_another_takes_over(app):
    import cron

    connection = app.extensions["redis"]
    leader, standby = cron.build(connection, app.config), cron.build(connection, app.config)
    assert leader.lead() and not standby.lead()
    assert leader.lead()  # keeps it
    redis_restarts_empty(app)  # the lock is gone: whoever asks first leads, once
    assert standby.lead() and not leader.lead()


def test_cron_outlives_redis_going_away(app):
    import cron

    scheduler = cron.build(redis.Redis(port=free_port(), socket_connect_timeout=1), app.config)
    assert scheduler.run_once() is False  # logged, not raised: the loop carries on


def test_flask_db_upgrade_works_on_a_fresh_clone_with_redis_url_set(tmp_path, redis_url):
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("about the SQLite file of a fresh clone")
    database = tmp_path / "fresh-clone" / "instance" / "converc.db"  # its folder does not exist
    env = {**os.environ, "FLASK_APP": "wsgi", "DATABASE_URL": f"sqlite:///{database}", "REDIS_URL": redis_url}
    done = subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert database.exists()


def test_sqlite_runs_in_wal_mode_and_waits_for_the_write_lock(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


@pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="SQLite only")
def test_a_burst_of_70_calls_on_sqlite_never_finds_the_database_locked(stack):
    """make run's SQLite under a real worker.py (16 threads) and cron.py: writers wait their turn."""
    stack.process("worker.py", "worker")
    stack.process("cron.py", "cron")
    stack.request_calls(70)
    stack.assert_nothing_owed_is_lost()
    assert stack.logged("database is locked") == 0
