"""The REST API exactly as the product doc shows it; every response checked against /api/openapi.json."""

import re
import uuid

import pytest
import sqlalchemy as sa
from jsonschema import Draft202012Validator

from app.api.auth import create_key, revoke
from app.events import record_event
from app.extensions import db
from app.models import ApiKey, Organization, WebhookEndpoint
from tests.api_support import Api
from tests.conftest import bearer
from tests.webhook_receiver import Reply

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


pytestmark = pytest.mark.loopback_hooks


def test_openapi_document_is_valid_json_schema(client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema), name
    # the seed's paths (tests/test_api_v1.py checks every served path is documented)
    assert set(doc["paths"]) >= {"/integrations/webhooks", "/integrations/webhooks/{webhookId}",
                                 "/integrations/webhooks/test", "/webhooks/events"}


def test_create_returns_the_documented_body_and_the_secret_once(api, admin, receiver):
    events = ["call.ended", "call.recording_ready", "call.transcript_ready"]
    response = api.call("POST", "/integrations/webhooks", {"url": receiver.url + "/hook", "events": events})
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"webhook", "secret"} and body["secret"].startswith("whsec_")
    hook = body["webhook"]
    assert set(hook) == {"id", "url", "events", "isActive", "createdAt", "updatedAt"}
    assert hook["url"] == receiver.url + "/hook" and hook["events"] == events and hook["isActive"] is True
    assert ISO_MS.match(hook["createdAt"]) and ISO_MS.match(hook["updatedAt"])
    stored = db.session.get(WebhookEndpoint, uuid.UUID(hook["id"]))
    assert stored.source == "api" and body["secret"] not in stored.secret_encrypted  # encrypted at rest
    listed = api.call("GET", "/integrations/webhooks").get_json()
    assert listed == {"webhooks": [hook]} and "secret" not in str(listed)


