"""The events registry is the one list of types: everything emitted is in it, everything in it is emitted.

`EMITTERS` makes every registered type happen through the code that emits it in the product; a type
registered without an emitter here fails `test_every_registered_type_is_emitted`. Each emitted
event's `data` must match the schema the registry declares for its type.
"""

import ast
import pathlib
import uuid

import pytest
import sqlalchemy as sa
from jsonschema import Draft202012Validator

from app.events import event_type, event_types, record_event, registered, zapier_triggers
from app.extensions import db
from app.models import Event, Recording
from tests.calls_support import go_online, make_site, qualification_token
from tests.conftest import make_member, run_jobs

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def app(hooks_app):
    hooks_app.config["AVAILABILITY_EVENT_DEBOUNCE_SECONDS"] = 0
    return hooks_app


def _calls(admin, rep):
    from app.calls import service

    site = make_site(admin.organization_id, "registry.example.com")
    go_online(rep)

    def request(fingerprint, name):
        return service.request_call(
            site,
            fingerprint=fingerprint,
            media_type="video",
            qualification={"answers": [], "token": qualification_token(site)},
            contact={"name": name, "email": f"{fingerprint}@example.org"},
        )

    first = request("fp-a", "Ann")  # call.requested, contact.created
    service.accept(first.id, rep)  # call.accepted
    service.end(first.id, "rep_hung_up")  # call.ended
    service.cancel(request("fp-b", "Bob").id)  # call.canceled
    service.miss(request("fp-c", "Cy").id)  # call.missed
    request("fp-a", "Ann Again")  # contact.updated (a new name)
    _routed(admin, rep, request)
    return site, first


def _routed(admin, rep, request):
    from app.calls import service
    from app.routing import teams

    team = teams.save_team(admin.organization_id, None, name="Enterprise", strategy="ring_all",
                           overflow_seconds=10, overflow_team_id="everyone", member_ids=[rep.id])
    teams.add_routing_rule(admin.organization_id, [], team)  # always
    db.session.commit()
    routed = request("fp-r", "Rae")  # call.routed
    service.overflow(routed.id)  # call.overflowed
    service.cancel(routed.id)


def _leads(admin, rep):
    from types import SimpleNamespace

    from app.callbacks import service as callbacks

    site = make_site(admin.organization_id, "leads.example.com")
    details = callbacks.Details(contact={"name": "Lea", "email": "lea@example.org"}, window="asap")
    callback = callbacks.request_callback(site, fingerprint="fp-lea", details=details, qualification=None,
                                          call=None, attributes={}, page_url=None, location=None)
    callbacks.claim(callback, rep)  # callback.claimed
    callbacks.save_notes(callback, "Voicemail")  # callback.updated
    callbacks.complete(callback, rep, "Called back")
    turned_away = SimpleNamespace(contact={"email": "no@example.org"}, answers=[])
    callbacks.record_disqualified(site, turned_away, "fp-no", None)
    db.session.commit()


def _recording(admin, call):
    from app.recordings.events import record_recording_ready, record_transcript_ready

    recording = Recording(
        organization_id=admin.organization_id,
        call_id=call.id,
        policy="notice",
        status="ready",
        transcript_status="ready",
        transcript={"language": "en", "text": "hello", "segments": []},
    )
    db.session.add(recording)
    db.session.flush()
    record_recording_ready(recording)
    record_transcript_ready(recording)
    db.session.commit()


def test_every_registered_type_is_emitted(app, admin, receiver):
    from app.availability import announce
    from app.availability.service import set_available
    from app.contacts.service import create, erase
    from app.integrations import store
    from app.models import Contact
    from app.realtime import presence
    from app.sites.service import delete_site, record
    from app.team.service import accept_invite, create_invite, remove_member
    from app.webhooks import service as webhooks

    rep = make_member(admin.organization_id, "rita@acme.example.com", "rep", "Rita Rep")
    site, call = _calls(admin, rep)
    _recording(admin, call)

    endpoint, _ = webhooks.create_endpoint(admin.organization_id, receiver.url + "/hook")
    webhooks.send_test(endpoint)  # webhook.test
    webhooks.disable(endpoint, "Disabled in a test.")  # webhook.disabled

    record(site, "site.updated", ["badgeLabel"])  # site.updated (the settings page's call)
    db.session.commit()
    delete_site(site)  # site.created above, site.deleted

    invite, _ = create_invite(admin, "newbie@acme.example.com", "rep")
    joined = accept_invite(invite, "Newbie", "correct-horse-battery")  # teammate.joined
    remove_member(admin, joined)  # teammate.removed

    erase(db.session.get(Contact, call.contact_id))  # contact.deleted
    create(admin.organization_id, {"name": "Dee", "email": "dee@example.org"})

    rep2 = make_member(admin.organization_id, "ray@acme.example.com", "rep", "Ray Rep")
    presence.touch(rep2.id, rep2.organization_id, "socket-1")
    set_available(rep2, True)  # owes a check (debounce 0 here)
    run_jobs(app)
    announce.check(rep2.id)  # rep.availability_changed

    _leads(admin, rep)                                             # callback.*, contact.disqualified

    store.save(admin.organization_id, "lead_push", {"url": "https://crm.example.com"}, None)
    store.remove(store.integration_of(admin.organization_id, "lead_push"))  # integration.*

    emitted = db.session.scalars(sa.select(Event).where(Event.organization_id == admin.organization_id)).all()
    assert {e.type for e in emitted} == set(event_types())
    for event in emitted:
        errors = list(Draft202012Validator(event_type(event.type).schema).iter_errors(event.data))
        assert not errors, (event.type, [e.message for e in errors])


