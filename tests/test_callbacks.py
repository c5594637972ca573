"""Callbacks instead of dead ends: a disqualified lead is kept (contact.disqualified), visitors
leave their details after a missed call, when nobody is available or when their answers ask for
it (callback.requested), and reps work the Callbacks queue (claim, notes, done, overdue)."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.calls import service as calls
from app.extensions import db
from app.integrations import messages
from app.models import Callback, Contact, Event
from app.models.base import utcnow
from app.models.widget import flow_for
from tests.calls_support import go_online, make_site
from tests.conftest import Auth, bearer
from tests.test_widget import add_question

ORIGIN = "https://shop.example.com"


@pytest.fixture
def site(admin):
    return make_site(admin.organization_id, "shop.example.com", ring_timeout_seconds=30)


@pytest.fixture
def size(site):
    return str(add_question(site, "Company size", options=[("1-10", True), ("11-50", False)]).id)


def qualify(client, site, answers=None, contact=None, fingerprint="fp-lead"):
    body = {"publicKey": site.public_key, "domain": "shop.example.com", "answers": answers or {},
            "contact": contact or {"name": "Lena Lead", "email": "lena@example.org"},
            "fingerprint": fingerprint, "attributes": {"plan": "pro"}}
    return client.post("/widget/qualify", data=json.dumps(body), content_type="text/plain;charset=UTF-8",
                       headers={"Origin": ORIGIN})


def leave_details(client, site, fingerprint="fp-lead", **extra):
    body = {"publicKey": site.public_key, "fingerprint": fingerprint,
            "contact": {"name": "Lena Lead", "email": "lena@example.org", "phone": "+49 30 1234567"},
            "window": "today", "note": "Ask about the enterprise plan", "attributes": {"plan": "pro"},
            "pageUrl": "https://shop.example.com/pricing", **extra}
    return client.post("/widget/callbacks", data=json.dumps(body), content_type="text/plain;charset=UTF-8",
                       headers={"Origin": ORIGIN})


def event_types() -> list[str]:
    """The call and lead events (not the other modules' site.created, contact.created, …)."""
    leads = sa.or_(Event.type.like("call.%"), Event.type.like("callback.%"),
                   Event.type == "contact.disqualified")
    return list(db.session.scalars(sa.select(Event.type).where(leads).order_by(Event.created_at)))


def test_a_disqualified_lead_is_kept_with_its_answers(client, site, size):
    body = qualify(client, site, {size: "1-10"}).get_json()
    assert body["outcome"] == "disqualified"

    contact = db.session.scalar(sa.select(Contact))
    assert contact.email == "lena@example.org" and contact.fingerprint == "fp-lead"
    assert contact.answers[0]["answer"]["value"] == "1-10" and contact.attributes == {"plan": "pro"}
    event = db.session.scalar(sa.select(Event).where(Event.type == "contact.disqualified"))
    assert event.data["contact"]["email"] == "lena@example.org" and event.data["call"] is None
    assert event.data["qualificationAnswers"][0]["question"]["label"] == "Company size"


def test_disqualified_with_leave_details_becomes_a_callback(client, site, size):
    flow_for(site).disqualified_action = "leave_details"
    db.session.commit()
    body = qualify(client, site, {size: "1-10"}).get_json()
    assert body["action"] == "leave_details" and "details" in body["message"]

    response = leave_details(client, site, qualificationToken=body["qualificationToken"])

    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["next"] == "Someone from our team will contact you at +49 30 1234567, later today."
    callback = db.session.scalar(sa.select(Callback))
    assert callback.reason == "disqualified" and callback.status == "open"
    assert callback.email == "lena@example.org" and callback.note == "Ask about the enterprise plan"
    assert callback.answers[0]["answer"]["value"] == "1-10" and callback.attributes == {"plan": "pro"}
    assert timedelta(hours=7) < callback.due_at - callback.created_at <= timedelta(hours=8)
    assert event_types() == ["contact.disqualified", "callback.requested"]
    data = db.session.scalar(sa.select(Event).where(Event.type == "callback.requested")).data
    assert data["callback"]["preferredWindow"] == "today" and data["contact"]["phone"] == "+49 30 1234567"


def test_a_missed_call_becomes_a_callback(client, site, rep):
    go_online(rep)
    call = calls.request_call(site, fingerprint="fp-lead", qualification={"answers": []})
    calls.miss(call.id)

    response = leave_details(client, site, callId=str(call.id))

    assert response.status_code == 201
    callback = db.session.scalar(sa.select(Callback))
    assert callback.reason == "missed" and callback.call_id == call.id
    data = db.session.scalar(sa.select(Event).where(Event.type == "callback.requested")).data
    assert data["call"]["id"] == str(call.id) and data["call"]["status"] == "missed"


def test_nobody_available_becomes_a_callback(client, site):
    call = calls.request_call(site, fingerprint="fp-lead", qualification={"answers": []})
    assert calls.current_status(call.id) == "missed"
    leave_details(client, site, callId=str(call.id))
    assert db.session.scalar(sa.select(Callback.reason)) == "no_one_available"


def test_without_a_call_or_token_the_visitor_says_why(client, site):
    assert leave_details(client, site, reason="no_one_available").status_code == 201
    assert db.session.scalar(sa.select(Callback.reason)) == "no_one_available"


def test_another_visitors_call_is_not_linked(client, site):
    call = calls.request_call(site, fingerprint="fp-someone-else", qualification={"answers": []})
    assert leave_details(client, site, callId=str(call.id)).status_code == 201
    assert db.session.scalar(sa.select(Callback.call_id)) is None


@pytest.mark.parametrize("change, status, code, field", [
    ({"contact": {"name": "No Way To Reach"}}, 400, "invalid_details", "contact.email"),
    ({"contact": {"email": "not-an-email"}}, 400, "invalid_details", "contact.email"),
    ({"contact": {"phone": "call me maybe"}}, 400, "invalid_details", "contact.phone"),
    ({"window": "never"}, 400, "invalid_details", "window"),
    ({"note": "x" * 1001}, 400, "invalid_details", "note"),
    ({"note": 5}, 400, "invalid_details", "note"),
    ({"fingerprint": ""}, 400, "invalid_input", None),
    ({"publicKey": "pk_nope"}, 404, "site_not_found", None),
    ({"qualificationToken": "forged"}, 400, "invalid_qualification", None),
])
def test_bad_details_are_refused_with_the_field(client, site, change, status, code, field):
    response = leave_details(client, site, **change)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]
    if field:
        assert field in error["fields"]
    assert db.session.scalar(sa.select(sa.func.count(Callback.id))) == 0


