"""The server enforces the visitor's flow: only a qualification that allows a call can ring, the
contact is the one /widget/qualify validated, call limits are met at qualify time (per visitor and
per address), every refusal is counted for admins; reps on a call are not rung, and a rep ends
only their own calls."""

import json

import pytest
import sqlalchemy as sa

from app.availability import service as availability
from app.availability.rules import RepFacts, rep_status
from app.calls import service
from app.extensions import db
from app.models import Call, CallRefusal
from app.models.base import utcnow
from app.models.widget import flow_for
from app.widget.tokens import sign_qualification
from tests.calls_support import ANSWERS, go_online, make_site
from tests.conftest import Auth, make_member
from tests.test_widget import add_question

ORIGIN = "https://shop.example.com"


@pytest.fixture
def site(admin):
    return make_site(admin.organization_id, "shop.example.com", ring_timeout_seconds=30)


@pytest.fixture
def reps(admin):
    ana = make_member(admin.organization_id, "ana@acme.example.com", "rep", "Ana")
    bob = make_member(admin.organization_id, "bob@acme.example.com", "rep", "Bob")
    go_online(ana)
    go_online(bob)
    return ana, bob


def qualify(client, site, answers=None, contact=None, fingerprint="fp-1", ip="203.0.113.1", **extra):
    body = {"publicKey": site.public_key, "domain": "shop.example.com", "answers": answers or {},
            "contact": {"name": "Vera", "email": "vera@example.org"} if contact is None else contact,
            "fingerprint": fingerprint, **extra}
    return client.post("/widget/qualify", data=json.dumps(body), content_type="text/plain;charset=UTF-8",
                       headers={"Origin": ORIGIN}, environ_base={"REMOTE_ADDR": ip})


def call(client, site, token, fingerprint="fp-1", ip="203.0.113.1", **extra):
    body = {"publicKey": site.public_key, "qualificationToken": token, "fingerprint": fingerprint,
            "mediaType": "video", **extra}
    return client.post("/widget/calls", json=body, environ_base={"REMOTE_ADDR": ip})


@pytest.fixture
def disqualifying(site):
    return str(add_question(site, "Company size", options=[("1-10", True), ("11-50", False)]).id)


# ---- 1. only a qualification that allows a call rings ------------------------------------------

def test_a_disqualified_token_cannot_request_a_call(client, site, reps, disqualifying):
    body = qualify(client, site, {disqualifying: "1-10"}).get_json()
    assert body["outcome"] == "disqualified" and body["action"] == "message"

    response = call(client, site, body["qualificationToken"])

    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "call_not_allowed"
    assert db.session.scalar(sa.select(sa.func.count(Call.id))) == 0


def test_call_anyway_still_calls(client, site, reps, disqualifying):
    flow_for(site).disqualified_action = "call_anyway"
    db.session.commit()
    body = qualify(client, site, {disqualifying: "1-10"}).get_json()
    assert call(client, site, body["qualificationToken"]).status_code == 201


@pytest.mark.parametrize("contact", [{"email": "not-an-email"}, {}, {"email": "other@example.org"}])
def test_the_contact_comes_from_qualify_not_the_call_request(client, site, reps, contact):
    token = qualify(client, site).get_json()["qualificationToken"]

    response = call(client, site, token, contact=contact)

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "contact_not_validated"


def test_the_call_takes_the_validated_contact(client, site, reps):
    token = qualify(client, site, contact={"name": " Vera ", "email": "Vera@Example.org"}).get_json()[
        "qualificationToken"]
    response = call(client, site, token)
    assert response.status_code == 201
    created = db.session.get(Call, service.as_uuid(response.get_json()["call"]["id"]))
    assert created.contact.email == "Vera@example.org" and created.contact.name == "Vera"


def test_a_token_without_a_validated_contact_is_refused_when_email_is_required(client, site, reps):
    # a token signed before contacts were carried (or forged from parts): no contact inside
    token = sign_qualification({"siteId": str(site.id), "flowId": None, "outcome": "qualified",
                                "answers": ANSWERS})
    response = call(client, site, token, contact={})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_qualification"


def test_the_token_is_bound_to_the_visitor_who_qualified(client, site, reps):
    token = qualify(client, site, fingerprint="fp-1").get_json()["qualificationToken"]
    response = call(client, site, token, fingerprint="fp-someone-else")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_qualification"


