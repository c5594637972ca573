"""Idempotency-Key on every POST/PATCH: the first answer replayed for 24 h, 422 for another body with the
same key, and concurrent identical requests create one resource."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Contact, IdempotencyRecord, WebhookEndpoint
from app.models.base import utcnow
from tests.test_api import Api


@pytest.fixture
def app(hooks_app):
    return hooks_app


@pytest.fixture
def api(client, api_key):
    return Api(client, api_key[1])


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_retried_webhook_create_is_replayed_not_repeated(api, receiver):
    body, key = {"url": receiver.url + "/hook"}, {"Idempotency-Key": "create-hook-1"}
    first = api.call("POST", "/integrations/webhooks", body, headers=key)
    again = api.call("POST", "/integrations/webhooks", body, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()  # the same secret too: it is the same answer
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert count(WebhookEndpoint) == 1
    other = api.call("POST", "/integrations/webhooks", {"url": receiver.url + "/other"}, headers=key)
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    # without a key, two POSTs are two endpoints (as before)
    api.call("POST", "/integrations/webhooks", body)
    api.call("POST", "/integrations/webhooks", body)
    assert count(WebhookEndpoint) == 3


def test_patch_and_errors_are_replayed_and_keys_expire(api, app):
    created = api.call(
        "POST", "/api/v1/contacts", {"name": "Vera"}, headers={"Idempotency-Key": "c1"}
    ).get_json()
    patch = {"Idempotency-Key": "p1"}
    assert (
        api.call("PATCH", f"/api/v1/contacts/{created['id']}", {"name": "Vee"}, headers=patch).status_code
        == 200
    )
    api.call("PATCH", f"/api/v1/contacts/{created['id']}", {"name": "Someone else"})  # a change in between
    replayed = api.call("PATCH", f"/api/v1/contacts/{created['id']}", {"name": "Vee"}, headers=patch)
    assert replayed.get_json()["name"] == "Vee" and replayed.headers["Idempotent-Replayed"] == "true"
    # a 4xx is an answer like any other: replayed
    bad = {"Idempotency-Key": "bad-1"}
    assert api.call("POST", "/api/v1/contacts", {"nickname": "x"}, headers=bad).status_code == 400
    assert api.call("POST", "/api/v1/contacts", {"nickname": "x"}, headers=bad).headers["Idempotent-Replayed"]
    # after 24 h the key is free again
    record = db.session.scalar(sa.select(IdempotencyRecord).where(IdempotencyRecord.key == "c1"))
    record.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    again = api.call("POST", "/api/v1/contacts", {"name": "Vera"}, headers={"Idempotency-Key": "c1"})
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert count(Contact) == 2
    assert (
        api.call(
            "POST", "/api/v1/contacts", {"name": "V"}, headers={"Idempotency-Key": "k" * 256}
        ).status_code
        == 400
    )


def test_keys_belong_to_one_api_key(api, client, admin):
    from app.api.auth import create_key

    _, raw = create_key(admin.organization_id, "second", ["contacts:write"])
    second = Api(client, raw)
    headers = {"Idempotency-Key": "shared"}
    assert api.call("POST", "/api/v1/contacts", {"name": "A"}, headers=headers).status_code == 201
    assert second.call("POST", "/api/v1/contacts", {"name": "B"}, headers=headers).status_code == 201
    assert count(Contact) == 2


def test_concurrent_identical_requests_create_one_resource(app, api_key):
    """Eight clients send the same POST with the same key at the same moment: one contact, eight 201s."""
    barrier, answers = threading.Barrier(8), []

    def post():
        client = FlaskClient(app)  # the plain client: each request in its own app context
        barrier.wait()
        response = client.post(
            "/api/v1/contacts",
            json={"name": "Once", "email": "once@example.org"},
            headers={"Authorization": f"Bearer {api_key[1]}", "Idempotency-Key": "together"},
        )
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [status for status, _ in answers] == [201] * 8
    assert len({body["id"] for _, body in answers}) == 1
    db.session.expire_all()
    assert count(Contact) == 1