def test_every_emitted_type_is_registered():
    """Every literal type passed to an emitter in app/ is in the registry (record_event refuses others)."""
    emitted = set()
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):  # record_event(org, "x.y", …), _record(call, "x.y"), record(…)
                emitted.update(
                    a.value
                    for a in node.args
                    if isinstance(a, ast.Constant) and isinstance(a.value, str) and _looks_like_type(a.value)
                )
    unknown = {t for t in emitted if t not in event_types()} - NOT_EVENT_TYPES
    assert not unknown, f"types used in app/ but not registered: {sorted(unknown)}"


# dotted strings in app/ that look like event types but are something else (".id": SQL columns)
NOT_EVENT_TYPES = {"call.js", "flow.js", "widget.js", "embed.js"}


def _looks_like_type(value: str) -> bool:
    prefixes = ("call.", "contact.", "site.", "teammate.", "rep.", "integration.", "webhook.", "callback.")
    word = value.replace(".", "").replace("_", "")
    return (
        value.startswith(prefixes)
        and not value.endswith(".id")
        and word.isalpha()
        and value.count(".") == 1
        and value == value.lower()
    )


def test_record_event_refuses_an_unregistered_type(app, admin):
    with pytest.raises(ValueError, match="register it"):
        record_event(admin.organization_id, "call.exploded", {})


def test_consumers_read_the_registry(app, admin, client, auth):
    """The webhooks page's checkboxes, the API's enum and Zapier's triggers all come from it."""
    auth.login("ada@acme.example.com")
    page = client.get("/settings/integrations/webhooks").get_data(as_text=True)
    for e in registered():
        assert (f'value="{e.type}"' in page) == e.subscribable
    doc = client.get("/api/openapi.json").get_json()
    assert doc["components"]["schemas"]["EventType"]["enum"] == list(event_types())
    assert set(doc["webhooks"]) == set(event_types())
    assert {"call.ended", "call.recording_ready", "call.transcript_ready"} <= set(zapier_triggers().values())
    # the Zapier Platform app (static JavaScript) offers exactly the registry's Zapier triggers
    import re

    js = (ROOT / "integrations/zapier/triggers/index.js").read_text()
    offered = dict(re.findall(r"trigger\(\s*'(\w+)',\s*'([\w.]+)'", js))
    assert offered == zapier_triggers()


def test_unknown_event_type_in_polling_lists_the_registry(app, admin, api_key, client):
    from tests.conftest import bearer

    response = client.get("/webhooks/events?eventType=nope.nope", headers=bearer(api_key[1]))
    assert response.status_code == 400
    assert all(t in response.get_json()["error"]["message"] for t in event_types())


def test_a_site_filter_sends_only_that_sites_events(app, admin, receiver):
    from app.webhooks import service as webhooks

    one = make_site(admin.organization_id, "one.example.com")
    two = make_site(admin.organization_id, "two.example.com")
    endpoint, _ = webhooks.create_endpoint(admin.organization_id, receiver.url + "/one")
    endpoint.sites = [str(one.id)]
    db.session.commit()
    for site in (one, two):
        record_event(
            admin.organization_id,
            "call.requested",
            {"call": {"id": str(uuid.uuid4()), "siteId": str(site.id)}},
        )
    record_event(admin.organization_id, "teammate.joined", {"teammate": {"id": str(uuid.uuid4())}})
    db.session.commit()
    run_jobs(app)
    got = receiver.wait_for("/one", 3)
    import json

    bodies = [json.loads(r.body) for r in got]
    # site one's events (its site.created, its call) and the event of no site; nothing of site two
    assert sorted(b["type"] for b in bodies) == ["call.requested", "site.created", "teammate.joined"]
    assert [b["data"]["site"]["id"] for b in bodies if b["type"] == "site.created"] == [str(one.id)]
    assert [b["data"]["call"]["siteId"] for b in bodies if b["type"] == "call.requested"] == [str(one.id)]
