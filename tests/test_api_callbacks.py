"""/api/v1/callbacks: list with filters, cursor and updated_since, get, and work them (claim, notes,
done) through the same transitions and events as the dashboard; tenancy, scopes, idempotency."""

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.api.auth import create_key
from app.extensions import db
from app.models import Callback, Event
from app.models.base import utcnow
from tests.api_support import Api
from tests.calls_support import make_site
from tests.conftest import bearer

pytestmark = pytest.mark.loopback_hooks


def add_callback(org_id, name, status="open", site=None, created_at=None, **values) -> Callback:
    created_at = created_at or utcnow()
    callback = Callback(organization_id=org_id, site_id=site.id if site else None, reason="missed",
                        name=name, email=f"{name.lower()}@example.org", preferred_window="today",
                        status=status, created_at=created_at, due_at=created_at + timedelta(hours=8),
                        answers=[], attributes={"plan": "pro"}, **values)
    db.session.add(callback)
    db.session.commit()
    return callback


def events_of(type_):
    return db.session.scalars(sa.select(Event).where(Event.type == type_).order_by(Event.created_at)).all()


def test_list_filters_pages_and_get(api, theirs, admin, rep):
    org = admin.organization_id
    shop = make_site(org, "shop.example.com")
    now = utcnow()
    old = add_callback(org, "Olga", created_at=now - timedelta(days=2))
    mine = add_callback(org, "Mira", status="claimed", site=shop, claimed_by_id=rep.id,
                        created_at=now - timedelta(hours=1))
    done = add_callback(org, "Dora", status="done", completed_at=now, created_at=now - timedelta(minutes=5))

    listed = api.call("GET", "/api/v1/callbacks").get_json()
    assert [c["name"] for c in listed["data"]] == ["Dora", "Mira", "Olga"]  # newest request first
    assert listed["has_more"] is False and listed["next_cursor"] is None
    first = api.call("GET", "/api/v1/callbacks?limit=2").get_json()
    second = api.call("GET", f"/api/v1/callbacks?limit=2&cursor={first['next_cursor']}").get_json()
    assert [c["id"] for c in first["data"] + second["data"]] == [str(done.id), str(mine.id), str(old.id)]

    def names(query):
        return [c["name"] for c in api.call("GET", "/api/v1/callbacks?" + query).get_json()["data"]]

    assert names("status=open") == ["Olga"]
    assert names(f"site_id={shop.id}") == ["Mira"]
    assert names(f"claimed_by={rep.id}") == ["Mira"]
    assert api.call("GET", "/api/v1/callbacks?status=lost").status_code == 400
    assert api.call("GET", "/api/v1/callbacks?site_id=nope").status_code == 400

    one = api.call("GET", f"/api/v1/callbacks/{old.id}").get_json()
    assert one["email"] == "olga@example.org" and one["attributes"] == {"plan": "pro"}
    assert one["overdue"] is True and one["status"] == "open"  # due 8 h after a request 2 days old
    assert api.call("GET", f"/api/v1/callbacks/{mine.id}").get_json()["overdue"] is False
    assert one["status"] == "open" and one["claimedBy"] is None
    assert api.call("GET", f"/api/v1/callbacks/{old.id}x").status_code == 404
    assert theirs.call("GET", f"/api/v1/callbacks/{old.id}").status_code == 404
    assert theirs.call("PATCH", f"/api/v1/callbacks/{old.id}", {"notes": "x"}).status_code == 404
    assert theirs.call("GET", "/api/v1/callbacks").get_json()["data"] == []


def test_a_personal_token_claims_notes_and_completes_as_its_user(client, admin, rep):
    org = admin.organization_id
    callback = add_callback(org, "Lena")
    _, raw = create_key(org, "rex", ["callbacks:read", "callbacks:write"], user_id=rep.id)
    api = Api(client, raw)

    claimed = api.call("PATCH", f"/api/v1/callbacks/{callback.id}", {"status": "claimed"}).get_json()
    assert claimed["status"] == "claimed" and claimed["claimedBy"] == str(rep.id) and claimed["claimedAt"]
    again = api.call("PATCH", f"/api/v1/callbacks/{callback.id}", {"status": "claimed"})
    assert again.status_code == 200  # claiming your own claim again changes nothing
    noted = api.call("PATCH", f"/api/v1/callbacks/{callback.id}", {"notes": "  Voicemail, try at 3 "})
    assert noted.get_json()["notes"] == "Voicemail, try at 3"
    done = api.call("PATCH", f"/api/v1/callbacks/{callback.id}", {"status": "done", "notes": "Demo booked"})
    assert done.get_json()["status"] == "done" and done.get_json()["completedAt"]
    assert done.get_json()["notes"] == "Demo booked"

    [claimed_event] = events_of("callback.claimed")
    assert claimed_event.data["callback"]["claimedBy"] == str(rep.id)
    [updated_event] = events_of("callback.updated")
    assert updated_event.data["callback"]["notes"] == "Voicemail, try at 3"
    [completed] = events_of("callback.completed")
    assert completed.data["callback"]["notes"] == "Demo booked"

    refused = api.call("PATCH", f"/api/v1/callbacks/{callback.id}", {"status": "done"})
    assert refused.status_code == 409 and "already done" in refused.get_json()["error"]["message"]
    other = api.call("PATCH", f"/api/v1/callbacks/{callback.id}",
                     {"status": "claimed", "claimedBy": str(admin.id)})
    assert other.status_code == 400 and "its own user" in other.get_json()["error"]["message"]


