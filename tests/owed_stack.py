"""A whole stack for tests with real processes: the test's web app (in process), a redis-server of
its own, worker.py and cron.py processes, and a webhook receiver; what is owed must all arrive."""

import os

import pytest
import sqlalchemy as sa

from app.events import record_event
from app.extensions import db
from app.models import Call, Event
from app.webhooks import service as webhooks
from tests.calls_support import call_body, go_online, make_site
from tests.conftest import LOOPBACK_HOOKS, PASSWORD, make_member
from tests.faults.processes import Process, RedisServer, wait_until

CEILING = 240  # seconds: generous; the bound itself is measured by bench/chaos.py, not asserted
OWED_SWEEP_SECONDS = 1


class Stack:
    """The test's web app (in process), its own redis-server, worker.py and cron.py processes."""

    def __init__(self, app, redis_server, receiver, tmp_path, settings):
        self.app, self.redis, self.receiver, self.tmp = app, redis_server, receiver, tmp_path
        self.client = app.test_client()
        self.env = {**os.environ, "REDIS_URL": redis_server.url,
                    "SECRET_KEY": settings["SECRET_KEY"], "OWED_SWEEP_SECONDS": str(OWED_SWEEP_SECONDS),
                    "WEBHOOK_ALLOW_HTTP": "true", "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
                    "WEBHOOK_TIMEOUT_SECONDS": "2", "WORKER_THREADS": "8", "WORKER_LOG_LEVEL": "INFO"}
        self.processes: list[Process] = []
        self.calls: list = []

    def process(self, script: str, name: str) -> Process:
        process = Process([script], self.env, self.tmp / f"{name}.log").start()
        self.processes.append(process)
        return process

    def setup_org(self, admin):
        webhooks.create_endpoint(admin.organization_id, self.receiver.url + "/hook", None, source="api")
        self.rep = make_member(admin.organization_id, "ana@acme.example.com", "rep", "Ana")
        self.site = make_site(admin.organization_id, ring_timeout_seconds=3)
        self.org_id = admin.organization_id
        self.rep_online()

    def rep_online(self):
        go_online(self.rep)  # a dashboard open: its presence lives in Redis

    def request_calls(self, count: int) -> None:
        """Visitors ask for calls through the public endpoint: each rings, then is owed a timeout."""
        for _ in range(count):
            body = call_body(self.site, fingerprint=f"fp-{len(self.calls)}")
            response = self.client.post("/widget/calls", json=body, headers={"Origin": "https://shop.example.com"})
            assert response.status_code == 201, response.get_data(as_text=True)
            assert response.get_json()["call"]["status"] == "requested"
            self.calls.append(response.get_json()["call"]["id"])

    def record_events(self, count: int) -> None:
        """Events committed while Redis is down: the outbox keeps them, enqueueing fails quietly."""
        for n in range(count):
            record_event(self.org_id, "call.ended", {"call": {"id": f"offline-{n}", "status": "ended"}})
            db.session.commit()

    def undelivered(self) -> set[str]:
        db.session.commit()  # a fresh look at the table
        owed = {str(i) for i in db.session.scalars(sa.select(Event.id))}
        return owed - {r.headers["x-ic-id"] for r in self.receiver.at("/hook")}

    def still_ringing(self) -> list:
        db.session.commit()
        return list(db.session.scalars(sa.select(Call.id).where(Call.status == "requested")))

    def assert_nothing_owed_is_lost(self) -> None:
        try:
            wait_until(lambda: not self.undelivered(), CEILING, 1, "every event delivered")
            wait_until(lambda: not self.still_ringing(), CEILING, 1, "every ringing call ended")
        except AssertionError as error:
            logs = "\n".join(f"--- {p.log.name}\n{p.tail()}" for p in self.processes)
            raise AssertionError(f"{error}; undelivered {len(self.undelivered())}, ringing "
                                 f"{len(self.still_ringing())}\n{logs}") from None
        db.session.commit()
        calls = db.session.scalars(sa.select(Call)).all()
        assert len(calls) == len(self.calls) and {c.status for c in calls} == {"missed"}
        types = db.session.execute(sa.select(Event.type, sa.func.count()).group_by(Event.type)).all()
        counts = dict(types)
        assert counts["call.missed"] == counts["call.requested"] == len(self.calls)  # each exactly once

    def logged(self, text: str) -> int:
        """How often `text` appears in the processes' logs."""
        return sum(p.log.read_text(errors="replace").count(text) for p in self.processes if p.log.exists())

    def stop(self):
        for process in self.processes:
            process.stop()


@pytest.fixture(name="redis_server")
def redis_server_fixture(tmp_path):
    """Set up before the app and torn down after it (make_app's clean-up empties it)."""
    server = RedisServer(tmp_path).start()
    yield server
    server.kill()


@pytest.fixture(name="stack")
def stack_fixture(redis_server, make_app, settings, receiver, tmp_path):
    from app.auth.service import sign_up

    app = make_app(**{**LOOPBACK_HOOKS, "OWED_SWEEP_SECONDS": OWED_SWEEP_SECONDS}, REDIS_URL=redis_server.url,
                   CALL_RATE_LIMIT_PER_IP="100000 per hour", CALL_RATE_LIMIT_PER_SITE="100000 per hour")
    with app.app_context():
        stack = Stack(app, redis_server, receiver, tmp_path, settings)
        stack.setup_org(sign_up("Acme", "Ada Admin", "ada@acme.example.com", PASSWORD))
        yield stack
        stack.stop()
    if redis_server.proc.poll() is not None:
        redis_server.start()
