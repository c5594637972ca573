"""The dashboard's calls and contacts pages, and ICE configuration."""

import base64
import hashlib
import hmac
import re
from datetime import timedelta

import pytest

from app.calls import service
from app.calls.ice import ice_servers, turn_rest_credentials
from app.extensions import db
from app.models import Call
from app.models.base import utcnow
from tests.calls_support import go_online, make_site
from tests.conftest import make_member


@pytest.fixture
def history(admin, rep):
    """Three calls: one ended (answered by Rex), one missed on another site, one canceled."""
    site = make_site(admin.organization_id, "shop.example.com")
    blog = make_site(admin.organization_id, "blog.example.com")
    go_online(rep)
    answered = service.request_call(site, fingerprint="fp-a", qualification={"answers": []},
                                    contact={"name": "Alice Answered", "email": "alice@example.org"},
                                    location={"city": "Austin", "region": "TX", "country": "United States",
                                              "countryCode": "US", "timezone": "America/Chicago",
                                              "latitude": 30.2, "longitude": -97.7})
    service.accept(answered.id, rep)
    service.end(answered.id, "rep_hung_up")
    missed = service.request_call(blog, fingerprint="fp-m", qualification={"answers": []},
                                  contact={"name": "Mona Missed"})
    service.miss(missed.id)
    canceled = service.request_call(site, fingerprint="fp-c", qualification={"answers": []},
                                    contact={"name": "Carl Canceled"})
    service.cancel(canceled.id)
    db.session.get(Call, canceled.id).requested_at = utcnow() - timedelta(days=3)
    db.session.commit()
    return {"answered": answered.id, "missed": missed.id, "canceled": canceled.id, "site": site, "blog": blog}


@pytest.mark.parametrize("query, shown, hidden", [
    ("", ["Alice Answered", "Mona Missed", "Carl Canceled"], []),
    ("?status=missed", ["Mona Missed"], ["Alice Answered", "Carl Canceled"]),
    ("?site={blog}", ["Mona Missed"], ["Alice Answered"]),
    ("?rep={rep}", ["Alice Answered"], ["Mona Missed", "Carl Canceled"]),
    ("?date_from={today}", ["Alice Answered", "Mona Missed"], ["Carl Canceled"]),
    ("?date_to={two_days_ago}", ["Carl Canceled"], ["Alice Answered"]),
    ("?status=bogus&date_from=yesterday", ["Alice Answered", "Carl Canceled"], []),
])
def test_calls_list_filters(client, auth, admin, rep, history, query, shown, hidden):
    auth.login(admin.email)
    today = utcnow().date()
    url = "/calls" + query.format(blog=history["blog"].id, rep=rep.id, today=today.isoformat(),
                                  two_days_ago=(today - timedelta(days=2)).isoformat())
    response = client.get(url)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for name in shown:
        assert name in html
    for name in hidden:
        assert name not in html


