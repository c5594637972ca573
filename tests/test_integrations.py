"""Settings → Integrations: the hub, API keys and webhooks pages, as an admin uses them."""

import re

import pytest
import sqlalchemy as sa

from app.events import record_event
from app.extensions import db
from app.models import ApiKey, Organization, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.conftest import bearer, run_jobs
from tests.webhook_receiver import Reply

pytestmark = pytest.mark.loopback_hooks


@pytest.fixture
def logged_in(auth, admin):
    auth.login(admin.email)
    return auth


def test_hub_shows_the_cards_and_is_for_admins(client, logged_in, rep):
    html = client.get("/settings/integrations").get_data(as_text=True)
    assert "API Keys" in html and "Webhooks" in html and "No key yet" in html
    logged_in.logout()
    logged_in.login(rep.email)
    assert client.get("/settings/integrations").status_code == 403
    assert client.get("/settings/integrations/webhooks").status_code == 403


def test_create_a_key_shows_it_once_and_it_works(client, logged_in, admin):
    response = logged_in.post("/settings/integrations/api-keys",
                              {"name": "Zapier", "scopes": ["webhooks:read", "events:read"]})
    raw = re.search(r'id="new-api-key">(cvk_[^<]+)<', response.get_data(as_text=True)).group(1)
    key = db.session.scalar(sa.select(ApiKey))
    assert key.name == "Zapier" and key.scopes == ["webhooks:read", "events:read"] and raw not in key.key_hash
    assert raw not in client.get("/settings/integrations/api-keys").get_data(as_text=True)
    api = client.get("/integrations/webhooks", headers=bearer(raw))
    assert api.status_code == 200
    assert client.post("/integrations/webhooks", json={}, headers=bearer(raw)).status_code == 403
    logged_in.post(f"/settings/integrations/api-keys/{key.id}/revoke")
    assert client.get("/integrations/webhooks", headers=bearer(raw)).status_code == 401
    assert "Revoked" in client.get("/settings/integrations/api-keys").get_data(as_text=True)


