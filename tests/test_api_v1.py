"""The REST API v1: every resource, tenancy (another org's ids are a 404), scopes (403 naming the
missing one), cursors, and each response checked against /api/openapi.json."""

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.api.auth import create_key
from app.extensions import db
from app.models import ApiKey, Call, Contact, Event, Recording, Site, User
from app.models.base import utcnow
from app.models.webhooks import API_SCOPES
from tests.api_support import Api
from tests.calls_support import make_site

pytestmark = pytest.mark.loopback_hooks


def add_call(org_id, site=None, contact=None, **values) -> Call:
    call = Call(
        organization_id=org_id,
        site_id=site.id if site else None,
        contact=contact,
        visitor_fingerprint=contact.fingerprint if contact else "fp",
        **values,
    )
    db.session.add(call)
    db.session.commit()
    return call


def add_contact(org_id, fingerprint="fp-1", **values) -> Contact:
    contact = Contact(organization_id=org_id, fingerprint=fingerprint, **values)
    db.session.add(contact)
    db.session.commit()
    return contact


def events_of(type_):
    return db.session.scalars(sa.select(Event).where(Event.type == type_).order_by(Event.created_at)).all()


# --- calls --------------------------------------------------------------------------------------


def test_calls_list_filters_get_and_tenancy(api, theirs, admin, rep):
    org = admin.organization_id
    one, two = make_site(org, "one.example.com"), make_site(org, "two.example.com")
    vera = add_contact(org, name="Vera", email="vera@example.org")
    now = utcnow()
    ended = add_call(
        org,
        one,
        vera,
        status="ended",
        media_type="video",
        accepted_by_id=rep.id,
        requested_at=now - timedelta(days=2),
    )
    missed = add_call(
        org, two, None, status="missed", media_type="audio", requested_at=now - timedelta(hours=1)
    )

    def ids(query):
        response = api.call("GET", "/api/v1/calls" + query)
        assert response.status_code == 200, response.get_json()
        return [c["id"] for c in response.get_json()["data"]]

    assert ids("") == [str(missed.id), str(ended.id)]  # newest first
    assert ids("?status=ended") == [str(ended.id)]
    assert ids(f"?site_id={two.id}") == [str(missed.id)]
    assert ids(f"?rep_id={rep.id}") == [str(ended.id)]
    assert ids("?media_type=audio") == [str(missed.id)]
    since = (now - timedelta(days=1)).isoformat()
    assert ids(f"?created_after={since.replace('+00:00', 'Z')}") == [str(missed.id)]
    assert ids(f"?created_before={since.replace('+00:00', 'Z')}") == [str(ended.id)]
    body = api.call("GET", f"/api/v1/calls/{ended.id}").get_json()
    assert body["contact"]["email"] == "vera@example.org" and body["acceptedBy"] == str(rep.id)
    for bad in (
        "?status=lost",
        "?site_id=nope",
        "?created_after=yesterday",
        "?limit=0",
        "?limit=101",
        "?cursor=garbage",
        "?created_after=2024-01-01T00:00:00",
    ):
        response = api.call("GET", "/api/v1/calls" + bad)
        assert response.status_code == 400, bad
    assert theirs.call("GET", "/api/v1/calls").get_json()["data"] == []
    assert theirs.call("GET", f"/api/v1/calls/{ended.id}").status_code == 404
    assert api.call("GET", "/api/v1/calls/not-an-id").status_code == 404


def test_call_transcript_and_fresh_recording_urls(api, theirs, admin, client):
    org = admin.organization_id
    call = add_call(org, status="ended")
    assert api.call("GET", f"/api/v1/calls/{call.id}/recording").status_code == 404
    recording = Recording(
        organization_id=org,
        call_id=call.id,
        policy="notice",
        status="ready",
        audio_key=f"{org}/x/audio.webm",
        transcript_status="ready",
        transcript={"language": "en", "text": "hello there", "segments": []},
    )
    db.session.add(recording)
    db.session.commit()
    transcript = api.call("GET", f"/api/v1/calls/{call.id}/transcript").get_json()
    assert transcript == {
        "callId": str(call.id),
        "status": "ready",
        "transcript": {"language": "en", "text": "hello there", "segments": []},
    }
    first = api.call("GET", f"/api/v1/calls/{call.id}/recording").get_json()
    assert first["available"] is True and first["audioUrl"].startswith("http://converc.test/")
    assert first["expiresInSeconds"] == 86400 and first["videoUrl"] is None
    assert theirs.call("GET", f"/api/v1/calls/{call.id}/recording").status_code == 404
    assert theirs.call("GET", f"/api/v1/calls/{call.id}/transcript").status_code == 404