# ---- call limits at qualify time, per visitor and per address ----------------------------------

@pytest.fixture
def limited(make_app, admin):
    app = make_app(CALL_RATE_LIMIT_PER_IP="3 per hour", CALL_RATE_LIMIT_PER_VISITOR="2 per hour")
    with app.app_context():
        site = make_site(admin.organization_id, "shop.example.com")
        yield app, site


def test_the_limit_per_visitor_is_met_at_qualify_time_and_offers_leaving_details(limited):
    app, site = limited
    client = app.test_client()
    first, second = (qualify(client, site, ip=f"198.51.100.{i}").get_json() for i in (1, 2))
    assert first["action"] == second["action"] == "call"

    third = qualify(client, site, ip="198.51.100.3")

    assert third.status_code == 200
    body = third.get_json()
    assert body["action"] == "leave_details" and body["reason"] == "rate_limited"
    assert "details" in body["message"]
    refused = call(client, site, body["qualificationToken"], ip="198.51.100.3")
    assert refused.status_code == 403


def test_the_limit_per_address_counts_every_visitor_behind_it(limited):
    app, site = limited
    client = app.test_client()
    actions = [qualify(client, site, fingerprint=f"fp-{i}").get_json()["action"] for i in range(4)]
    assert actions == ["call", "call", "call", "leave_details"]
    # another office: its own count
    assert qualify(client, site, fingerprint="fp-9", ip="192.0.2.50").get_json()["action"] == "call"


def test_the_widget_can_ask_before_the_visitor_starts(limited):
    app, site = limited
    client = app.test_client()
    check = {"check": True}
    assert qualify(client, site, **check).get_json() == {"callAllowed": True, "retryAfter": None}
    for _ in range(2):
        qualify(client, site)
    body = qualify(client, site, **check).get_json()
    assert body["callAllowed"] is False and body["retryAfter"] > 0
    # asking does not count
    assert qualify(client, site, fingerprint="fp-2", **check).get_json()["callAllowed"] is True


def test_refusals_are_counted_on_who_can_take_a_call(limited, admin):
    app, site = limited
    client = app.test_client()
    for i in range(3):
        qualify(client, site, ip=f"198.51.100.{i}")
    bad = call(client, site, "forged")
    assert bad.status_code == 400
    old = CallRefusal(organization_id=admin.organization_id, reason="rate_limited_visitor",
                      created_at=utcnow() - __import__("datetime").timedelta(hours=25))
    db.session.add(old)
    db.session.commit()

    Auth(client).login(admin.email)
    html = client.get("/settings/availability/status").get_data(as_text=True)

    assert "Refused call requests in the last 24 hours" in html
    assert "Too many call requests from one visitor" in html
    assert "Expired or invalid qualification" in html
    counted = sa.select(CallRefusal.reason, sa.func.count()).group_by(CallRefusal.reason)
    rows = dict(db.session.execute(counted).all())
    assert rows == {"rate_limited_visitor": 2, "invalid_qualification": 1}


def test_the_site_limit_is_a_counted_refusal(make_app, admin):
    app = make_app(CALL_RATE_LIMIT_PER_SITE="1 per hour")
    with app.app_context():
        site = make_site(admin.organization_id, "shop.example.com")
        client = app.test_client()
        first = call(client, site, qualify(client, site, fingerprint="a").get_json()["qualificationToken"],
                     fingerprint="a")
        second = call(client, site, qualify(client, site, fingerprint="b").get_json()["qualificationToken"],
                      fingerprint="b")
        assert first.status_code == 201 and second.status_code == 429
        assert second.get_json()["error"]["code"] == "rate_limited"
        assert 1 <= int(second.headers["Retry-After"]) <= 3600  # the hour's window
        assert db.session.scalar(sa.select(CallRefusal.reason)) == "rate_limited_site"

        # the refused request left no waiting call behind: with room again, the visitor calls
        app.config["CALL_RATE_LIMIT_PER_SITE"] = "5 per hour"
        again = call(client, site, qualify(client, site, fingerprint="b").get_json()["qualificationToken"],
                     fingerprint="b")
        assert again.status_code == 201, again.get_json()


