"""TRUSTED_PROXIES: the client's address, scheme and host come from X-Forwarded-* only when the
app is told how many proxies stand in front of it; otherwise a client cannot spoof them."""

import json
import uuid

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Call
from app.models.widget import settings_for
from app.sites.service import create_site
from tests.calls_support import call_body, go_online, make_site
from tests.conftest import make_member
from tests.test_widget import _mmdb, get_config

FORWARDED = {"X-Forwarded-For": "198.51.100.77", "X-Forwarded-Proto": "https",
             "X-Forwarded-Host": "converc.example.com"}


@pytest.fixture
def online_rep(admin):
    go_online(make_member(admin.organization_id, "rex@acme.example.com"))


def _request_call(client, site, fingerprint, headers):
    """Qualify (where the call limits per address are met), then request the call, both through
    the same proxy headers: over the limit, the qualification does not allow a call (403)."""
    qualify = {"publicKey": site.public_key, "domain": site.domain, "fingerprint": fingerprint,
               "contact": {"email": "vera@example.org"}}
    token = client.post("/widget/qualify", data=json.dumps(qualify), content_type="text/plain",
                        headers=headers).get_json()["qualificationToken"]
    body = {**call_body(site, fingerprint=fingerprint), "qualificationToken": token}
    return client.post("/widget/calls", json=body, headers=headers)


def _visitor_ip(call_id):
    db.session.expire_all()
    return db.session.scalar(sa.select(Call.visitor_ip).where(Call.id == uuid.UUID(call_id)))


def test_spoofed_forwarded_headers_are_ignored_when_no_proxy_is_trusted(make_app, admin, online_rep):
    app = make_app(CALL_RATE_LIMIT_PER_IP="2 per hour", SERVER_NAME=None)
    with app.app_context():
        site = make_site(admin.organization_id, "shop.example.com")
        client = app.test_client()
        response = _request_call(client, site, "fp-1", FORWARDED)
        assert response.status_code == 201
        body = response.get_json()
        assert _visitor_ip(body["call"]["id"]) == "127.0.0.1"
        # neither the scheme nor the host of the spoofed headers reach the URLs we hand out
        assert body["socketUrl"].startswith("ws://") and "converc.example.com" not in body["socketUrl"]
        # a new X-Forwarded-For on every request does not escape the per-IP limit
        codes = [_request_call(client, site, f"fp-{i}", {"X-Forwarded-For": f"203.0.113.{i}"}).status_code
                 for i in range(2, 4)]
        assert codes == [201, 403]


def test_one_trusted_proxy_gives_the_real_client_scheme_and_host(make_app, admin, online_rep):
    app = make_app(TRUSTED_PROXIES=1, CALL_RATE_LIMIT_PER_IP="1 per hour", SERVER_NAME=None)
    with app.app_context():
        site = make_site(admin.organization_id, "shop.example.com")
        client = app.test_client()
        # the client sent its own X-Forwarded-For; our proxy appended the address it saw
        headers = {**FORWARDED, "X-Forwarded-For": "10.9.9.9, 198.51.100.77"}
        body = _request_call(client, site, "fp-1", headers).get_json()
        assert _visitor_ip(body["call"]["id"]) == "198.51.100.77"
        assert body["socketUrl"].startswith("wss://converc.example.com/realtime/call?token=")
        assert body["hangupUrl"].startswith("https://converc.example.com/")
        # limits count each real client, not the proxy: another visitor is not limited by the first
        assert _request_call(client, site, "fp-2", headers).status_code == 403
        other = {**FORWARDED, "X-Forwarded-For": "198.51.100.78"}
        assert _request_call(client, site, "fp-3", other).status_code == 201


@pytest.mark.parametrize(("trusted", "shown"), [(0, True), (1, False)])
def test_geo_uses_the_forwarded_client_only_behind_a_trusted_proxy(make_app, admin, tmp_path, trusted, shown):
    app = make_app(GEOIP_DB_PATH=_mmdb(tmp_path / "city.mmdb"), TRUSTED_PROXIES=trusted)
    with app.app_context():
        site = create_site(admin.organization_id, "example.com")
        settings_for(site).countries = ["US"]
        db.session.commit()
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "8.8.8.8"  # the proxy (geo: US)
        # the visitor, in the United Kingdom, as the proxy reports them
        body = get_config(client, site, **{"X-Forwarded-For": "81.2.69.160"}).get_json()
        assert body["show"] is shown
