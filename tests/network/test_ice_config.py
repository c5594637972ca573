"""What both browsers are told about ICE: the servers with coturn REST credentials, and the
transport policy ("all" unless ICE_TRANSPORT_POLICY=relay)."""

import base64
import hashlib
import hmac
import re

import pytest

from tests.calls_support import call_body, go_online, make_site
from tests.conftest import Auth, make_member


@pytest.mark.parametrize(("policy", "expected"), [(None, "all"), ("relay", "relay"), ("bogus", "all")])
def test_both_sides_get_the_servers_and_the_policy(make_app, admin, monkeypatch, policy, expected):
    if policy:
        monkeypatch.setenv("ICE_TRANSPORT_POLICY", policy)
    monkeypatch.setenv("ICE_TURN_URLS", "turn:turn.example.com:3478")
    monkeypatch.setenv("ICE_TURN_SECRET", "s3cret")
    app = make_app()
    with app.app_context():
        site = make_site(admin.organization_id, "shop.example.com")
        rep = make_member(admin.organization_id, "rex@acme.example.com")
        go_online(rep)
        client = app.test_client()
        body = client.post("/widget/calls", json=call_body(site)).get_json()
        assert body["iceTransportPolicy"] == expected
        (turn,) = body["iceServers"]
        assert turn["urls"] == ["turn:turn.example.com:3478"]
        digest = hmac.new(b"s3cret", turn["username"].encode(), hashlib.sha1).digest()
        assert turn["credential"] == base64.b64encode(digest).decode()
        assert turn["username"].endswith(":visitor-" + body["call"]["id"])

        rep_client = app.test_client()
        rep_auth = Auth(rep_client)
        rep_auth.login(rep.email)
        call_id = body["call"]["id"]
        accepted = rep_auth.post(f"/calls/{call_id}/accept", headers={"Accept": "application/json"})
        assert accepted.status_code == 200
        live = rep_client.get(f"/calls/{body['call']['id']}/live").get_data(as_text=True)
        assert re.search(r'data-ice-policy="([a-z]+)"', live).group(1) == expected
        assert "turn:turn.example.com:3478" in live
