"""Zapier: the REST-hook API its platform calls, and the Zapier CLI app's own tests against our server."""

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from app.api.auth import create_key
from app.events import record_event
from app.extensions import db
from app.models import WebhookDelivery, WebhookEndpoint
from app.webhooks.samples import sample_data
from tests.conftest import bearer, run_jobs

ZAPIER_APP = Path(__file__).resolve().parents[1] / "integrations" / "zapier"
HOOK = "https://hooks.zapier.com/hooks/standard/1/abc/"


pytestmark = pytest.mark.loopback_hooks


def test_me_is_the_auth_test(client, api_key, admin):
    response = client.get("/integrations/zapier/me", headers=bearer(api_key[1]))
    assert response.status_code == 200
    assert response.json["organization"] == {"id": str(admin.organization_id), "name": "Acme"}
    assert response.json["apiKey"]["prefix"] == api_key[1][:12]
    wrong = client.get("/integrations/zapier/me", headers=bearer("cvk_nope"))
    assert wrong.status_code == 401 and wrong.json["error"]["code"] == "unauthorized"


def test_subscribe_creates_a_zapier_endpoint_and_unsubscribe_removes_it(client, api_key, receiver, app):
    created = client.post("/integrations/zapier/subscriptions", headers=bearer(api_key[1]),
                          json={"targetUrl": receiver.url + "/zap", "event": "call.ended"})
    assert created.status_code == 201 and created.json["event"] == "call.ended"
    endpoint = db.session.get(WebhookEndpoint, __import__("uuid").UUID(created.json["id"]))
    assert endpoint.source == "zapier" and endpoint.events == ["call.ended"]
    record_event(api_key[0].organization_id, "call.ended", sample_data())
    record_event(api_key[0].organization_id, "call.requested", sample_data())
    db.session.commit()
    run_jobs(app)
    (hit,) = receiver.wait_for("/zap")
    assert hit.headers["x-ic-event"] == "call.ended" and "x-ic-signature" in hit.headers  # signed like any
    assert db.session.scalar(sa.select(WebhookDelivery)).status == "succeeded"
    url = f"/integrations/zapier/subscriptions/{created.json['id']}"
    gone = client.delete(url, headers=bearer(api_key[1]))
    assert gone.status_code == 204 and db.session.scalar(sa.select(WebhookEndpoint)) is None
    again = client.delete(url, headers=bearer(api_key[1]))
    assert again.status_code == 404 and again.json["error"]["code"] == "not_found"


@pytest.mark.parametrize(("body", "message"), [
    ({"targetUrl": HOOK, "event": "call.requested"}, "event must be one of"),
    ({"targetUrl": "http://10.0.0.1/x", "event": "call.ended"}, "targetUrl is not allowed"),
    ({"event": "call.ended"}, "required"),
])
def test_subscribe_validation(client, api_key, body, message):
    response = client.post("/integrations/zapier/subscriptions", headers=bearer(api_key[1]), json=body)
    assert response.status_code == 400 and message in response.json["error"]["message"]


def test_trigger_keys_are_accepted_as_event_names(client, api_key, receiver):
    response = client.post("/integrations/zapier/subscriptions", headers=bearer(api_key[1]),
                           json={"targetUrl": receiver.url, "event": "call_transcript_ready"})
    assert response.status_code == 201 and response.json["event"] == "call.transcript_ready"


def test_samples_are_recent_events_or_a_sample(client, api_key, other_admin):
    empty = client.get("/integrations/zapier/samples?event=call.recording_ready", headers=bearer(api_key[1]))
    assert empty.status_code == 200 and empty.json[0]["sample"] is True
    assert empty.json[0]["type"] == "call.recording_ready"
    org = api_key[0].organization_id
    events = [record_event(org, "call.ended", sample_data()) for _ in range(4)]
    record_event(other_admin.organization_id, "call.ended", sample_data())
    db.session.commit()
    listed = client.get("/integrations/zapier/samples?event=call.ended", headers=bearer(api_key[1])).json
    assert len(listed) == 3 and {e["id"] for e in listed} <= {str(e.id) for e in events}
    assert all(e["organizationId"] == str(org) for e in listed)


def test_an_unsubscribe_of_another_organizations_subscription_is_404(client, api_key, other_admin, receiver):
    created = client.post("/integrations/zapier/subscriptions", headers=bearer(api_key[1]),
                          json={"targetUrl": receiver.url, "event": "call.ended"}).json
    _, other_key = create_key(other_admin.organization_id, "Zapier", ["webhooks:write", "events:read"])
    response = client.delete(f"/integrations/zapier/subscriptions/{created['id']}", headers=bearer(other_key))
    assert response.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 1


@pytest.fixture
def served(app):
    """Our app on a real loopback port (threaded, as the web server runs it)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_the_zapier_cli_apps_own_tests_pass_against_our_server(app, served, api_key, receiver):
    """`npm test` in integrations/zapier (zapier-platform-core's app tester) against this server."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm are not installed: the Zapier app's tests need them (CI has them)")
    if not (ZAPIER_APP / "node_modules" / "zapier-platform-core").exists():
        pytest.skip("run `npm ci` in integrations/zapier (make dev does)")
    event = record_event(api_key[0].organization_id, "call.ended", sample_data())
    db.session.commit()
    env = {**os.environ, "CONVERC_BASE_URL": served, "CONVERC_API_KEY": api_key[1],
           "CONVERC_HOOK_URL": receiver.url + "/zapier", "CONVERC_EXPECT_EVENT_ID": str(event.id)}
    result = subprocess.run(["npm", "test", "--silent"], cwd=ZAPIER_APP, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout and "# skipped 0" in result.stdout
    assert "# pass 18" in result.stdout  # 12, and the lead triggers (definition, Find new records)


def test_zapier_page_lists_the_organizations_zaps(client, auth, admin, api_key, receiver, other_admin):
    client.post("/integrations/zapier/subscriptions", headers=bearer(api_key[1]),
                json={"targetUrl": receiver.url, "event": "call.transcript_ready"})
    auth.login(admin.email)
    html = client.get("/settings/integrations/zapier").get_data(as_text=True)
    assert "call.transcript_ready" in html and "Find new records" in html
    assert "1 active Zap trigger" in client.get("/settings/integrations").get_data(as_text=True)
    auth.logout()
    auth.login(other_admin.email)
    assert "call.transcript_ready" not in client.get("/settings/integrations/zapier").get_data(as_text=True)