def test_garbage_is_a_400(client):
    response = client.post("/widget/callbacks", data="[1,2", content_type="text/plain")
    assert response.status_code == 400 and response.headers["Access-Control-Allow-Origin"] == "*"


def test_leaving_details_is_rate_limited_per_address(make_app, admin):
    app = make_app(CALLBACK_RATE_LIMIT="2 per hour")
    with app.app_context():
        site = make_site(admin.organization_id, "shop.example.com")
        client = app.test_client()
        codes = [leave_details(client, site, fingerprint=f"fp-{i}").status_code for i in range(3)]
        assert codes == [201, 201, 429]


# ---- the queue ---------------------------------------------------------------------------------

@pytest.fixture
def queued(client, site):
    leave_details(client, site, reason="no_one_available")
    return db.session.scalar(sa.select(Callback))


def test_the_queue_shows_callbacks_with_overdue_ones_highlighted(client, queued, rep):
    late = Callback(organization_id=queued.organization_id, reason="missed", name="Otto Overdue",
                    email="otto@example.org", preferred_window="asap", status="open",
                    due_at=utcnow() - timedelta(hours=1))
    db.session.add(late)
    db.session.commit()
    Auth(client).login(rep.email)

    html = client.get("/callbacks").get_data(as_text=True)

    assert "Lena Lead" in html and "Otto Overdue" in html
    assert html.index("Otto Overdue") < html.index("Lena Lead")  # the most overdue on top
    assert html.count('callback-row overdue') == 1 and "Overdue" in html
    assert "Later today" in html and "Nobody was available" in html


