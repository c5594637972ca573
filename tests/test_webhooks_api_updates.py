"""The webhooks API beyond the seed: PATCH an endpoint, roll its secret with an overlap, a sites
filter, and events polling past 100 with a cursor. The seed's shapes stay exactly as they were."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.events import record_event
from app.extensions import db
from app.models import Event, WebhookEndpoint
from app.models.base import utcnow
from tests.calls_support import make_site
from tests.conftest import run_jobs
from tests.test_api import Api


@pytest.fixture
def app(hooks_app):
    return hooks_app


@pytest.fixture
def api(client, api_key):
    return Api(client, api_key[1])


def test_patch_changes_url_events_sites_and_enabled(api, theirs_key, receiver, admin):
    hook = api.call("POST", "/integrations/webhooks", {"url": receiver.url + "/a"}).get_json()["webhook"]
    assert set(hook) == {"id", "url", "events", "isActive", "createdAt", "updatedAt"}  # the seed's shape
    site = make_site(admin.organization_id, "shop.example.com")
    path = f"/integrations/webhooks/{hook['id']}"
    changed = api.call(
        "PATCH", path, {"url": receiver.url + "/b", "events": ["call.ended"], "sites": [str(site.id)]}
    ).get_json()["webhook"]
    assert (changed["url"], changed["events"], changed["sites"]) == (
        receiver.url + "/b",
        ["call.ended"],
        [str(site.id)],
    )
    assert changed["isActive"] is True
    off = api.call("PATCH", path, {"enabled": False}).get_json()["webhook"]
    assert off["isActive"] is False and off["url"] == receiver.url + "/b"
    [disabled] = db.session.scalars(sa.select(Event).where(Event.type == "webhook.disabled")).all()
    assert (
        disabled.data["reason"] == "Disabled through the API."
        and disabled.data["webhook"]["id"] == hook["id"]
    )
    assert api.call("PATCH", path, {"enabled": True}).get_json()["webhook"]["isActive"] is True
    cleared = api.call("PATCH", path, {"events": [], "sites": []}).get_json()["webhook"]
    assert cleared["events"] == [] and "sites" not in cleared
    for bad in (
        {"url": "ftp://x"},
        {"events": ["call.nope"]},
        {"enabled": "yes"},
        {"sites": ["nope"]},
        {"secret": "mine"},
    ):
        assert api.call("PATCH", path, bad).status_code == 400, bad
    assert Api(api.client, theirs_key).call("PATCH", path, {"enabled": False}).status_code == 404


@pytest.fixture
def theirs_key(other_admin):
    from app.api.auth import create_key
    from app.models.webhooks import API_SCOPES

    return create_key(other_admin.organization_id, "theirs", list(API_SCOPES))[1]


def test_roll_secret_through_the_api_signs_with_both_during_the_overlap(app, api, receiver, admin):
    created = api.call("POST", "/integrations/webhooks", {"url": receiver.url + "/hook"}).get_json()
    path = f"/integrations/webhooks/{created['webhook']['id']}/roll-secret"
    rolled = api.call("POST", path, {"overlapHours": 2}).get_json()
    assert rolled["secret"].startswith("whsec_") and rolled["secret"] != created["secret"]
    assert rolled["previousSecretExpiresAt"].endswith("Z")
    record_event(admin.organization_id, "call.ended", {"call": {"id": "c1"}})
    db.session.commit()
    run_jobs(app)
    [got] = receiver.wait_for("/hook", 1)
    from app.webhooks.signing import signed_headers

    signatures = got.headers["x-ic-signature"]
    timestamp = int(signatures.split(",")[0][2:])
    for secret in (rolled["secret"], created["secret"]):
        expected = signed_headers([secret], "x", "call.ended", timestamp, got.body)["X-IC-Signature"]
        assert expected.split(",")[1] in signatures
    none = api.call("POST", path, {"overlapHours": 0}).get_json()
    assert none["previousSecretExpiresAt"] is None
    for bad in ({"overlapHours": -1}, {"overlapHours": 1000}, {"overlapHours": "2"}):
        assert api.call("POST", path, bad).status_code == 400


def test_events_polling_pages_past_100_with_a_cursor(api, admin):
    start = utcnow() - timedelta(hours=1)
    for n in range(230):
        event = record_event(admin.organization_id, "call.ended", {"call": {"id": f"c{n}"}})
        event.created_at = start + timedelta(seconds=n)  # a loop can record two in one clock tick
    db.session.commit()
    seen, url = [], "/webhooks/events?eventType=call.ended&display=100"
    while url:
        response = api.call("GET", url)
        page = response.get_json()
        assert isinstance(page, list) and len(page) <= 100
        seen += [e["data"]["call"]["id"] for e in page]
        cursor = response.headers.get("X-Next-Cursor")
        if cursor:
            assert f"cursor={cursor}" in response.headers["Link"] and 'rel="next"' in response.headers["Link"]
        url = f"/webhooks/events?eventType=call.ended&display=100&cursor={cursor}" if cursor else None
    assert len(seen) == 230 and len(set(seen)) == 230
    assert seen[:2] == ["c229", "c228"]  # newest first, as before


def test_webhook_json_is_unchanged_for_endpoints_without_sites(api, receiver):
    api.call("POST", "/integrations/webhooks", {"url": receiver.url + "/x", "events": ["call.ended"]})
    [hook] = api.call("GET", "/integrations/webhooks").get_json()["webhooks"]
    assert set(hook) == {"id", "url", "events", "isActive", "createdAt", "updatedAt"}
    assert json.dumps(hook)  # plain JSON
    assert db.session.scalar(sa.select(WebhookEndpoint.sites)) == []