def test_personal_tokens_are_shown_once_with_their_scopes_and_act_as_their_user(client, auth, admin, rep):
    auth.login(rep.email)
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "calls:read" in page and "teammates:write" not in page  # only what a rep's role allows
    assert "Manage your personal tokens" in client.get("/account").get_data(as_text=True)
    refused = auth.post("/account/tokens", {"name": "Sneaky", "scopes": ["teammates:write"]})
    assert refused.status_code == 422 and "not a valid choice" in refused.get_data(as_text=True)

    made = auth.post("/account/tokens", {"name": "Rex script", "scopes": ["calls:read", "callbacks:write"]})
    html = made.get_data(as_text=True)
    raw = re.search(r'id="new-api-key">(cvp_[^<]+)<', html).group(1)
    assert "Scopes: calls:read, callbacks:write" in html
    token = db.session.scalar(sa.select(ApiKey).where(ApiKey.prefix == raw[:12]))
    assert token.user_id == rep.id and token.scopes == ["calls:read", "callbacks:write"]
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert raw not in listing and "Rex script" in listing and token.prefix in listing
    assert client.get("/api/v1/calls", headers=bearer(raw)).status_code == 200
    assert client.get("/api/v1/contacts", headers=bearer(raw)).status_code == 403  # not a scope of it

    # an admin sees whose token it is on API Keys; their own tokens page does not list it
    auth.logout()
    auth.login(admin.email)
    assert "Personal token of Rex Rep" in client.get("/settings/integrations/api-keys").get_data(as_text=True)
    assert "Rex script" not in client.get("/account/tokens").get_data(as_text=True)
    assert auth.post(f"/account/tokens/{token.id}/revoke").status_code == 404  # not theirs here
    auth.logout()
    auth.login(rep.email)
    assert auth.post(f"/account/tokens/{token.id}/revoke").status_code in (302, 303)
    assert client.get("/api/v1/calls", headers=bearer(raw)).status_code == 401
    assert "Revoked" in client.get("/account/tokens").get_data(as_text=True)


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "", "scopes": ["events:read"]}, "Give the key a name"),
    ({"name": "No scope"}, "Choose at least one scope"),
])
def test_key_form_errors_show_next_to_the_field(logged_in, data, message):
    response = logged_in.post("/settings/integrations/api-keys", data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_add_an_endpoint_in_the_dashboard(client, logged_in, admin, receiver):
    bad = logged_in.post("/settings/integrations/webhooks", {"url": "https://10.1.2.3/hook"})
    assert bad.status_code == 422 and "not a public internet address" in bad.get_data(as_text=True)
    good = logged_in.post("/settings/integrations/webhooks",
                          {"url": receiver.url + "/hook", "events": ["call.ended", "call.missed"]})
    html = good.get_data(as_text=True)
    secret = re.search(r'id="new-secret">(whsec_[^<]+)<', html).group(1)
    endpoint = db.session.scalar(sa.select(WebhookEndpoint))
    assert endpoint.source == "dashboard" and endpoint.events == ["call.ended", "call.missed"]
    assert secret not in client.get(f"/settings/integrations/webhooks/{endpoint.id}").get_data(as_text=True)


def _endpoint(org_id, url):
    from app.webhooks.service import create_endpoint

    return create_endpoint(org_id, url, source="dashboard")[0]


def test_send_test_roll_secret_disable_enable(client, logged_in, admin, receiver):
    endpoint = _endpoint(admin.organization_id, receiver.url + "/hook")
    base = f"/settings/integrations/webhooks/{endpoint.id}"
    assert "Test event delivered: HTTP 200" in logged_in.post(base + "/test").get_data(as_text=True)
    assert receiver.at("/hook")[0].headers["x-ic-event"] == "webhook.test"
    rolled = logged_in.post(base + "/roll-secret", {"overlap_hours": "24"}).get_data(as_text=True)
    assert re.search(r'id="new-secret">whsec_', rolled) and "previous secret also signs" in rolled
    logged_in.post(base + "/disable")
    db.session.refresh(endpoint)
    assert not endpoint.is_active and "Disabled by Ada Admin" in client.get(base).get_data(as_text=True)
    logged_in.post(base + "/enable")
    db.session.refresh(endpoint)
    assert endpoint.is_active and endpoint.disabled_reason is None


def test_edit_an_endpoints_url_events_and_sites_in_the_dashboard(client, logged_in, admin, other_admin,
                                                                   receiver):
    from tests.calls_support import make_site

    shop, blog = (make_site(admin.organization_id, d) for d in ("shop.example.com", "blog.example.com"))
    theirs = make_site(other_admin.organization_id, "globex.example.com")
    endpoint = _endpoint(admin.organization_id, receiver.url + "/hook")
    base = f"/settings/integrations/webhooks/{endpoint.id}"
    page = client.get(base).get_data(as_text=True)
    assert "every site" in page and "shop.example.com" in page and "globex.example.com" not in page

    saved = logged_in.post(base, {"url": receiver.url + "/new", "description": "CRM",
                                  "events": ["call.ended"], "sites": [str(shop.id)]})
    assert saved.status_code == 200 and "Saved." in saved.get_data(as_text=True)
    db.session.refresh(endpoint)
    assert endpoint.url == receiver.url + "/new" and endpoint.events == ["call.ended"]
    assert endpoint.sites == [str(shop.id)] and endpoint.description == "CRM"
    assert "only shop.example.com" in client.get(base).get_data(as_text=True)
    listed = client.get("/settings/integrations/webhooks").get_data(as_text=True)
    assert "Only shop.example.com" in listed and "Only blog.example.com" not in listed

    # another organization's site is not a choice; a bad URL stays next to its field; nothing changes
    refused = logged_in.post(base, {"url": receiver.url + "/new", "sites": [str(theirs.id)]})
    assert refused.status_code == 422 and "not a valid choice" in refused.get_data(as_text=True)
    refused = logged_in.post(base, {"url": "https://10.1.2.3/hook", "sites": [str(blog.id)]})
    assert refused.status_code == 422 and "not a public internet address" in refused.get_data(as_text=True)
    db.session.refresh(endpoint)
    assert endpoint.url == receiver.url + "/new" and endpoint.sites == [str(shop.id)]

    cleared = logged_in.post(base, {"url": receiver.url + "/new"})  # nothing ticked: every site again
    assert cleared.status_code == 200
    db.session.refresh(endpoint)
    assert endpoint.sites == [] and endpoint.events == []
    created = logged_in.post("/settings/integrations/webhooks",
                             {"url": receiver.url + "/b", "sites": [str(blog.id)]})
    assert created.status_code == 200
    assert db.session.scalar(sa.select(WebhookEndpoint).where(
        WebhookEndpoint.url == receiver.url + "/b")).sites == [str(blog.id)]


def test_delivery_log_and_redeliver(app, client, logged_in, admin, receiver):
    receiver.script("/hook", Reply(500, body=b"<b>nope</b>"), Reply(200))
    endpoint = _endpoint(admin.organization_id, receiver.url + "/hook")
    event = record_event(admin.organization_id, "call.ended", {"call": {"id": "c1"}})
    db.session.commit()
    run_jobs(app)
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    html = client.get(f"/settings/integrations/webhooks/{endpoint.id}").get_data(as_text=True)
    assert "call.ended" in html and "Retrying" in html
    page = client.get(f"/settings/integrations/webhooks/deliveries/{delivery.id}").get_data(as_text=True)
    assert "HTTP 500" in page and "&lt;b&gt;nope&lt;/b&gt;" in page  # the response, escaped
    logged_in.post(f"/settings/integrations/webhooks/deliveries/{delivery.id}/redeliver")
    run_jobs(app)
    first, second = receiver.wait_for("/hook", 2)
    assert first.headers["x-ic-id"] == second.headers["x-ic-id"] == str(event.id)
    db.session.refresh(delivery)
    assert delivery.status == "succeeded"
    triggers = db.session.scalars(
        sa.select(WebhookAttempt.trigger).order_by(WebhookAttempt.attempted_at)).all()
    assert triggers == ["auto", "manual"]
    event_page = client.get(f"/settings/integrations/events/{event.id}").get_data(as_text=True)
    assert receiver.url + "/hook" in event_page and "Delivered" in event_page and '"c1"' in event_page


def test_switching_webhooks_off_and_on(client, logged_in, admin, api_key):
    logged_in.post("/settings/integrations/webhooks/switch")
    assert not db.session.get(Organization, admin.organization_id).webhooks_enabled
    assert client.get("/integrations/webhooks", headers=bearer(api_key[1])).status_code == 403
    assert "Turned off" in client.get("/settings/integrations").get_data(as_text=True)
    logged_in.post("/settings/integrations/webhooks/switch")
    db.session.expire_all()
    assert db.session.get(Organization, admin.organization_id).webhooks_enabled


def test_an_endpoint_disabled_after_failures_shows_on_the_hub(client, logged_in, admin, receiver):
    from app.models.base import utcnow

    endpoint = _endpoint(admin.organization_id, receiver.url + "/gone")
    endpoint.is_active, endpoint.failing_since = False, utcnow()
    endpoint.disabled_reason = "The endpoint answered 410 Gone: it asked us to stop."
    db.session.commit()
    assert "1 disabled after failures" in client.get("/settings/integrations").get_data(as_text=True)
    assert "410 Gone" in client.get("/settings/integrations/webhooks").get_data(as_text=True)