def test_claim_then_done_with_notes(make_app, client, queued, rep, admin):
    auth = Auth(client)
    auth.login(rep.email)
    assert auth.post(f"/callbacks/{queued.id}/claim").status_code == 303
    db.session.refresh(queued)
    assert queued.status == "claimed" and queued.claimed_by_id == rep.id

    other = make_app().test_client()
    Auth(other).login(admin.email)
    Auth(other).post(f"/callbacks/{queued.id}/claim")
    db.session.refresh(queued)
    assert queued.claimed_by_id == rep.id  # first claim wins

    assert auth.post(f"/callbacks/{queued.id}/notes", {"notes": "Voicemail, try at 3"}).status_code == 303
    response = auth.post(f"/callbacks/{queued.id}/done", {"notes": "Reached her, demo booked"})
    assert response.status_code == 303
    db.session.refresh(queued)
    assert queued.status == "done" and queued.notes == "Reached her, demo booked"
    completed = db.session.scalar(sa.select(Event).where(Event.type == "callback.completed"))
    assert completed.data["callback"]["notes"] == "Reached her, demo booked"
    assert completed.data["callback"]["claimedBy"] == str(rep.id)
    page = client.get(f"/callbacks/{queued.id}").get_data(as_text=True)
    assert "Done" in page and "Reached her, demo booked" in page
    assert "Lena Lead" not in client.get("/callbacks").get_data(as_text=True)
    assert "Lena Lead" in client.get("/callbacks?status=done").get_data(as_text=True)


def test_too_long_notes_re_render_with_the_message(client, queued, rep):
    auth = Auth(client)
    auth.login(rep.email)
    response = auth.post(f"/callbacks/{queued.id}/notes", {"notes": "x" * 5001})
    assert response.status_code == 422 and "Keep the notes under 5000 characters." in response.get_data(
        as_text=True)


def test_another_organizations_callback_is_a_404(client, queued, other_admin):
    auth = Auth(client)
    auth.login(other_admin.email)
    assert client.get(f"/callbacks/{queued.id}").status_code == 404
    assert auth.post(f"/callbacks/{queued.id}/claim").status_code == 404
    assert "Lena Lead" not in client.get("/callbacks").get_data(as_text=True)


def test_slack_and_discord_describe_the_new_events(client, site, size, queued, rep):
    flow_for(site).disqualified_action = "leave_details"
    db.session.commit()
    qualify(client, site, {size: "1-10"}, fingerprint="fp-other")
    requested = db.session.scalar(sa.select(Event).where(Event.type == "callback.requested"))
    message = messages.for_event(requested)
    assert message.title == "Callback requested by Lena Lead <lena@example.org>"
    assert ("Call back", "later today") in message.fields
    assert message.link[1].endswith(f"/callbacks/{queued.id}")
    disqualified = db.session.scalar(sa.select(Event).where(Event.type == "contact.disqualified"))
    assert messages.for_event(disqualified).title.startswith("Disqualified lead: Lena Lead")
    assert {"callback.requested", "callback.completed", "contact.disqualified"} <= set(messages.NOTIFIED)


def test_the_api_and_its_openapi_know_the_new_event_types(client, api_key):
    spec = client.get("/api/openapi.json").get_json()
    assert {"callback.requested", "callback.completed", "contact.disqualified"} <= set(
        spec["components"]["schemas"]["EventType"]["enum"])
    response = client.get("/webhooks/events", query_string={"eventType": "callback.requested"},
                          headers=bearer(api_key[1]))
    assert response.status_code == 200
