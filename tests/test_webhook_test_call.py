"""POST /integrations/webhooks/test (and the dashboard's Send test) take a slot of the endpoint's
concurrency limit like any delivery, and never wait on the endpoint past WEBHOOK_TIMEOUT_SECONDS."""

import threading
import time
import uuid

import pytest

from app.api.auth import create_key
from app.models.webhooks import API_SCOPES
from app.webhooks import service, throttle
from tests.conftest import LOOPBACK_HOOKS, Auth, bearer
from tests.webhook_receiver import Reply


@pytest.fixture
def slow(make_app, admin, receiver):
    """An endpoint that takes ten minutes to answer; tests wait at most 1 s (LOOPBACK_HOOKS)."""
    app = make_app(**{**LOOPBACK_HOOKS, "WEBHOOK_TIMEOUT_SECONDS": 1.0}, WEBHOOK_ENDPOINT_CONCURRENCY=2)
    receiver.script("/slow", Reply(delay=600))
    with app.app_context():
        endpoint, _ = service.create_endpoint(admin.organization_id, receiver.url + "/slow")
        _key, raw = create_key(admin.organization_id, "Tests", list(API_SCOPES))
        yield app, endpoint, raw


def send_test_call(app, endpoint_id, raw):
    with app.app_context():  # the test client's own contexts, in whichever thread calls it
        return app.test_client().post("/integrations/webhooks/test", json={"webhookId": str(endpoint_id)},
                                      headers=bearer(raw))


def test_a_test_call_to_an_endpoint_with_no_free_slot_is_not_sent(slow, receiver):
    app, endpoint, raw = slow
    endpoint_id = endpoint.id
    held = [uuid.uuid4().hex for _ in range(2)]
    for token in held:  # two deliveries in flight (e.g. workers waiting on this slow endpoint)
        assert throttle.acquire(endpoint.id, token)
    response = send_test_call(app, endpoint_id, raw)
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is False and body["status"] is None and "Not sent" in body["error"]
    assert receiver.at("/slow") == []  # the endpoint never saw it
    for token in held:
        throttle.release(endpoint.id, token)


def test_a_test_call_answers_within_the_timeout_and_frees_its_slot(slow, receiver):
    app, endpoint, raw = slow
    endpoint_id = endpoint.id  # read once here: the threads must not touch this session's objects
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(send_test_call(app, endpoint_id, raw)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)  # the endpoint answers after 600 s: nobody may wait for it
    assert not any(thread.is_alive() for thread in threads)
    bodies = [a.get_json() for a in answers]
    assert all(a.status_code == 200 for a in answers) and len(bodies) == 4
    assert all(set(b) == {"ok", "status", "error"} and b["ok"] is False for b in bodies)
    assert any(b["error"].startswith("Timed out") for b in bodies)
    assert len(receiver.at("/slow")) == sum(b["error"].startswith("Timed out") for b in bodies)
    # every slot was given back: a test can reach the endpoint again
    assert throttle.acquire(endpoint.id, "after") and throttle.acquire(endpoint.id, "after-2")


def test_the_dashboard_test_button_takes_a_slot_too(slow, receiver, admin):
    app, endpoint, _raw = slow
    for token in ("a", "b"):
        throttle.acquire(endpoint.id, token)
    auth = Auth(app.test_client())
    auth.login(admin.email)
    page = auth.post(f"/settings/integrations/webhooks/{endpoint.id}/test")
    assert page.status_code == 200 and "Not sent" in page.get_data(as_text=True)
    assert receiver.at("/slow") == []


def test_a_test_call_waits_only_a_moment_for_a_busy_endpoint(slow, receiver, monkeypatch):
    app, endpoint, raw = slow
    monkeypatch.setattr(throttle, "SLOW", 5.0)  # the slots taken below stay busy, not slow, meanwhile
    for token in ("a", "b"):  # both slots just taken: a batch would wait for one to turn over
        assert throttle.acquire(endpoint.id, token)
    started = time.monotonic()
    body = send_test_call(app, endpoint.id, raw).get_json()
    assert "Not sent" in body["error"] and time.monotonic() - started < 1.5  # a person is waiting