def test_a_qualification_rings_a_few_times_then_is_used_up(make_app, admin):
    """CALLS_PER_QUALIFICATION calls per token (a missed call, a camera denied); past them the
    visitor answers again. A used-up token holds no waiting call and costs the site nothing."""
    app = make_app(CALLS_PER_QUALIFICATION="2", CALL_RATE_LIMIT_PER_SITE="3 per hour")
    with app.app_context():
        site = make_site(admin.organization_id, "shop.example.com")
        client = app.test_client()
        token = qualify(client, site, fingerprint="a").get_json()["qualificationToken"]
        for _ in range(2):
            body = call(client, site, token, fingerprint="a").get_json()
            assert body["call"]["status"] in ("requested", "missed"), body
            client.post(f"/widget/calls/{body['call']['id']}/cancel", json={"token": body["token"]})

        used_up = call(client, site, token, fingerprint="a")
        assert used_up.status_code == 429 and used_up.get_json()["error"]["code"] == "token_used_up"
        assert db.session.scalar(sa.select(CallRefusal.reason)) == "token_used_up"
        # the site counted two calls, not the refused third: a third visitor still gets through
        other = call(client, site, qualify(client, site, fingerprint="c").get_json()["qualificationToken"],
                     fingerprint="c")
        assert other.status_code == 201, other.get_json()
        fresh = call(client, site, qualify(client, site, fingerprint="a").get_json()["qualificationToken"],
                     fingerprint="a")
        assert fresh.status_code == 429 and fresh.get_json()["error"]["code"] == "rate_limited"


# ---- 2. on a call ---------------------------------------------------------------------------

def test_on_a_call_is_a_state_of_the_rule():
    facts = RepFacts(user_id=1, name="Ana", timezone="UTC", weekly=[[[0, 0]]] * 7, toggled=True,
                     on_call=True)
    status = rep_status(facts, utcnow(), online=True)
    assert not status.available and status.reason == "on_call"
    # off their hours or toggled off, that reason says more than "on a call"
    assert rep_status(RepFacts(user_id=1, name="A", timezone="UTC", weekly=[[[0, 0]]] * 7,
                               on_call=True), utcnow(), True).reason == "toggled_off"


def test_a_rep_on_a_call_is_not_rung_and_shows_on_a_call(client, site, reps, admin):
    ana, bob = reps
    first = service.request_call(site, fingerprint="v1", qualification={"answers": []})
    service.accept(first.id, ana)

    assert availability.available_rep_ids(admin.organization_id) == [bob.id]
    second = service.request_call(site, fingerprint="v2", qualification={"answers": []})
    rung = {m.decode() for m in app_redis().smembers(f"call:{second.id}:rung")}
    assert rung == {str(bob.id)}

    Auth(client).login(admin.email)
    html = client.get("/settings/availability/status").get_data(as_text=True)
    assert "On a call" in html

    service.end(first.id, "rep_hung_up")
    assert set(availability.available_rep_ids(admin.organization_id)) == {ana.id, bob.id}


def test_the_widget_says_unavailable_while_the_only_rep_is_on_a_call(client, site, rep):
    go_online(rep)
    assert availability.widget_availability(rep.organization_id)["available"] is True
    first = service.request_call(site, fingerprint="v1", qualification={"answers": []})
    service.accept(first.id, rep)
    assert availability.widget_availability(rep.organization_id)["available"] is False
    service.end(first.id, "rep_hung_up")
    assert availability.widget_availability(rep.organization_id)["available"] is True


def app_redis():
    from app.redis_store import get_redis

    return get_redis()


def test_a_rep_can_only_hang_up_their_own_call(make_app, site, reps, admin):
    ana, bob = reps
    ringing = service.request_call(site, fingerprint="v1", qualification={"answers": []})
    service.accept(ringing.id, ana)
    url = f"/calls/{ringing.id}/hangup"

    bob_client = make_app().test_client()
    Auth(bob_client).login(bob.email)
    refused = Auth(bob_client).post(url, headers={"Accept": "application/json"})
    assert refused.status_code == 403
    assert service.current_status(ringing.id) == "accepted"

    admin_client = make_app().test_client()
    Auth(admin_client).login(admin.email)
    assert Auth(admin_client).post(url, headers={"Accept": "application/json"}).status_code == 204
    assert service.current_status(ringing.id) == "ended"