def test_cursor_pages_are_stable_and_complete(api, admin):
    org = admin.organization_id
    moment = utcnow()
    # many calls share one requested_at: the id breaks the tie, so no call is on two pages
    calls = [
        Call(organization_id=org, visitor_fingerprint="fp", requested_at=moment - timedelta(seconds=i % 7))
        for i in range(60)
    ]
    db.session.add_all(calls)
    db.session.commit()
    seen, cursor, pages = [], None, 0
    while True:
        body = api.call("GET", "/api/v1/calls?limit=25" + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen += [c["id"] for c in body["data"]]
        pages += 1
        if not body["has_more"]:
            assert body["next_cursor"] is None
            break
        cursor = body["next_cursor"]
    assert pages == 3 and len(seen) == 60 and set(seen) == {str(c.id) for c in calls}
    stamps = [(c["requestedAt"]) for c in api.call("GET", "/api/v1/calls?limit=100").get_json()["data"]]
    assert stamps == sorted(stamps, reverse=True)


# --- contacts -----------------------------------------------------------------------------------


def test_contacts_create_search_update_with_events(api, theirs, admin):
    created = api.call(
        "POST",
        "/api/v1/contacts",
        {"name": "Vera", "email": "Vera@Example.org", "phone": "+1 (512) 555-0100"},
    )
    assert created.status_code == 201
    contact = created.get_json()
    assert contact["email"] == "Vera@Example.org" and contact["location"] is None
    add_contact(
        admin.organization_id, "fp-other", name="Other", email="other@example.org", phone="+44 20 1234"
    )
    found = api.call("GET", "/api/v1/contacts?email=vera@example.org").get_json()["data"]
    assert [c["id"] for c in found] == [contact["id"]]
    assert [c["id"] for c in api.call("GET", "/api/v1/contacts?phone=15125550100").get_json()["data"]] == [
        contact["id"]
    ]
    assert api.call("GET", "/api/v1/contacts?phone=999").get_json()["data"] == []
    updated = api.call("PATCH", f"/api/v1/contacts/{contact['id']}", {"phone": "+1 512 555 0199"}).get_json()
    assert updated["phone"] == "+1 512 555 0199" and updated["name"] == "Vera"
    assert api.call("GET", f"/api/v1/contacts/{contact['id']}").get_json()["phone"] == "+1 512 555 0199"
    [made] = events_of("contact.created")[-1:]
    assert made.data["contact"]["id"] == contact["id"]
    [changed] = events_of("contact.updated")
    assert changed.data["changes"] == ["phone"]
    for bad in ({"nickname": "V"}, {"email": "not-an-email"}, {"name": 42}, {}, {"name": "x" * 121}):
        assert api.call("POST", "/api/v1/contacts", bad).status_code == 400, bad
    assert (
        api.call(
            "POST", "/api/v1/contacts", raw="[1]", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert theirs.call("GET", f"/api/v1/contacts/{contact['id']}").status_code == 404
    assert theirs.call("PATCH", f"/api/v1/contacts/{contact['id']}", {"name": "X"}).status_code == 404
    assert theirs.call("DELETE", f"/api/v1/contacts/{contact['id']}").status_code == 404
    assert theirs.call("GET", "/api/v1/contacts?email=vera@example.org").get_json()["data"] == []


def test_free_text_contact_search_matches_every_word_in_name_email_or_phone(api, theirs, admin, client, auth):
    org = admin.organization_id
    vera = add_contact(org, "fp-v", name="Vera Visitor", email="vera@shop.example", phone="+1 (512) 555-0100")
    add_contact(org, "fp-w", name="Walter Vera", email="walter@other.example", phone="+44 20 7946 0958")
    add_contact(org, "fp-p", name="100% Pete", email="pete@example.org")
    add_contact(other_org_id(theirs), "fp-t", name="Vera Theirs", email="vera@globex.example")

    def found(q, via=api):
        return sorted(c["name"] for c in via.call("GET", "/api/v1/contacts", query_string={"q": q})
                      .get_json()["data"])

    assert found("vera") == ["Vera Visitor", "Walter Vera"]
    assert found("VERA shop") == ["Vera Visitor"]  # every word must match
    assert found("512 555-0100") == ["Vera Visitor"]  # phone punctuation ignored
    assert found("5125550100") == ["Vera Visitor"]
    assert found("100%") == ["100% Pete"]  # % and _ are text, not patterns
    assert found("v_ra") == []
    assert found("   ") == ["100% Pete", "Vera Visitor", "Walter Vera"]
    assert found("vera", theirs) == ["Vera Theirs"]
    assert api.call("GET", "/api/v1/contacts", query_string={"q": "x" * 101}).status_code == 400

    auth.login(admin.email)  # the Contacts page searches the same way
    html = client.get("/contacts", query_string={"q": "512 555-0100"}).get_data(as_text=True)
    assert "Vera Visitor" in html and "Walter Vera" not in html and "Vera Theirs" not in html
    assert str(vera.id) in html


def other_org_id(theirs_api):
    key = theirs_api.headers["Authorization"].split()[1]
    from app.api.auth import authenticate

    return authenticate(f"Bearer {key}").organization_id


def test_deleting_a_contact_erases_its_calls_recordings_and_transcripts(app, api, admin, tmp_path):
    from app.calls.payload import event_data
    from app.events import record_event
    from app.models import CallEvent

    app.config["RECORDINGS_DIR"] = str(tmp_path)
    org = admin.organization_id
    vera = add_contact(org, "fp-vera", name="Vera", email="vera@example.org", phone="+1 512 555 0100")
    call = add_call(
        org,
        contact=vera,
        status="ended",
        visitor_ip="203.0.113.9",
        page_url="https://x.example.com/",
        answers=[{"question": {"label": "Size"}, "answer": {"value": "10"}}],
        attributes={"plan": "pro"},
    )
    recording = Recording(
        organization_id=org,
        call_id=call.id,
        policy="notice",
        status="ready",
        transcript_status="ready",
        transcript={"text": "my email is vera@example.org"},
    )
    db.session.add(recording)
    db.session.flush()
    folder = tmp_path / str(org) / str(recording.id)
    folder.mkdir(parents=True)
    (folder / "audio.webm").write_bytes(b"voice")
    event = record_event(org, "call.ended", event_data(call))
    db.session.flush()
    db.session.add(CallEvent(call_id=call.id, event_id=event.id))
    db.session.commit()
    event_id, call_id, recording_id, vera_id = event.id, call.id, recording.id, vera.id

    response = api.call("DELETE", f"/api/v1/contacts/{vera_id}")
    assert response.get_json() == {
        "id": str(vera_id),
        "deleted": True,
        "erased": {"calls": 1, "recordings": 1},
    }
    db.session.expire_all()
    assert db.session.get(Contact, vera_id) is None and db.session.get(Recording, recording_id) is None
    kept = db.session.get(Call, call_id)  # the call stays (the team's history), without the person
    assert (kept.contact_id, kept.visitor_ip, kept.answers, kept.attributes, kept.page_url) == (
        None,
        None,
        [],
        {},
        None,
    )
    assert kept.visitor_fingerprint == "erased"
    assert not folder.exists()
    old = db.session.get(Event, event_id).data
    assert old["contact"] is None and old["qualificationAnswers"] == [] and "vera" not in str(old).lower()
    [deleted] = events_of("contact.deleted")
    assert deleted.data == {
        "contact": {"id": str(vera_id), "identityId": str(vera_id)},
        "erased": {"calls": 1, "recordings": 1},
    }
    assert api.call("GET", f"/api/v1/contacts/{vera_id}").status_code == 404


# --- sites --------------------------------------------------------------------------------------


def test_sites_create_read_update_settings(api, theirs, admin):
    created = api.call("POST", "/api/v1/sites", {"domain": "https://WWW.Shop.example.com/pricing"})
    assert created.status_code == 201
    site = created.get_json()
    assert site["domain"] == "www.shop.example.com" and site["publicKey"].startswith("pk_")
    assert site["settings"]["badgeLabel"] == "Talk to us live"
    assert api.call("POST", "/api/v1/sites", {"domain": "www.shop.example.com"}).status_code == 409
    assert api.call("POST", "/api/v1/sites", {"domain": "not a domain"}).status_code == 400
    changed = api.call(
        "PATCH",
        f"/api/v1/sites/{site['id']}",
        {
            "settings": {
                "paused": True,
                "ringTimeoutSeconds": 30,
                "countries": ["us", "de"],
                "badgeLabel": "Talk now",
            }
        },
    )
    assert changed.status_code == 200, changed.get_json()
    settings = changed.get_json()["settings"]
    assert (settings["paused"], settings["ringTimeoutSeconds"], settings["countries"]) == (
        True,
        30,
        ["US", "DE"],
    )
    [updated] = events_of("site.updated")
    assert sorted(updated.data["changes"]) == ["badgeLabel", "countries", "paused", "ringTimeoutSeconds"]
    assert [e.data["site"]["id"] for e in events_of("site.created")] == [site["id"]]
    for bad in (
        {"settings": {"paused": "yes"}},
        {"settings": {"ringTimeoutSeconds": 5}},
        {"settings": {"callType": "telepathy"}},
        {"settings": {"color": "red"}},
        {"settings": {"countries": ["XX"]}},
        {"settings": {"calendarUrl": "javascript:alert(1)"}},
        {"settings": {"collectEmail": "off", "collectPhone": "off"}},
        {},
    ):
        response = api.call("PATCH", f"/api/v1/sites/{site['id']}", bad)
        assert response.status_code == 400, bad
    assert [s["id"] for s in api.call("GET", "/api/v1/sites").get_json()["data"]] == [site["id"]]
    assert api.call("GET", f"/api/v1/sites/{site['id']}").get_json()["settings"]["badgeLabel"] == "Talk now"
    assert theirs.call("GET", f"/api/v1/sites/{site['id']}").status_code == 404
    assert (
        theirs.call("PATCH", f"/api/v1/sites/{site['id']}", {"settings": {"paused": False}}).status_code
        == 404
    )
    assert theirs.call("GET", "/api/v1/sites").get_json()["data"] == []


# --- teammates and personal tokens -------------------------------------------------------------


def test_teammates_invite_change_role_remove(api, theirs, admin, rep):
    rep_id = rep.id
    listed = api.call("GET", "/api/v1/teammates").get_json()["data"]
    assert [t["email"] for t in listed] == [admin.email, rep.email]
    invite = api.call(
        "POST", "/api/v1/teammates/invitations", {"email": "new@acme.example.com", "role": "rep"}
    )
    assert invite.status_code == 201 and "/invite/" in invite.get_json()["inviteUrl"]
    assert api.call("POST", "/api/v1/teammates/invitations", {"email": admin.email}).status_code == 409
    assert (
        api.call("POST", "/api/v1/teammates/invitations", {"email": "x@y.z", "role": "owner"}).status_code
        == 400
    )
    promoted = api.call("PATCH", f"/api/v1/teammates/{rep_id}", {"role": "admin"}).get_json()
    assert promoted["role"] == "admin"
    assert api.call("PATCH", f"/api/v1/teammates/{rep_id}", {"role": "boss"}).status_code == 400
    assert theirs.call("PATCH", f"/api/v1/teammates/{rep_id}", {"role": "rep"}).status_code == 404
    assert theirs.call("DELETE", f"/api/v1/teammates/{rep_id}").status_code == 404
    assert api.call("DELETE", f"/api/v1/teammates/{rep_id}").get_json() == {
        "id": str(rep_id),
        "deleted": True,
    }
    assert db.session.get(User, rep_id) is None
    [removed] = events_of("teammate.removed")
    assert removed.data["teammate"]["email"] == "rex@acme.example.com"
    # the organization's last admin stays one
    assert api.call("PATCH", f"/api/v1/teammates/{admin.id}", {"role": "rep"}).status_code == 409
    assert api.call("DELETE", f"/api/v1/teammates/{admin.id}").status_code == 409


def test_personal_tokens_act_with_the_users_role_and_die_with_the_user(client, admin, rep):
    rep_id = rep.id
    _, rep_raw = create_key(admin.organization_id, "mine", list(API_SCOPES), user_id=rep_id)
    mine = Api(client, rep_raw)
    assert mine.call("GET", "/api/v1/calls").status_code == 200
    refused = mine.call("POST", "/api/v1/teammates/invitations", {"email": "x@acme.example.com"})
    assert refused.status_code == 403
    assert (
        "rep" in refused.get_json()["error"]["message"]
        and "teammates:write" in refused.get_json()["error"]["message"]
    )
    # a rep reads and writes their own schedule, not a teammate's
    assert mine.call("GET", f"/api/v1/teammates/{rep_id}/schedule").status_code == 200
    assert mine.call("GET", f"/api/v1/teammates/{admin.id}/schedule").status_code == 404
    from app.team.service import remove_member

    remove_member(admin, db.session.get(User, rep_id))
    assert client.get("/api/v1/calls", headers=mine.headers).status_code == 401
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(ApiKey).where(ApiKey.user_id == rep_id)) == 0
    )


@pytest.mark.parametrize(
    ("scopes", "method", "path", "missing"),
    [
        (["calls:read"], "GET", "/api/v1/contacts", "contacts:read"),
        (["contacts:read"], "POST", "/api/v1/contacts", "contacts:write"),
        (["contacts:read"], "GET", "/api/v1/calls", "calls:read"),
        (["calls:read"], "GET", "/api/v1/calls/{call}/recording", "recordings:read"),
        (["calls:read"], "GET", "/api/v1/calls/{call}/transcript", "recordings:read"),
        (["sites:read"], "POST", "/api/v1/sites", "sites:write"),
        (["sites:write"], "GET", "/api/v1/sites", "sites:read"),
        (["teammates:read"], "DELETE", "/api/v1/teammates/{rep}", "teammates:write"),
        (["teammates:write"], "GET", "/api/v1/teammates", "teammates:read"),
        (["availability:read"], "PUT", "/api/v1/teammates/{rep}/schedule", "availability:write"),
        (["calls:read"], "GET", "/api/v1/availability", "availability:read"),
        (["webhooks:read"], "PATCH", "/integrations/webhooks/{hook}", "webhooks:write"),
    ],
)
def test_a_key_without_the_scope_is_a_403_naming_it(client, admin, rep, scopes, method, path, missing):
    call = add_call(admin.organization_id)
    path = path.format(call=call.id, rep=rep.id, hook=uuid.uuid4())
    _, raw = create_key(admin.organization_id, "narrow", scopes)
    response = Api(client, raw).call(method, path, {"domain": "x.example.com", "email": "a@b.c"})
    assert response.status_code == 403
    assert missing in response.get_json()["error"]["message"]


# --- availability ---------------------------------------------------------------------------------


def test_who_can_take_a_call_now_and_schedules(api, theirs, admin, rep):
    from tests.calls_support import go_online

    go_online(rep)
    body = api.call("GET", "/api/v1/availability").get_json()
    by_id = {r["id"]: r for r in body["reps"]}
    assert by_id[str(admin.id)]["reason"] == "toggled_off" and by_id[str(admin.id)]["available"] is False
    assert by_id[str(rep.id)]["reason"] in ("available", "outside_hours")
    week = {"monday": [["00:00", "00:00"]], "tuesday": [["22:00", "02:00"]], "sunday": [["09:00", "12:30"]]}
    saved = api.call(
        "PUT",
        f"/api/v1/teammates/{rep.id}/schedule",
        {"timezone": "Europe/Berlin", "followsDefault": False, "weekly": week},
    ).get_json()
    assert saved["timezone"] == "Europe/Berlin" and saved["followsDefault"] is False
    assert saved["weekly"]["tuesday"] == [["22:00", "02:00"]] and saved["weekly"]["friday"] == []
    assert api.call("GET", f"/api/v1/teammates/{rep.id}/schedule").get_json() == saved
    for bad in (
        {"timezone": "Mars/Olympus"},
        {"timezone": "UTC", "weekly": {"funday": []}},
        {"timezone": "UTC", "weekly": {"monday": [["09:00", "17:00"], ["16:00", "18:00"]]}},
        {"timezone": "UTC", "weekly": {"monday": [["9am", "5pm"]]}},
        {"timezone": "UTC", "followsDefault": "no"},
    ):
        assert api.call("PUT", f"/api/v1/teammates/{rep.id}/schedule", bad).status_code == 400, bad
    assert theirs.call("GET", f"/api/v1/teammates/{rep.id}/schedule").status_code == 404
    assert theirs.call("PUT", f"/api/v1/teammates/{rep.id}/schedule", {"timezone": "UTC"}).status_code == 404
    assert str(rep.id) not in str(theirs.call("GET", "/api/v1/availability").get_json())


# --- conventions ----------------------------------------------------------------------------------


def test_405_answers_carry_allow(api, client, auth):
    response = client.put("/api/v1/contacts", headers=api.headers)
    assert response.status_code == 405 and response.get_json()["error"]["code"] == "method_not_allowed"
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    response = client.delete("/integrations/webhooks", headers=api.headers)
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
    assert "Allow" in client.put("/login").headers  # the dashboard's 405s too


def test_every_path_of_the_api_is_in_the_openapi_document(app, client):
    doc = client.get("/api/openapi.json").get_json()
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops if m != "parameters"}
    import re

    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.rule != "/api/openapi.json":
            path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{" + _camel(m.group(1)) + "}", rule.rule)
            served |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served - documented == set()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method == "parameters":
                continue
            ok = next(v for k, v in op["responses"].items() if k.startswith("2"))
            if "content" in ok:
                assert "example" in ok["content"]["application/json"] or path.startswith(
                    ("/integrations", "/webhooks")
                ), (path, method)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest).replace("Id", "Id")


