"""Delivery end to end: outbox → RQ worker → a real receiver on loopback, verified like customers do."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.events import record_event
from app.extensions import db
from app.models import Event, Organization, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.models.base import utcnow
from app.webhooks import jobs, service
from tests.conftest import LOOPBACK_HOOKS, free_port, run_jobs, statements
from tests.webhook_receiver import Reply

ROOT = Path(__file__).resolve().parents[1]
# The "Example verification (Node)" of the product doc, verbatim; only the inputs are wired around it.
NODE_VERIFY = """
import fs from 'node:fs'
const req = { headers: JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) }
const rawBody = fs.readFileSync(process.argv[3], 'utf8')
const secret = process.argv[4]
// ---- from the docs ----
import crypto from 'node:crypto'
const signature = req.headers['x-ic-signature']
const timestamp = signature?.match(/t=(\\d+)/)?.[1]
const provided = signature?.match(/v1=([a-f0-9]+)/)?.[1]
const payload = `${timestamp}.${rawBody}`
const expected = crypto
.createHmac('sha256', secret)
.update(payload)
.digest('hex')
const valid =
provided &&
crypto.timingSafeEqual(
Buffer.from(provided),
Buffer.from(expected)
)
// ---- end ----
console.log(JSON.stringify({ valid: Boolean(valid) }))
"""


pytestmark = pytest.mark.loopback_hooks


def make_endpoint(org_id, url, events=None):
    return service.create_endpoint(org_id, url, events, source="api")


def call_event(org_id, type_="call.ended", **data):
    event = record_event(org_id, type_, {"call": {"id": "c1", "status": "ended"}, **data})
    db.session.commit()
    return event


def node_says_valid(tmp_path, headers: dict, body: bytes, secret: str) -> bool:
    script = tmp_path / "verify.mjs"
    script.write_text(NODE_VERIFY)
    (tmp_path / "headers.json").write_text(json.dumps(headers))
    (tmp_path / "body").write_bytes(body)
    args = ["node", str(script), str(tmp_path / "headers.json"), str(tmp_path / "body"), secret]
    out = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True)
    return json.loads(out.stdout)["valid"]


def test_the_docs_node_code_accepts_our_signature(app, admin, receiver, tmp_path):
    endpoint, secret = make_endpoint(admin.organization_id, receiver.url + "/hook")
    event = call_event(admin.organization_id)
    run_jobs(app)
    [got] = receiver.wait_for("/hook")
    assert node_says_valid(tmp_path, got.headers, got.body, secret)
    assert not node_says_valid(tmp_path, got.headers, got.body + b" ", secret)  # the check can fail
    assert not node_says_valid(tmp_path, got.headers, got.body, secret + "x")
    assert got.headers["x-ic-id"] == str(event.id)


def test_standard_webhooks_library_verifies_the_same_request(app, admin, receiver):
    from standardwebhooks import Webhook

    _, secret = make_endpoint(admin.organization_id, receiver.url + "/hook")
    event = call_event(admin.organization_id)
    run_jobs(app)
    [got] = receiver.wait_for("/hook")
    payload = Webhook(secret).verify(got.body, got.headers)
    assert payload["id"] == str(event.id) and got.headers["webhook-id"] == str(event.id)


def test_request_headers_and_body_bytes(app, admin, receiver):
    make_endpoint(admin.organization_id, receiver.url + "/hook")
    event = call_event(admin.organization_id, contact=None)
    run_jobs(app)
    [got] = receiver.wait_for("/hook")
    assert got.headers["content-type"] == "application/json"
    assert got.headers["x-ic-event"] == "call.ended"
    assert "Converc" in got.headers["user-agent"]
    assert got.headers["x-ic-signature"].startswith("t=")
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60
    envelope = json.loads(got.body)
    assert envelope == {"id": str(event.id), "type": "call.ended", "createdAt": envelope["createdAt"],
                        "organizationId": str(admin.organization_id),
                        "data": {"call": {"id": "c1", "status": "ended"}, "contact": None}}
    assert envelope["createdAt"].endswith("Z") and len(envelope["createdAt"]) == 24
    assert got.body == service.body_of(db.session.get(Event, event.id))  # exactly the signed bytes


def test_event_filters_and_inactive_endpoints(app, admin, receiver):
    make_endpoint(admin.organization_id, receiver.url + "/ended-only", ["call.ended"])
    make_endpoint(admin.organization_id, receiver.url + "/all")
    off, _ = make_endpoint(admin.organization_id, receiver.url + "/off")
    service.disable(off)
    call_event(admin.organization_id, "call.requested")
    call_event(admin.organization_id, "call.ended")
    run_jobs(app)
    got = receiver.wait_for("/all", 3)
    # disabling /off is itself an event every endpoint wanting all types hears about
    assert sorted(json.loads(r.body)["type"] for r in got) == [
        "call.ended", "call.requested", "webhook.disabled"]
    assert [r.headers["x-ic-event"] for r in receiver.at("/ended-only")] == ["call.ended"]
    assert receiver.at("/off") == []


def test_another_organizations_webhook_is_never_touched(app, admin, other_admin, receiver):
    make_endpoint(other_admin.organization_id, receiver.url + "/theirs")
    make_endpoint(admin.organization_id, receiver.url + "/ours")
    call_event(admin.organization_id)
    run_jobs(app)
    receiver.wait_for("/ours")
    assert receiver.at("/theirs") == []
    theirs = db.session.scalar(sa.select(WebhookEndpoint).where(
        WebhookEndpoint.organization_id == other_admin.organization_id))
    assert db.session.scalar(sa.select(sa.func.count()).where(WebhookDelivery.endpoint_id == theirs.id)) == 0


def test_webhooks_switched_off_for_the_org_sends_nothing(app, admin, receiver):
    make_endpoint(admin.organization_id, receiver.url + "/hook")
    db.session.get(Organization, admin.organization_id).webhooks_enabled = False
    db.session.commit()
    event = call_event(admin.organization_id)
    run_jobs(app)
    assert receiver.at("/hook") == []
    assert db.session.get(Event, event.id).dispatched_at is not None


def _delivery(event_id) -> WebhookDelivery:
    db.session.expire_all()
    return db.session.scalar(sa.select(WebhookDelivery).where(WebhookDelivery.event_id == event_id))


def _make_due(delivery_id) -> None:
    """Let the clock reach the next attempt (the sweeper re-enqueues what is due)."""
    db.session.execute(sa.update(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
                       .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    jobs.sweep()


def test_a_500_is_retried_with_the_same_event_id(app, admin, receiver):
    receiver.script("/hook", Reply(500, body=b"boom"), Reply(200))
    make_endpoint(admin.organization_id, receiver.url + "/hook")
    event = call_event(admin.organization_id)
    run_jobs(app)
    delivery = _delivery(event.id)
    assert delivery.status == "pending" and delivery.attempt_count == 1
    wait = (delivery.next_attempt_at - utcnow()).total_seconds()
    assert 3 < wait <= 5.5 + 1  # first retry after 5 s (+ up to 10 % jitter)
    from rq.registry import ScheduledJobRegistry

    assert ScheduledJobRegistry(queue=__import__("app.jobs").jobs.queue()).get_job_ids()  # RQ will retry
    _make_due(delivery.id)
    run_jobs(app)
    first, second = receiver.wait_for("/hook", 2)
    assert first.headers["x-ic-id"] == second.headers["x-ic-id"] == str(event.id)
    assert first.body == second.body
    delivery = _delivery(event.id)
    assert delivery.status == "succeeded" and delivery.attempt_count == 2
    attempts = db.session.scalars(sa.select(WebhookAttempt).order_by(WebhookAttempt.attempted_at)).all()
    assert [(a.status_code, a.succeeded, a.response_body) for a in attempts] == [(500, False, "boom"),
                                                                                  (200, True, "ok")]


def test_a_timeout_is_a_failure_that_is_retried(make_app, admin, receiver):
    app = make_app(**{**LOOPBACK_HOOKS, "WEBHOOK_TIMEOUT_SECONDS": 2.0})  # it starts within 3 s
    receiver.script("/slow", Reply(200, delay=6), Reply(200))
    make_endpoint(admin.organization_id, receiver.url + "/slow")
    event = call_event(admin.organization_id)
    run_jobs(app)
    delivery = _delivery(event.id)
    assert delivery.status == "pending" and "Timed out" in delivery.last_error
    _make_due(delivery.id)
    run_jobs(app)
    assert _delivery(event.id).status == "succeeded"


def test_retry_after_is_honoured_and_3xx_is_a_failure(app, admin, receiver):
    receiver.script("/busy", Reply(503, headers={"Retry-After": "600"}))
    receiver.script("/moved", Reply(302, headers={"Location": receiver.url + "/elsewhere"}))
    make_endpoint(admin.organization_id, receiver.url + "/busy")
    make_endpoint(admin.organization_id, receiver.url + "/moved")
    event = call_event(admin.organization_id)
    run_jobs(app)
    by_url = {d.endpoint.url: d for d in db.session.scalars(sa.select(WebhookDelivery))}
    busy, moved = by_url[receiver.url + "/busy"], by_url[receiver.url + "/moved"]
    assert (busy.next_attempt_at - utcnow()).total_seconds() > 590
    assert moved.status == "pending" and "redirects are not followed" in moved.last_error
    assert receiver.at("/elsewhere") == []
    assert event.id


def test_retry_schedule_spans_27_hours_then_gives_up(app, admin, receiver):
    from app import outbound

    failure = outbound.Response(500, "", {}, 1, None)
    delays = [service.retry_delay(n, failure) for n in range(1, service.MAX_ATTEMPTS)]
    assert service.MAX_ATTEMPTS >= 8 and sum(delays) >= 27 * 3600
    assert all(base <= d <= base * 1.1 for base, d in zip(service.RETRY_DELAYS, delays, strict=True))
    assert service.retry_delay(service.MAX_ATTEMPTS, failure) is None
    receiver.script("/down", Reply(500))
    make_endpoint(admin.organization_id, receiver.url + "/down")
    event = call_event(admin.organization_id)
    run_jobs(app)
    for _ in range(service.MAX_ATTEMPTS - 1):
        _make_due(_delivery(event.id).id)
        run_jobs(app)
    delivery = _delivery(event.id)
    assert delivery.status == "failed" and delivery.attempt_count == service.MAX_ATTEMPTS
    assert len(receiver.at("/down")) == service.MAX_ATTEMPTS


def test_410_disables_the_endpoint(app, admin, receiver):
    receiver.script("/gone", Reply(410))
    endpoint, _ = make_endpoint(admin.organization_id, receiver.url + "/gone")
    call_event(admin.organization_id)
    run_jobs(app)
    db.session.refresh(endpoint)
    assert not endpoint.is_active and "410" in endpoint.disabled_reason


def test_five_days_of_failures_disable_the_endpoint(app, admin, receiver):
    receiver.script("/down", Reply(500))
    endpoint, _ = make_endpoint(admin.organization_id, receiver.url + "/down")
    endpoint.failing_since = utcnow() - timedelta(days=5, minutes=1)
    db.session.commit()
    call_event(admin.organization_id)
    run_jobs(app)
    db.session.refresh(endpoint)
    assert not endpoint.is_active and "failed since" in endpoint.disabled_reason


def test_success_clears_the_failing_streak(app, admin, receiver):
    endpoint, _ = make_endpoint(admin.organization_id, receiver.url + "/hook")
    endpoint.failing_since = utcnow() - timedelta(days=1)
    db.session.commit()
    call_event(admin.organization_id)
    run_jobs(app)
    db.session.refresh(endpoint)
    assert endpoint.is_active and endpoint.failing_since is None


def test_events_left_undispatched_while_redis_was_down_are_swept(app, admin, receiver):
    import redis

    make_endpoint(admin.organization_id, receiver.url + "/hook")
    real, app.extensions["redis"] = app.extensions["redis"], redis.Redis(port=free_port())  # Redis is down
    try:
        event_id = call_event(admin.organization_id).id  # committed; enqueueing failed quietly
    finally:
        app.extensions["redis"] = real
    assert app.extensions["redis"].llen("rq:queue:default") == 0
    assert jobs.sweep()["deliveries"] == 1  # the database says what is owed
    run_jobs(app)
    [got] = receiver.wait_for("/hook")
    assert got.headers["x-ic-id"] == str(event_id)


def test_a_second_dispatch_or_delivery_job_does_nothing(app, admin, receiver):
    make_endpoint(admin.organization_id, receiver.url + "/hook")
    event = call_event(admin.organization_id)
    run_jobs(app)
    assert jobs.dispatch_event(str(event.id)) == 0
    assert jobs.deliver(str(_delivery(event.id).id)) == "not due or taken"
    run_jobs(app)
    assert len(receiver.at("/hook")) == 1


def test_rolled_secret_signs_beside_the_old_one_during_the_overlap(app, admin, receiver, tmp_path):
    endpoint, old = make_endpoint(admin.organization_id, receiver.url + "/hook")
    new = service.roll_secret(endpoint, overlap_hours=24)
    call_event(admin.organization_id)
    run_jobs(app)
    [got] = receiver.wait_for("/hook")
    t = got.headers["x-ic-signature"].split(",")[0][2:]
    from app.webhooks.signing import ic_signature

    assert got.headers["x-ic-signature"] == (f"t={t},v1={ic_signature(new, int(t), got.body)},"
                                             f"v1={ic_signature(old, int(t), got.body)}")
    assert node_says_valid(tmp_path, got.headers, got.body, new)
    assert len(got.headers["webhook-signature"].split(" ")) == 2


def test_delivery_time_ssrf_check_refuses_a_url_that_became_private(make_app, admin, receiver):
    allowed = make_app(**LOOPBACK_HOOKS)
    with allowed.app_context():
        make_endpoint(admin.organization_id, receiver.url + "/hook")
    strict = make_app(WEBHOOK_ALLOW_HTTP=True)
    with strict.app_context():
        event = call_event(admin.organization_id)
        run_jobs(strict)
        delivery = _delivery(event.id)
        assert delivery.status == "pending" and delivery.last_error.startswith("Refused")
    assert receiver.at("/hook") == []


def test_one_endpoint_that_times_out_does_not_hold_up_the_others(make_app, admin, receiver):
    # the stuck endpoint never answers within the timeout; the timeout is long enough (10 s) that
    # only a fast endpoint queued behind the stuck one could miss it, however slow this machine is
    app = make_app(**{**LOOPBACK_HOOKS, "WEBHOOK_TIMEOUT_SECONDS": 10.0})
    receiver.script("/stuck", Reply(200, delay=15))
    make_endpoint(admin.organization_id, receiver.url + "/stuck")
    make_endpoint(admin.organization_id, receiver.url + "/fast")
    for _ in range(4):
        call_event(admin.organization_id)
    with app.app_context():
        run_jobs(app, threads=8)
    fast = receiver.wait_for("/fast", 4)
    timed_out = db.session.scalars(sa.select(WebhookAttempt.attempted_at)
                                   .where(WebhookAttempt.error.like("Timed out%"))).all()
    assert len(fast) == 4 and len(timed_out) == 4
    # every fast delivery arrived before the first slow one gave up
    assert max(r.wall for r in fast) < min(t.timestamp() for t in timed_out)


def test_a_worker_killed_mid_delivery_loses_nothing(app, admin, receiver, settings):
    receiver.script("/hook", Reply(200, delay=5), Reply(200))
    make_endpoint(admin.organization_id, receiver.url + "/hook")
    event = call_event(admin.organization_id)
    env = {**os.environ, "DATABASE_URL": settings["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": settings["REDIS_URL"], "SECRET_KEY": settings["SECRET_KEY"],
           "WEBHOOK_ALLOW_HTTP": "true",
           "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8", "WEBHOOK_TIMEOUT_SECONDS": "1"}
    # its own process group: the kill takes the worker and its scheduler process, as a crash would
    worker = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        receiver.wait_for("/hook", 1, timeout=30)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
    delivery = _delivery(event.id)
    assert delivery.status == "pending" and delivery.attempt_count == 0  # the attempt never finished
    time.sleep(max(0.0, (delivery.locked_until - utcnow()).total_seconds()) + 0.2)  # the lease runs out
    assert jobs.sweep()["deliveries"] == 1
    run_jobs(app)
    second = receiver.wait_for("/hook", 2)[1]
    assert second.headers["x-ic-id"] == str(event.id)  # at least once: the receiver dedupes by id
    assert _delivery(event.id).status == "succeeded"


def test_a_slow_endpoint_gets_only_its_share_of_workers(make_app, admin, receiver):
    app = make_app(**{**LOOPBACK_HOOKS, "WEBHOOK_TIMEOUT_SECONDS": 5}, WEBHOOK_ENDPOINT_CONCURRENCY=2)
    with app.app_context():
        receiver.script("/stuck", Reply(200, delay=3))
        make_endpoint(admin.organization_id, receiver.url + "/stuck")
        for _ in range(5):
            call_event(admin.organization_id)
        run_jobs(app, threads=8)
        assert len(receiver.at("/stuck")) == 2  # two in flight at a time; the others wait their turn
        waiting = sa.select(WebhookDelivery).where(WebhookDelivery.attempt_count == 0)
        deferred = db.session.scalars(waiting).all()
        assert len(deferred) == 3 and all(d.status == "pending" and d.next_attempt_at for d in deferred)


def test_a_burst_waits_for_a_busy_endpoints_slot_rather_than_being_put_back(make_app, admin, receiver):
    # the wait is long enough for any machine's batch (2 s put the second back on a loaded CI box)
    app = make_app(**LOOPBACK_HOOKS, WEBHOOK_ENDPOINT_CONCURRENCY=1, WEBHOOK_SLOT_WAIT_SECONDS=120)
    receiver.script("/hook", Reply(200, delay=0.05))  # a batch of 10 holds the one slot 0.5 s at least
    make_endpoint(admin.organization_id, receiver.url + "/hook")
    events_in_one_commit(admin.organization_id, 20)
    with app.app_context():
        run_jobs(app, threads=2)  # two batches at once: one waits for the other's slot
    assert len(receiver.at("/hook")) == 20
    assert {d.status for d in _deliveries()} == {"succeeded"}


def test_the_log_is_kept_30_days(app, admin, receiver):
    make_endpoint(admin.organization_id, receiver.url + "/hook")
    call_event(admin.organization_id)
    call_event(admin.organization_id)
    run_jobs(app)
    old, recent = db.session.scalars(sa.select(WebhookAttempt)).all()
    old.attempted_at = utcnow() - timedelta(days=31)
    recent.attempted_at = utcnow() - timedelta(days=29)
    db.session.commit()
    assert jobs.sweep()["expiredAttempts"] == 1
    assert db.session.scalars(sa.select(WebhookAttempt.id)).all() == [recent.id]


def record_consumer_call(event_id: str) -> None:
    """A consumer of every event, as Slack or lead push register one."""
    from app.redis_store import get_redis

    get_redis().rpush("test:consumed", event_id)


def test_registered_consumers_get_every_event_once(app, admin, receiver, monkeypatch):
    from app import events

    monkeypatch.setattr(events, "_consumers", [record_consumer_call])
    make_endpoint(admin.organization_id, receiver.url + "/hook")
    event = call_event(admin.organization_id)
    assert db.session.get(Event, event.id).dispatched_at is None  # consumers still owed
    run_jobs(app)
    assert app.extensions["redis"].lrange("test:consumed", 0, -1) == [str(event.id).encode()]
    db.session.expire_all()
    assert len(receiver.wait_for("/hook")) == 1 and db.session.get(Event, event.id).dispatched_at
    jobs.sweep()
    run_jobs(app)
    assert app.extensions["redis"].llen("test:consumed") == 1 and len(receiver.at("/hook")) == 1


def test_a_batch_of_events_reads_the_organizations_integrations_and_rules_once(app, admin):
    def statements_to_dispatch(count: int) -> int:
        events_in_one_commit(admin.organization_id, count)
        with statements() as seen:
            assert jobs.dispatch_pending() == count  # every consumer's turn: integrations, automations
        return len(seen)

    assert statements_to_dispatch(20) == statements_to_dispatch(5)


@pytest.mark.parametrize(("value", "low", "high"), [
    ("120", 120, 120), ("0", 0, 0), ("soon", None, None), (None, None, None),
    ("Wed, 21 Oct 2099 07:28:00 GMT", 10**9, 10**10), ("Wed, 21 Oct 2015 07:28:00 GMT", 0, 0),
])
def test_retry_after_forms(value, low, high):
    seconds = service.retry_after_seconds(value)
    assert (seconds is None) if low is None else (low <= seconds <= high)


def test_throttle_waits_for_a_busy_endpoint_but_not_for_a_slow_one(make_app, monkeypatch):
    import uuid as uuid_

    from app.webhooks import throttle

    monkeypatch.setattr(throttle, "SLOW", 3.0)  # the slot taken just now stays busy while the test waits
    app = make_app(WEBHOOK_ENDPOINT_CONCURRENCY=1, WEBHOOK_TIMEOUT_SECONDS=8)
    with app.app_context():
        busy, slow = uuid_.uuid4(), uuid_.uuid4()
        assert throttle.acquire(busy, "a") and throttle.acquire(slow, "b")
        started = time.monotonic()
        assert not throttle.acquire(busy, "c", wait=0.3)  # in flight for a moment only: it waited
        assert time.monotonic() - started >= 0.3
        lease = 2 * 8 + 2
        app.extensions["redis"].zadd(f"converc:webhooks:inflight:{slow}", {"b": time.time() - 5 + lease})
        started = time.monotonic()
        assert not throttle.acquire(slow, "d", wait=5)  # every slot held 5 s: slow, give up at once
        assert time.monotonic() - started < 1
        throttle.release(busy, "a")
        assert throttle.acquire(busy, "c", wait=0)


def events_in_one_commit(org_id, count: int) -> list[Event]:
    """A burst: `count` events committed together (a bulk import, a busy call flow)."""
    events = [record_event(org_id, "call.ended", {"call": {"id": f"c{n}", "status": "ended"}})
              for n in range(count)]
    db.session.commit()
    return events


def _deliveries() -> list[WebhookDelivery]:
    db.session.expire_all()
    return db.session.scalars(sa.select(WebhookDelivery)).all()


def test_a_burst_is_delivered_in_batches_of_one_endpoint_each(make_app, admin, receiver):
    from app.jobs import queue

    a, _ = make_endpoint(admin.organization_id, receiver.url + "/a")
    b, _ = make_endpoint(admin.organization_id, receiver.url + "/b")
    events_in_one_commit(admin.organization_id, 12)
    batches = [job.args[0] for job in queue().jobs if job.func_name == "app.webhooks.jobs.deliver_batch"]
    assert sorted(map(len, batches)) == [2, 2, 10, 10]  # 4 jobs for 24 deliveries
    endpoint_of = {str(d.id): d.endpoint_id for d in _deliveries()}
    assert all(len({endpoint_of[i] for i in ids}) == 1 for ids in batches)  # a slow one holds up only itself
    assert Counter(endpoint_of[ids[0]] for ids in batches) == {a.id: 2, b.id: 2}
    # time for any machine: with a 1 s timeout a batch starts requests only in its first 2 s, and
    # a loaded CI box put the rest of a 10-delivery batch back for later (5 of 12 arrived)
    patient = make_app(**{**LOOPBACK_HOOKS, "WEBHOOK_TIMEOUT_SECONDS": 30.0}, WEBHOOK_SLOT_WAIT_SECONDS=120)
    with patient.app_context():
        run_jobs(patient)
    assert len(receiver.wait_for("/a", 12)) == 12 and len(receiver.wait_for("/b", 12)) == 12
    assert {d.status for d in _deliveries()} == {"succeeded"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookAttempt)) == 24


def test_after_a_request_times_out_the_rest_of_its_batch_waits(make_app, admin, receiver):
    app = make_app(**{**LOOPBACK_HOOKS, "WEBHOOK_TIMEOUT_SECONDS": 2.0})  # it starts within 3 s
    receiver.script("/hook", Reply(200, delay=6), Reply(200))
    make_endpoint(admin.organization_id, receiver.url + "/hook")
    events_in_one_commit(admin.organization_id, 3)
    run_jobs(app)
    assert len(receiver.at("/hook")) == 1  # not three timeouts in a row on one thread
    [timed_out] = [d for d in _deliveries() if d.attempt_count == 1]
    assert timed_out.status == "pending" and timed_out.last_error.startswith("Timed out")
    put_back = [d for d in _deliveries() if d.attempt_count == 0]
    assert len(put_back) == 2
    assert all(d.status == "pending" and d.locked_until is None and d.next_attempt_at > utcnow()
               for d in put_back)


def test_a_batch_starts_no_request_that_could_outlast_its_claim(make_app, admin, receiver):
    # timeout 3 s: the claim lasts 8 s, so requests start only in its first 4 s; each takes 1.5 s
    app = make_app(**{**LOOPBACK_HOOKS, "WEBHOOK_TIMEOUT_SECONDS": 3.0})
    receiver.script("/hook", Reply(200, delay=1.5))
    make_endpoint(admin.organization_id, receiver.url + "/hook")
    events_in_one_commit(admin.organization_id, 5)
    with app.app_context():
        run_jobs(app)
    sent = [d for d in _deliveries() if d.attempt_count == 1]
    assert 1 <= len(sent) <= 3 and all(d.status == "succeeded" for d in sent)
    assert len(receiver.at("/hook")) == len(sent)
    assert all(d.status == "pending" and d.attempt_count == 0 and d.locked_until is None
               for d in _deliveries() if d not in sent)


def test_a_slot_whose_next_request_starts_is_busy_not_slow(make_app, monkeypatch):
    import uuid as uuid_

    from app.webhooks import throttle

    monkeypatch.setattr(throttle, "SLOW", 3.0)  # the renewed request stays busy while the test waits
    app = make_app(WEBHOOK_ENDPOINT_CONCURRENCY=1, WEBHOOK_TIMEOUT_SECONDS=8)
    with app.app_context():
        endpoint = uuid_.uuid4()
        assert throttle.acquire(endpoint, "batch")
        # the batch's first request started 5 s ago (slow, on its own)…
        app.extensions["redis"].zadd(f"converc:webhooks:inflight:{endpoint}", {"batch": time.time() - 5 + 18})
        throttle.renew(endpoint, "batch")  # …and its next one starts now
        started = time.monotonic()
        assert not throttle.acquire(endpoint, "other", wait=0.3)
        assert time.monotonic() - started >= 0.3  # waited, as for a busy endpoint


def test_an_endpoint_with_half_its_slots_on_slow_requests_is_slow(make_app, monkeypatch):
    import uuid as uuid_

    from app.webhooks import throttle

    monkeypatch.setattr(throttle, "SLOW", 3.0)
    app = make_app(WEBHOOK_ENDPOINT_CONCURRENCY=2, WEBHOOK_TIMEOUT_SECONDS=8)
    with app.app_context():
        endpoint = uuid_.uuid4()
        assert throttle.acquire(endpoint, "stuck") and throttle.acquire(endpoint, "fresh")
        app.extensions["redis"].zadd(f"converc:webhooks:inflight:{endpoint}", {"stuck": time.time() - 5 + 18})
        started = time.monotonic()
        assert not throttle.acquire(endpoint, "next", wait=5)
        # at once, though the other slot's request is recent: no thread waits on a timing-out endpoint
        assert time.monotonic() - started < 1.5