def test_an_org_key_names_the_claimer_and_first_claim_wins(api, admin, rep):
    callback = add_callback(admin.organization_id, "Lena")
    path = f"/api/v1/callbacks/{callback.id}"

    nobody = api.call("PATCH", path, {"status": "claimed"})
    assert nobody.status_code == 400 and "claimedBy" in nobody.get_json()["error"]["message"]
    stranger = api.call("PATCH", path, {"status": "claimed", "claimedBy": str(uuid.uuid4())})
    assert stranger.status_code == 400
    assert api.call("PATCH", path, {"status": "claimed", "claimedBy": str(rep.id)}).status_code == 200
    taken = api.call("PATCH", path, {"status": "claimed", "claimedBy": str(admin.id)})
    assert taken.status_code == 409 and "another teammate" in taken.get_json()["error"]["message"]
    db.session.refresh(callback)
    assert callback.claimed_by_id == rep.id

    unclaimed = add_callback(admin.organization_id, "Otto")
    done = api.call("PATCH", f"/api/v1/callbacks/{unclaimed.id}", {"status": "done"}).get_json()
    assert done["status"] == "done" and done["claimedBy"] is None  # an org key is nobody

    for bad in ({}, {"status": "open"}, {"status": "gone"}, {"notes": 5}, {"notes": "x" * 5001},
                {"colour": "red"}):
        assert api.call("PATCH", path, bad).status_code == 400, bad


def test_updated_since_sees_claims_and_notes(api, admin, rep):
    first = add_callback(admin.organization_id, "Anna")
    second = add_callback(admin.organization_id, "Bert")
    since = (max(first.updated_at, second.updated_at) + timedelta(microseconds=1)).isoformat()
    unchanged = api.call("GET", "/api/v1/callbacks", query_string={"updated_since": since})
    assert unchanged.get_json()["data"] == []

    api.call("PATCH", f"/api/v1/callbacks/{second.id}", {"notes": "Called, no answer"})
    api.call("PATCH", f"/api/v1/callbacks/{first.id}", {"status": "claimed", "claimedBy": str(rep.id)})

    changed = api.call("GET", "/api/v1/callbacks", query_string={"updated_since": since}).get_json()["data"]
    assert [c["name"] for c in changed] == ["Bert", "Anna"]  # oldest change first


def test_scopes_and_idempotency(client, api, admin, rep):
    callback = add_callback(admin.organization_id, "Lena")
    _, read_only = create_key(admin.organization_id, "ro", ["callbacks:read"])
    denied = client.patch(f"/api/v1/callbacks/{callback.id}", json={"notes": "x"}, headers=bearer(read_only))
    assert denied.status_code == 403 and "callbacks:write" in denied.get_json()["error"]["message"]
    _, calls_only = create_key(admin.organization_id, "calls", ["calls:read"])
    denied = client.get("/api/v1/callbacks", headers=bearer(calls_only))
    assert denied.status_code == 403 and "callbacks:read" in denied.get_json()["error"]["message"]

    key = {"Idempotency-Key": "claim-lena-1"}
    body = {"status": "claimed", "claimedBy": str(rep.id)}
    first = api.call("PATCH", f"/api/v1/callbacks/{callback.id}", body, headers=key)
    replay = api.call("PATCH", f"/api/v1/callbacks/{callback.id}", body, headers=key)
    assert first.status_code == replay.status_code == 200 and first.get_json() == replay.get_json()
    assert len(events_of("callback.claimed")) == 1
    changed = api.call("PATCH", f"/api/v1/callbacks/{callback.id}", {"status": "done"}, headers=key)
    assert changed.status_code == 422