def test_api_keys_create_command_prints_a_working_key(app, runner, admin, client):
    result = runner.invoke(
        args=["api-keys", "create", "--org", "Acme", "--scopes", "calls:read,contacts:read"]
    )
    assert result.exit_code == 0, result.output
    raw = result.output.strip()
    assert raw.startswith("cvk_")
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.prefix == raw[:12]))
    assert key.scopes == ["calls:read", "contacts:read"] and raw not in str(key.key_hash)
    assert client.get("/api/v1/calls", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    assert client.get("/api/v1/sites", headers={"Authorization": f"Bearer {raw}"}).status_code == 403
    bad = runner.invoke(args=["api-keys", "create", "--org", "Nobody Inc", "--scopes", "all"])
    assert bad.exit_code != 0 and "organization" in bad.output
    bad = runner.invoke(
        args=["api-keys", "create", "--org", str(admin.organization_id), "--scopes", "god:mode"]
    )
    assert bad.exit_code != 0 and "scopes" in bad.output


def test_site_ids_of_sites_are_scoped(api, theirs, admin, other_admin):
    """A webhook's sites filter accepts only the organization's own sites."""
    mine = make_site(admin.organization_id, "mine.example.com")
    other = make_site(other_admin.organization_id, "other.example.com")
    hook = {"url": "http://127.0.0.1:9/hook", "sites": [str(other.id)]}
    assert api.call("POST", "/integrations/webhooks", hook).status_code == 400
    created = api.call("POST", "/integrations/webhooks", {**hook, "sites": [str(mine.id)]})
    assert created.status_code == 201 and created.get_json()["webhook"]["sites"] == [str(mine.id)]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Site)) == 2


def test_a_write_documents_its_own_conflict_and_the_idempotency_one(client):
    """Adding Idempotency-Key's 409 to every write must not erase the operation's own 409."""
    doc = client.get("/api/openapi.json").get_json()
    conflict = doc["paths"]["/api/v1/callbacks/{callbackId}"]["patch"]["responses"]["409"]
    assert "Claimed by another teammate" in conflict["description"]
    assert "Idempotency-Key is still running" in conflict["description"]
    examples = conflict["content"]["application/json"]["examples"].values()
    codes = {e["value"]["error"]["code"] for e in examples}
    assert codes == {"conflict", "idempotency_key_in_use"}
    reused = doc["paths"]["/api/v1/sites"]["post"]["responses"]["422"]["content"]["application/json"]
    assert reused["example"]["error"]["code"] == "idempotency_key_reused"