def test_calls_list_is_paginated_and_htmx_gets_the_fragment(client, auth, admin):
    site = make_site(admin.organization_id, "many.example.com")
    for i in range(30):
        db.session.add(Call(organization_id=admin.organization_id, site_id=site.id, status="missed",
                            visitor_fingerprint=f"fp{i}", requested_at=utcnow() - timedelta(minutes=i)))
    db.session.commit()
    auth.login(admin.email)
    first = client.get("/calls").get_data(as_text=True)
    assert first.count('href="/calls/') == 25 and "Older" in first and "← Newer" not in first
    older = re.search(r'href="(/calls\?before=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(older, headers={"HX-Request": "true"})
    html = second.get_data(as_text=True)
    assert html.count('href="/calls/') == 5 and "Older" not in html and "← Newer" in html
    assert "<!doctype" not in html and "HX-Request" in second.headers["Vary"]
    newer = re.search(r'href="(/calls\?after=[^"]+)"', html).group(1).replace("&amp;", "&")
    assert client.get(newer).get_data(as_text=True).count('href="/calls/') == 25


def test_call_detail_shows_timeline_answers_and_contact(client, auth, rep, history):
    auth.login(rep.email)
    html = client.get(f"/calls/{history['answered']}").get_data(as_text=True)
    for text in ("by Rex Rep", "Alice Answered", "alice@example.org", "Austin, TX, United States",
                 "rep hung up"):
        assert text in html
    # the timeline says what happened in words (the events registry's descriptions), in order
    steps = ["A visitor starts a call and enters the queue.", "A rep accepts the call.", "A call ends"]
    assert all(step in html for step in steps)
    assert html.index(steps[0]) < html.index(steps[1]) < html.index(steps[2])
    assert "<code>call.requested</code>" not in html


def test_rep_hangs_up_from_the_dashboard(client, auth, admin, rep):
    site = make_site(admin.organization_id, "hang.example.com")
    go_online(rep)
    call = service.request_call(site, fingerprint="fp-h", qualification={"answers": []})
    service.accept(call.id, rep)
    auth.login(rep.email)
    response = auth.post(f"/calls/{call.id}/hangup")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Call, call.id).status == "ended"
    # the call screen of an ended call sends the rep to its detail page
    assert client.get(f"/calls/{call.id}/live").status_code == 302


def test_only_the_accepting_rep_opens_the_call_screen(client, auth, admin, rep):
    site = make_site(admin.organization_id, "screen.example.com")
    go_online(rep)
    call = service.request_call(site, fingerprint="fp-s", qualification={"answers": []})
    service.accept(call.id, rep)
    other = make_member(admin.organization_id, "other@acme.example.com")
    auth.login(other.email)
    assert client.get(f"/calls/{call.id}/live").status_code == 302


def test_contacts_list_search_and_detail(client, auth, admin, history):
    auth.login(admin.email)
    html = client.get("/contacts").get_data(as_text=True)
    assert "Alice Answered" in html and "Mona Missed" in html and "Austin, TX" in html
    html = client.get("/contacts?q=ALICE").get_data(as_text=True)
    assert "Alice Answered" in html and "Mona Missed" not in html
    assert "No contact matches" in client.get("/contacts?q=<script>").get_data(as_text=True)
    assert "<script>" not in client.get("/contacts?q=<script>").get_data(as_text=True).split("<body", 1)[1]
    contact_id = db.session.get(Call, history["answered"]).contact_id
    html = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert "alice@example.org" in html and "ended" in html and "America/Chicago" in html


def test_ice_servers_from_config(make_app):
    app = make_app(ICE_STUN_URLS=["stun:stun.example.com:3478"],
                   ICE_TURN_URLS=["turn:turn.example.com:3478?transport=udp"],
                   ICE_TURN_USERNAME="static", ICE_TURN_CREDENTIAL="pw")
    with app.app_context():
        assert ice_servers("v") == [
            {"urls": ["stun:stun.example.com:3478"]},
            {"urls": ["turn:turn.example.com:3478?transport=udp"], "username": "static", "credential": "pw"},
        ]


def test_turn_rest_credentials_follow_the_coturn_scheme(make_app):
    creds = turn_rest_credentials("s3cret", 3600, "visitor-1", now=1_700_000_000)
    assert creds["username"] == "1700003600:visitor-1"
    expected = base64.b64encode(hmac.new(b"s3cret", b"1700003600:visitor-1", hashlib.sha1).digest()).decode()
    assert creds["credential"] == expected
    app = make_app(ICE_TURN_URLS=["turns:turn.example.com:5349"], ICE_TURN_SECRET="s3cret",
                   ICE_TURN_TTL_SECONDS=60)
    with app.app_context():
        server = ice_servers("rep-1")[0]
        expiry = int(server["username"].split(":")[0])
        assert server["username"].endswith(":rep-1") and 0 < expiry - utcnow().timestamp() <= 61


def test_no_ice_servers_by_default(app):
    assert ice_servers("x") == []