def test_omitted_or_empty_events_mean_every_event(api, receiver):
    for body in ({"url": receiver.url + "/a"}, {"url": receiver.url + "/b", "events": []}):
        assert api.call("POST", "/integrations/webhooks", body).get_json()["webhook"]["events"] == []


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "https://x.example.com", "events": ["call.exploded"]}, "call.exploded"),
    ({"url": "https://x.example.com", "events": "call.ended"}, "events"),
    ({"events": ["call.ended"]}, "url"),
    ({"url": ""}, "url"),
    ({"url": "ftp://files.example.com/in"}, "url"),
    ({"url": "http://169.254.169.254/latest/meta-data"}, "url"),
    ({"url": 42}, "url"),
])
def test_bad_input_is_a_400_naming_the_field(api, body, field):
    response = api.call("POST", "/integrations/webhooks", body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_request"
    assert field in response.get_json()["error"]["message"]


def test_malformed_json_is_a_400(api):
    response = api.call("POST", "/integrations/webhooks", raw="{not json",
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "JSON" in response.get_json()["error"]["message"]


def test_delete_disables_and_another_orgs_id_is_a_404(api, client, receiver, other_admin):
    hook = api.call("POST", "/integrations/webhooks", {"url": receiver.url + "/hook"}).get_json()["webhook"]
    response = api.call("DELETE", f"/integrations/webhooks/{hook['id']}")
    assert response.get_json() == {"ok": True, "webhookId": hook["id"], "isActive": False}
    assert api.call("GET", "/integrations/webhooks").get_json()["webhooks"][0]["isActive"] is False
    _, their_raw = create_key(other_admin.organization_id, "theirs", ["webhooks:read", "webhooks:write"])
    theirs = Api(client, their_raw)
    assert theirs.call("DELETE", f"/integrations/webhooks/{hook['id']}").status_code == 404
    assert theirs.call("GET", f"/integrations/webhooks/{hook['id']}").status_code == 404
    assert theirs.call("GET", "/integrations/webhooks").get_json() == {"webhooks": []}
    assert api.call("DELETE", "/integrations/webhooks/not-a-uuid").status_code == 404
    assert api.call("DELETE", f"/integrations/webhooks/{uuid.uuid4()}").status_code == 404


def test_test_endpoint_reports_a_real_delivery(api, receiver):
    receiver.script("/bad", Reply(500))
    good = api.call("POST", "/integrations/webhooks", {"url": receiver.url + "/good"}).get_json()["webhook"]
    bad = api.call("POST", "/integrations/webhooks", {"url": receiver.url + "/bad"}).get_json()["webhook"]
    assert api.call("POST", "/integrations/webhooks/test", {"webhookId": good["id"]}).get_json() == {
        "ok": True, "status": 200, "error": None}
    [got] = receiver.at("/good")
    assert got.headers["x-ic-event"] == "webhook.test"
    failed = api.call("POST", "/integrations/webhooks/test", {"webhookId": bad["id"]}).get_json()
    assert failed == {"ok": False, "status": 500, "error": "HTTP 500"}
    unknown = {"webhookId": str(uuid.uuid4())}
    assert api.call("POST", "/integrations/webhooks/test", unknown).status_code == 404
    assert api.call("POST", "/integrations/webhooks/test", {}).status_code == 400


def test_events_polling_returns_the_newest_of_a_type(api, admin):
    for n in range(5):
        record_event(admin.organization_id, "call.ended", {"call": {"id": f"c{n}"}})
        db.session.commit()
    record_event(admin.organization_id, "call.requested", {"call": {"id": "r"}})
    db.session.commit()
    events = api.call("GET", "/webhooks/events?eventType=call.ended&display=4").get_json()
    assert [e["data"]["call"]["id"] for e in events] == ["c4", "c3", "c2", "c1"]
    assert set(events[0]) == {"id", "type", "createdAt", "organizationId", "data"}
    assert events[0]["organizationId"] == str(admin.organization_id)
    for bad in ("eventType=call.nope", "display=0", "display=abc", "display=1000"):
        assert api.call("GET", f"/webhooks/events?{bad}").status_code == 400


@pytest.mark.parametrize("header", [None, "Bearer ", "Bearer cvk_unknown", "Basic abc", "cvk_no_scheme"])
def test_missing_or_unknown_key_is_a_401(client, header, admin):
    response = client.get("/integrations/webhooks", headers={"Authorization": header} if header else {})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_key_is_a_401_and_use_is_recorded(api, api_key, client):
    assert api.call("GET", "/integrations/webhooks").status_code == 200
    key = db.session.get(ApiKey, api_key[0].id)
    assert key.last_used_at is not None
    revoke(key)
    assert client.get("/integrations/webhooks", headers=bearer(api_key[1])).status_code == 401


@pytest.mark.parametrize(("scopes", "method", "path", "missing"), [
    (["webhooks:read"], "POST", "/integrations/webhooks", "webhooks:write"),
    (["webhooks:write"], "GET", "/integrations/webhooks", "webhooks:read"),
    (["webhooks:read"], "GET", "/webhooks/events?eventType=call.ended", "events:read"),
    (["events:read"], "POST", "/integrations/webhooks/test", "webhooks:write"),
])
def test_a_key_without_the_scope_is_a_403_naming_it(client, admin, scopes, method, path, missing):
    _, raw = create_key(admin.organization_id, "narrow", scopes)
    response = Api(client, raw).call(method, path, {"url": "https://x.example.com"})
    assert response.status_code == 403 and missing in response.get_json()["error"]["message"]


def test_webhooks_switched_off_is_a_403(api, admin):
    db.session.get(Organization, admin.organization_id).webhooks_enabled = False
    db.session.commit()
    for method, path in [("GET", "/integrations/webhooks"), ("POST", "/integrations/webhooks"),
                         ("GET", "/webhooks/events?eventType=call.ended")]:
        response = api.call(method, path, {"url": "https://x.example.com"})
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "webhooks_disabled"


def test_unknown_routes_and_methods_answer_json(api, client):
    assert client.put("/integrations/webhooks", headers=api.headers).get_json()["error"]["code"] == \
        "method_not_allowed"
    response = client.get("/integrations/webhooks/a/b", headers=api.headers)
    assert response.get_json()["error"]["code"] == "not_found"


def test_a_server_error_is_json_with_the_request_id(api, monkeypatch):
    from app.webhooks import service

    def broken(*args, **kwargs):
        raise RuntimeError("database exploded")

    monkeypatch.setattr(service, "create_endpoint", broken)
    response = api.client.post("/integrations/webhooks", json={"url": "https://x.example.com"},
                               headers={**api.headers, "X-Request-Id": "req-123"})
    assert response.status_code == 500 and response.headers["X-Request-Id"] == "req-123"
    assert response.get_json()["error"] == {"code": "server_error", "requestId": "req-123",
                                            "message": "Server error. Contact support with the request id."}
    assert "exploded" not in response.get_data(as_text=True)


def test_api_keys_are_stored_hashed(api_key):
    key, raw = api_key
    row = db.session.scalar(sa.select(ApiKey).where(ApiKey.id == key.id))
    assert raw not in (row.key_hash, row.prefix) and raw.startswith(row.prefix) and len(row.key_hash) == 64


def test_rate_limit_per_key_answers_429_json(make_app, admin):
    from tests.conftest import LOOPBACK_HOOKS

    app = make_app(**LOOPBACK_HOOKS, API_RATE_LIMIT="2 per minute")
    client = app.test_client()
    with app.app_context():
        _, raw = create_key(admin.organization_id, "busy", ["webhooks:read"])
    statuses = [client.get("/integrations/webhooks", headers=bearer(raw)).status_code for _ in range(3)]
    response = client.get("/integrations/webhooks", headers=bearer(raw))
    assert statuses == [200, 200, 429] and response.get_json()["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0


def test_dashboard_405_is_still_a_plain_405(client):
    assert client.put("/login").status_code == 405
