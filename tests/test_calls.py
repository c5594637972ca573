"""The call lifecycle: requests, the ring, first-accept-wins, cancel, timeout, hang-up, events."""

import contextlib
import json
import threading
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.calls import service
from app.calls.payload import event_data
from app.calls.tokens import load_call_token
from app.events import iso
from app.extensions import db
from app.models import Call, CallEvent, Contact, Event
from app.realtime import presence
from app.redis_store import get_redis
from tests.calls_support import ANSWERS, CONTACT, call_body, go_online, make_site
from tests.conftest import make_member

# the envelope of the seed's "Events & Payload" (002_…), as published
SEED_EXAMPLE = {
    "id": "event-uuid", "type": "call.ended", "createdAt": "2024-01-02T00:00:00.000Z",
    "organizationId": "org-uuid",
    "data": {
        "call": {"id": "call-uuid", "status": "ended", "mediaType": "video",
                 "requestedAt": "2024-01-02T00:00:00.000Z", "acceptedAt": "2024-01-02T00:00:10.000Z",
                 "endedAt": "2024-01-02T00:00:35.000Z", "acceptedBy": "user-uuid",
                 "sessionId": "session-uuid",
                 "siteId": "site-uuid", "visitorFingerprint": "fp", "qualificationFlowId": None},
        "contact": {"identityId": "identity-uuid", "fingerprint": "fp", "email": "visitor@example.com",
                    "phone": "+1 512 555 0100", "name": "Visitor Name",
                    "lastSeenAt": "2024-01-02T00:00:00.000Z",
                    "location": {"city": "Austin", "region": "TX", "country": "United States",
                                 "countryCode": "US", "timezone": "America/Chicago", "latitude": 30.2672,
                                 "longitude": -97.7431}},
        "qualificationAnswers": ANSWERS,
        "transcript": None,
        "recording": {"available": False, "videoUrl": None, "audioUrl": None, "expiresInSeconds": None},
    },
}
ISO_Z = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"


@pytest.fixture
def site(admin):
    return make_site(admin.organization_id, ring_timeout_seconds=30)


@pytest.fixture
def reps(admin):
    """Two reps with a dashboard open and Available on."""
    ana = make_member(admin.organization_id, "ana@acme.example.com", "rep", "Ana")
    bob = make_member(admin.organization_id, "bob@acme.example.com", "rep", "Bob")
    go_online(ana)
    go_online(bob)
    return ana, bob


@pytest.fixture
def listen(app):
    """Subscribe to realtime channels the way a web process does, and collect what arrives."""
    pubsubs = []

    def subscribe(*channels):
        pubsub = app.extensions["redis"].pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(*["rt:" + c for c in channels], "rt:many")  # many: one message for many channels
        pubsubs.append(pubsub)

        def messages(wait=0.5):
            out, deadline = [], time.monotonic() + wait
            while time.monotonic() < deadline:
                m = pubsub.get_message(timeout=0.05)
                if m and m["channel"] == b"rt:many":
                    fan = json.loads(m["data"])
                    out += [(c, json.loads(fan["data"])) for c in fan["to"] if c in channels]
                elif m:
                    out.append((m["channel"].decode()[3:], json.loads(m["data"])))
            return out
        return messages

    yield subscribe
    for p in pubsubs:
        p.close()


def request(client, site, **extra):
    return client.post("/widget/calls", json=call_body(site, **extra),
                       headers={"Origin": "https://shop.example.com"})


def events_of(call_id) -> list[str]:
    return list(db.session.scalars(
        sa.select(Event.type).join(CallEvent, CallEvent.event_id == Event.id)
        .where(CallEvent.call_id == call_id).order_by(Event.created_at, Event.type.desc())))


def test_request_records_call_requested_and_rings_only_eligible_reps(client, site, reps, admin, listen):
    ana, bob = reps
    offline = make_member(admin.organization_id, "otto@acme.example.com", "rep", "Otto")
    offline.available = True  # available, but no dashboard open
    unavailable = make_member(admin.organization_id, "una@acme.example.com", "rep", "Una")
    go_online(unavailable, available=False)
    messages = listen(*[f"user:{u.id}" for u in (ana, bob, offline, unavailable)])

    response = request(client, site)

    assert response.status_code == 201
    body = response.get_json()
    assert body["call"]["status"] == "requested" and body["call"]["ringTimeoutSeconds"] == 30
    assert body["socketUrl"].startswith("ws://converc.test/realtime/call?token=")
    assert load_call_token(body["token"])["s"] == "visitor"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    rings = messages()
    assert sorted(channel for channel, _ in rings) == sorted([f"user:{ana.id}", f"user:{bob.id}"])
    ring = rings[0][1]
    assert ring["type"] == "ring" and ring["call"]["id"] == body["call"]["id"]
    assert ring["call"]["contact"]["name"] == "Vera Visitor"
    assert ring["call"]["answers"] == [{"question": "Company size", "answer": "11-50"}]
    assert ring["call"]["pageUrl"] == "https://shop.example.com/pricing"
    call = db.session.get(Call, service.as_uuid(body["call"]["id"]))
    assert call.status == "requested" and call.answers == ANSWERS
    assert events_of(call.id) == ["call.requested"]


def test_a_returning_visitor_s_alert_is_completed_with_what_they_told_before(client, site, reps, listen):
    """No query comes before the ring: it shows what the visitor tells now, and once their stored
    contact is read (after the publish) a call-contact message completes the alert with what they
    told before, on the same contact."""
    ana, _ = reps
    messages = listen(f"user:{ana.id}")
    first = request(client, site, fingerprint="fp-back").get_json()
    client.post(f"/widget/calls/{first['call']['id']}/cancel", json={"token": first["token"]})
    assert "call-contact" not in [m["type"] for _, m in messages()]  # the ring showed all we know

    again = request(client, site, fingerprint="fp-back", contact={}).get_json()

    heard = [m for _, m in messages() if m["type"] in ("ring", "call-contact")]
    assert [m["type"] for m in heard] == ["ring", "call-contact"]
    ring, known = heard
    assert ring["call"]["id"] == again["call"]["id"] and ring["call"]["contact"]["name"] is None
    assert known["callId"] == again["call"]["id"] and known["contact"]["name"] == "Vera Visitor"
    assert known["contact"]["email"] == CONTACT["email"]
    calls = [db.session.get(Call, service.as_uuid(body["call"]["id"])) for body in (first, again)]
    assert calls[0].contact_id == calls[1].contact_id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 1


@contextlib.contextmanager
def heard_at_first_statement(messages, kinds=("",)):
    """[(what the rep had heard, the statement)] at the request's first SQL statement of these
    kinds: the request's thread stops there, so a ring published after it could not have arrived.
    Only this thread's statements count (the test client runs the request here; a thread an
    earlier test left behind may run SQL of its own meanwhile)."""
    heard, request_thread = [], threading.get_ident()

    def first(conn, cursor, statement, *args):
        if not heard and threading.get_ident() == request_thread and \
                statement.lstrip().upper().startswith(kinds):
            heard.append(([m["type"] for _, m in messages(wait=2)], statement))
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", first)
    try:
        yield heard
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", first)


def test_the_ring_goes_out_before_the_call_is_written(client, site, reps, listen):
    """The ring needs only reads: a rep's alert is on its way before the first INSERT (the call's
    rows, events and outbox follow the publish), so the ring never waits for a write."""
    ana, _ = reps
    messages = listen(f"user:{ana.id}")
    with heard_at_first_statement(messages, ("INSERT", "UPDATE")) as heard:
        response = request(client, site)

    assert response.status_code == 201
    rang, statement = heard[0]
    assert rang == ["ring"], f"before the ring: {statement}"
    assert events_of(service.as_uuid(response.get_json()["call"]["id"])) == ["call.requested"]


def test_on_a_site_in_use_no_query_comes_before_the_ring(client, site, reps, listen):
    """On a site whose visitors are calling (the widget loaded /widget/config, who can be rung is
    current), the site and its settings come from the process's memory and the contact is read
    after the publish: the ring goes out before the request's first SQL statement of any kind (one
    Redis MULTI and the publish before it)."""
    ana, _ = reps
    client.get(f"/widget/config?public_key={site.public_key}&domain={site.domain}")
    earlier = request(client, site, fingerprint="fp-earlier").get_json()
    client.post(f"/widget/calls/{earlier['call']['id']}/cancel", json={"token": earlier["token"]})
    body = call_body(site)
    messages = listen(f"user:{ana.id}")
    with heard_at_first_statement(messages) as heard:
        response = client.post("/widget/calls", json=body, headers={"Origin": "https://shop.example.com"})

    assert response.status_code == 201
    rang, statement = heard[0]
    assert rang == ["ring"], f"before the ring: {statement}"


def test_a_call_on_a_site_nobody_loaded_leaves_its_entry_for_the_next(client, site, reps):
    """Neither the process nor Redis holds the site's entry (expired, a fresh Redis): the request
    reads the site's rows, and after its ring builds the entry, as /widget/config would."""
    from app.widget.service import site_entry

    assert site_entry(site.public_key) is None
    assert request(client, site, fingerprint="fp-first").status_code == 201
    entry = site_entry(site.public_key)
    assert entry is not None and entry["call"]["ringTimeoutSeconds"] == 30


def test_a_settings_change_by_any_writer_reaches_the_next_call(client, site, reps):
    """The call request reads the site's settings from the widget's cached entry: a commit that
    changes them drops it, whoever wrote it (here the ORM directly, no admin page)."""
    from app.models.widget import settings_for

    client.get(f"/widget/config?public_key={site.public_key}&domain={site.domain}")
    settings_for(site).paused = True
    db.session.commit()

    response = request(client, site)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "calls_paused"


def test_a_call_that_cannot_be_recorded_takes_its_ring_back(client, site, reps, listen):
    """The write after the ring fails (here: the database refuses the call's row): the rung reps'
    alerts close, nothing is left behind, and the visitor may ask again."""
    ana, bob = reps
    messages = listen(f"user:{ana.id}", f"user:{bob.id}")

    def refuse_the_call(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO CALL "):
            raise sa.exc.OperationalError(statement, None, Exception("disk full"))
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", refuse_the_call)
    try:
        with pytest.raises(sa.exc.OperationalError):
            request(client, site)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", refuse_the_call)

    told = messages()
    (call_id,) = {m["call"]["id"] for _, m in told if m["type"] == "ring"}
    taken_back = {"type": "call-update", "callId": call_id, "status": "canceled"}
    assert sorted(c for c, m in told if m == taken_back) == sorted([f"user:{ana.id}", f"user:{bob.id}"])
    assert db.session.scalar(sa.select(sa.func.count(Call.id))) == 0
    assert request(client, site).status_code == 201  # not locked out by the failed request


def test_the_envelope_matches_the_seed_example(client, site, reps, app):
    app.config["COUNTRY_HEADER"] = "CF-IPCountry"
    response = client.post("/widget/calls", json=call_body(site), headers={"CF-IPCountry": "US"})
    call = db.session.get(Call, service.as_uuid(response.get_json()["call"]["id"]))
    service.accept(call.id, reps[0])
    service.end(call.id, "rep_hung_up")
    calls_only = sa.select(Event).where(Event.type.like("call.%"))  # contact.created comes with it
    events = db.session.scalars(calls_only.order_by(Event.created_at)).all()
    assert [e.type for e in events] == ["call.requested", "call.accepted", "call.ended"]
    ended = events[-1].envelope()

    def same_shape(ours, seed, path="envelope"):
        assert type(ours) is type(seed) or seed is None or ours is None, path
        if isinstance(seed, dict):
            assert set(ours) == set(seed), f"{path}: {set(ours) ^ set(seed)}"
            for key in seed:
                if seed[key] is not None and ours[key] is not None:
                    same_shape(ours[key], seed[key], f"{path}.{key}")
    same_shape(ended, SEED_EXAMPLE)
    data = ended["data"]
    assert data["call"]["status"] == "ended" and data["call"]["acceptedBy"] == str(reps[0].id)
    assert data["call"]["siteId"] == str(site.id) and data["call"]["visitorFingerprint"] == "fp-visitor-1"
    for stamp in (ended["createdAt"], data["call"]["requestedAt"], data["call"]["acceptedAt"],
                  data["call"]["endedAt"], data["contact"]["lastSeenAt"]):
        assert __import__("re").match(ISO_Z, stamp), stamp
    assert data["contact"]["email"] == "vera@example.org" and data["contact"]["phone"] == "+1 512 555 0100"
    assert data["contact"]["location"]["countryCode"] == "US"
    assert data["qualificationAnswers"] == ANSWERS
    assert data["transcript"] is None and data["recording"] == SEED_EXAMPLE["data"]["recording"]
    requested = events[0].data
    assert requested["call"]["status"] == "requested" and requested["call"]["acceptedAt"] is None


def test_contact_location_is_null_without_geo_data_and_phone_null_unless_shared(client, site, reps):
    body = call_body(site, contact={"name": "No Phone", "email": "np@example.org"})
    client.post("/widget/calls", json=body)
    data = db.session.scalar(sa.select(Event).where(Event.type.like("call.%"))).data
    assert data["contact"]["location"] is None and data["contact"]["phone"] is None


def test_a_contact_is_reused_across_calls_of_the_same_visitor(client, site, reps):
    first = request(client, site).get_json()
    service.cancel(service.as_uuid(first["call"]["id"]))
    request(client, site, contact={"name": "Vera V.", "email": None, "phone": None})
    contacts = db.session.scalars(sa.select(Contact)).all()
    assert len(contacts) == 1
    assert contacts[0].name == "Vera V." and contacts[0].email == "vera@example.org"
    assert len(contacts[0].calls) == 2


def test_two_reps_accepting_at_once_yield_exactly_one_winner(make_app, site, reps, admin):
    call = service.request_call(site, fingerprint="fp-race", qualification={"answers": []})
    app = make_app()
    results, barrier = {}, threading.Barrier(len(reps))

    def try_accept(rep_id):
        with app.app_context():
            rep = db.session.get(type(reps[0]), rep_id)
            barrier.wait()
            try:
                results[rep_id] = service.accept(call.id, rep).accepted_by_id
            except service.CallError as e:
                results[rep_id] = e.code

    threads = [threading.Thread(target=try_accept, args=(r.id,)) for r in reps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winners = [v for v in results.values() if v != "call_accepted"]
    assert len(results) == 2 and len(winners) == 1
    db.session.expire_all()
    assert db.session.get(Call, call.id).accepted_by_id == winners[0]
    assert events_of(call.id) == ["call.requested", "call.accepted"]


@pytest.mark.parametrize("rival", ["cancel", "miss"])
def test_accept_racing_cancel_or_timeout_has_one_outcome(make_app, site, reps, rival):
    call = service.request_call(site, fingerprint=f"fp-{rival}", qualification={"answers": []})
    app = make_app()
    outcome, barrier = {}, threading.Barrier(2)

    def accept():
        with app.app_context():
            rep = db.session.get(type(reps[0]), reps[0].id)
            barrier.wait()
            try:
                outcome["accept"] = service.accept(call.id, rep).status
            except service.CallError as e:
                outcome["accept"] = e.code

    def other():
        with app.app_context():
            barrier.wait()
            moved = getattr(service, rival)(call.id)
            outcome[rival] = moved.status if moved else None

    threads = [threading.Thread(target=accept), threading.Thread(target=other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    db.session.expire_all()
    final = db.session.get(Call, call.id).status
    expected_status = {"cancel": "canceled", "miss": "missed"}[rival]
    if outcome["accept"] == "accepted":
        assert outcome[rival] is None and final == "accepted"
        assert events_of(call.id) == ["call.requested", "call.accepted"]
    else:
        assert outcome["accept"] == f"call_{expected_status}" and final == expected_status
        assert events_of(call.id) == ["call.requested", f"call.{rival.replace('miss', 'missed')}"
                                      .replace("cancel", "canceled"), "call.ended"]


def _answer_before_the_call_is_written(make_app, monkeypatch, answer) -> dict:
    """A call request whose reps answer between the ring and the commit of the call's row (the ring
    goes out before any query: a quick click, or a loaded server, lands there). Each answer runs
    on its own connection and gets a second to fail before the row is written."""
    app, outcome, record = make_app(), {}, service._record_requested

    def answer_in_thread(call_id, rep):
        with app.app_context():
            try:
                outcome[rep.email] = answer(call_id, db.session.get(type(rep), rep.id))
            except service.CallError as e:
                outcome[rep.email] = e.code

    def answered_then_recorded(call, rule):
        outcome["threads"] = [threading.Thread(target=answer_in_thread, args=(call.id, rep))
                              for rep in outcome["reps"]]
        for thread in outcome["threads"]:
            thread.start()
            thread.join(1)
        record(call, rule)

    monkeypatch.setattr(service, "_record_requested", answered_then_recorded)
    return outcome


def test_an_accept_that_comes_before_the_call_is_written_gets_the_call(make_app, monkeypatch, site, reps):
    outcome = _answer_before_the_call_is_written(make_app, monkeypatch,
                                                 lambda call_id, rep: service.accept(call_id, rep).status)
    outcome["reps"] = reps[:1]
    call = service.request_call(site, fingerprint="fp-quick", qualification={"answers": []})
    outcome["threads"][0].join(30)
    assert outcome[reps[0].email] == "accepted"
    db.session.expire_all()
    assert db.session.get(Call, call.id).accepted_by_id == reps[0].id
    assert events_of(call.id) == ["call.requested", "call.accepted"]


def test_declines_that_come_before_the_call_is_written_move_it_on(make_app, monkeypatch, site, reps):
    outcome = _answer_before_the_call_is_written(make_app, monkeypatch, service.decline)
    outcome["reps"] = reps
    call = service.request_call(site, fingerprint="fp-quick", qualification={"answers": []})
    for thread in outcome["threads"]:
        thread.join(30)
    db.session.expire_all()
    call = db.session.get(Call, call.id)
    assert (call.status, call.end_reason) == ("missed", "declined")


def test_another_organization_s_call_cannot_be_answered(client, auth, site, reps, other_admin):
    call_id = request(client, site).get_json()["call"]["id"]
    outsider = make_member(other_admin.organization_id, "oz@globex.example.com", "rep", "Oz")
    auth.login(outsider.email)
    json = {"Accept": "application/json"}
    refused = auth.post(f"/calls/{call_id}/accept", headers=json)
    assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "not_found"
    assert auth.post(f"/calls/{call_id}/accept").status_code == 404
    assert auth.post(f"/calls/{call_id}/decline", headers=json).status_code == 404
    assert db.session.get(Call, service.as_uuid(call_id)).status == "requested"
    assert not get_redis().smembers(f"call:{call_id}:declined")


def test_late_accept_after_cancel_is_refused_cleanly(client, auth, site, reps, admin, listen):
    body = request(client, site).get_json()
    call_id = body["call"]["id"]
    messages = listen(f"user:{reps[0].id}", f"user:{reps[1].id}")
    assert client.post(f"/widget/calls/{call_id}/cancel", json={"token": body["token"]}).status_code == 200
    assert sorted(m["status"] for _, m in messages()) == ["canceled", "canceled"]
    auth.login(reps[0].email)
    response = auth.post(f"/calls/{call_id}/accept", headers={"Accept": "application/json"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "call_canceled"
    assert events_of(service.as_uuid(call_id)) == ["call.requested", "call.canceled", "call.ended"]
    call = db.session.get(Call, service.as_uuid(call_id))
    assert call.status == "canceled" and call.ended_at is not None and call.end_reason == "canceled"


def test_accept_through_the_dashboard_tells_the_other_rep_and_the_visitor(client, auth, site, reps, listen):
    body = request(client, site).get_json()
    call_id = body["call"]["id"]
    messages = listen(f"user:{reps[1].id}", f"call:{call_id}:visitor")
    auth.login(reps[0].email)
    response = auth.post(f"/calls/{call_id}/accept", headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.get_json()["url"] == f"/calls/{call_id}/live"
    got = dict(messages())
    assert got[f"user:{reps[1].id}"] == {"type": "call-update", "callId": call_id, "status": "accepted",
                                         "acceptedById": str(reps[0].id), "acceptedBy": "Ana"}
    assert got[f"call:{call_id}:visitor"] == {"type": "accepted", "rep": {"name": "Ana"}}
    live = client.get(f"/calls/{call_id}/live")
    html = live.get_data(as_text=True)
    assert live.status_code == 200 and "Vera Visitor" in html and "11-50" in html
    token = html.split("token=", 1)[1].split('"', 1)[0]
    assert load_call_token(token)["s"] == "rep"


def test_the_server_misses_the_call_at_the_ring_timeout_with_a_real_worker(app, admin, reps):
    from rq import SimpleWorker
    from rq.registry import ScheduledJobRegistry

    from app.jobs import queue

    site = make_site(admin.organization_id, "quick.example.com", ring_timeout_seconds=600)
    call = service.request_call(site, fingerprint="fp-timeout", qualification={"answers": []})
    SimpleWorker(["default"], connection=app.extensions["redis"]).work(burst=True, with_scheduler=True)
    assert db.session.get(Call, call.id).status == "requested"  # not yet due
    # the timeout comes due: the scheduled job's time is moved, not waited for (a slow machine
    # could otherwise be late for the "not yet due" look)
    registry = ScheduledJobRegistry(queue=queue())
    [job_id] = registry.get_job_ids()
    registry.schedule(queue().fetch_job(job_id), datetime.now(UTC))
    SimpleWorker(["default"], connection=app.extensions["redis"]).work(burst=True, with_scheduler=True)
    db.session.expire_all()
    call = db.session.get(Call, call.id)
    assert call.status == "missed" and call.end_reason == "missed"
    assert events_of(call.id) == ["call.requested", "call.missed", "call.ended"]


def test_nobody_online_misses_at_once_so_the_widget_offers_the_calendar(client, site, admin):
    body = request(client, site).get_json()
    assert body["call"]["status"] == "missed"
    call = db.session.get(Call, service.as_uuid(body["call"]["id"]))
    assert call.end_reason == "no_one_available"
    assert body["nextAvailableAt"] is None  # no schedule says when anyone is back


def test_only_reps_the_availability_rule_allows_ring(client, site, reps, admin, listen):
    """Online and Available is not enough: outside their hours or busy in their calendar, no ring."""
    from datetime import UTC, datetime, timedelta

    from app.availability import service as availability

    ana, bob = reps
    now = datetime.now(UTC)
    day_off = [[]] * 7  # ana's own hours: none at all this week
    availability.save_schedule(ana, "UTC", day_off, follows_default=False)
    availability.replace_busy_blocks(bob.id, "google", now - timedelta(hours=1), now + timedelta(days=1),
                                     [(now - timedelta(minutes=5), now + timedelta(hours=1))])
    messages = listen(f"user:{ana.id}", f"user:{bob.id}")
    body = request(client, site).get_json()
    assert body["call"]["status"] == "missed" and messages() == []
    # bob's meeting is an hour: the visitor learns when someone is next expected
    assert body["nextAvailableAt"] == iso(now + timedelta(hours=1))
    assert service.pending_rings(bob.id) == []

    availability.replace_busy_blocks(bob.id, "google", now - timedelta(hours=1), now + timedelta(days=1), [])
    assert service.eligible_reps(admin.organization_id) == [bob]
    body = request(client, site, fingerprint="fp-visitor-2").get_json()
    assert body["call"]["status"] == "requested"
    assert [channel for channel, _ in messages()] == [f"user:{bob.id}"]
    assert [r["call"]["id"] for r in service.pending_rings(bob.id)] == [body["call"]["id"]]
    assert service.pending_rings(ana.id) == []  # outside her hours: not shown on reconnect either


def test_every_rung_rep_declining_misses_the_call(client, auth, site, reps):
    call_id = request(client, site).get_json()["call"]["id"]
    auth.login(reps[0].email)
    assert auth.post(f"/calls/{call_id}/decline", headers={"Accept": "application/json"}).status_code == 204
    assert db.session.get(Call, service.as_uuid(call_id)).status == "requested"
    auth.logout()
    auth.login(reps[1].email)
    auth.post(f"/calls/{call_id}/decline")
    db.session.expire_all()
    assert db.session.get(Call, service.as_uuid(call_id)).status == "missed"


def test_pending_rings_are_shown_again_except_declined(app, site, reps):
    call = service.request_call(site, fingerprint="fp-pending", qualification={"answers": []})
    assert [r["call"]["id"] for r in service.pending_rings(reps[0].id)] == [str(call.id)]
    service.decline(call.id, reps[0])
    assert service.pending_rings(reps[0].id) == []
    assert len(service.pending_rings(reps[1].id)) == 1


def test_visitor_hangs_up_with_the_call_token_only(client, site, reps):
    body = request(client, site).get_json()
    call_id = body["call"]["id"]
    service.accept(service.as_uuid(call_id), reps[0])
    other = request(client, site, fingerprint="fp-other").get_json()
    assert client.post(f"/widget/calls/{call_id}/hangup", json={"token": other["token"]}).status_code == 404
    assert client.post(f"/widget/calls/{call_id}/hangup", json={}).status_code == 404
    # sendBeacon sends text/plain
    response = client.post(f"/widget/calls/{call_id}/hangup", data=json.dumps({"token": body["token"]}),
                           content_type="text/plain;charset=UTF-8")
    assert response.status_code == 200 and response.get_json()["call"]["status"] == "ended"
    call = db.session.get(Call, service.as_uuid(call_id))
    assert call.end_reason == "visitor_hung_up" and call.duration_seconds is not None


def test_a_socket_that_never_comes_back_ends_the_call(app, site, reps):
    call = service.request_call(site, fingerprint="fp-gone", qualification={"answers": []})
    service.side_joined(call.id, "visitor", "s1")
    assert service.abandon_check(call.id, "visitor") is None  # still here
    service.side_left(call.id, "visitor", "s1")
    assert service.abandon_check(call.id, "visitor").status == "canceled"
    call2 = service.request_call(site, fingerprint="fp-gone-2", qualification={"answers": []})
    service.accept(call2.id, reps[0])
    assert service.abandon_check(call2.id, "rep").end_reason == "disconnected"


def test_a_visitor_back_after_a_reload_rejoins_the_same_call_until_it_is_over(client, site, reps):
    """#14: the widget kept {callId, token, rejoinUrl} in sessionStorage; the next page rejoins the
    same call (ringing, then answered, with the rep's name and a fresh token) and learns when it is over."""
    body = request(client, site).get_json()
    call_id, rejoin_url = body["call"]["id"], body["rejoinUrl"]
    assert rejoin_url.endswith(f"/widget/calls/{call_id}/rejoin") and body["rejoinSeconds"] == 30
    other = request(client, site, fingerprint="fp-other").get_json()
    assert client.post(rejoin_url, json={"token": other["token"]}).status_code == 404
    assert client.post(rejoin_url, json={}).status_code == 404

    ringing = client.post(rejoin_url, json={"token": body["token"]})
    assert ringing.status_code == 200 and ringing.headers["Access-Control-Allow-Origin"] == "*"
    again = ringing.get_json()
    assert again["call"]["id"] == call_id and again["call"]["status"] == "requested"
    assert again["call"]["repName"] is None and again["socketUrl"].startswith("ws")
    assert load_call_token(again["token"]) == {"c": call_id, "s": "visitor", "u": None}

    service.accept(service.as_uuid(call_id), reps[0])
    answered = client.post(rejoin_url, json={"token": again["token"]}).get_json()
    assert answered["call"]["status"] == "accepted" and answered["call"]["repName"] == reps[0].name
    assert events_of(service.as_uuid(call_id)) == ["call.requested", "call.accepted"]  # rejoining is no event

    client.post(f"/widget/calls/{call_id}/hangup", json={"token": body["token"]})
    over = client.post(rejoin_url, data=json.dumps({"token": body["token"]}), content_type="text/plain")
    assert over.status_code == 410
    assert over.get_json() == {"error": {"code": "call_over", "message": "This call is over."},
                               "call": {"id": call_id, "status": "ended"}}


def test_the_rejoin_grace_is_configured_per_side(make_app):
    app = make_app(CALL_REJOIN_SECONDS=7, CALL_REP_GRACE_SECONDS=11)
    with app.app_context():
        assert service.grace_seconds("visitor") == 7 and service.grace_seconds("rep") == 11


@pytest.mark.parametrize("change, status, code", [
    ({"publicKey": "pk_nope"}, 404, "site_not_found"),
    ({"publicKey": "pk_nope", "fingerprint": ""}, 404, "site_not_found"),  # the site is looked at first
    ({"qualificationToken": "forged"}, 400, "invalid_qualification"),
    ({"fingerprint": ""}, 400, "invalid_input"),
    ({"fingerprint": "x" * 500}, 400, "invalid_input"),
    ({"mediaType": "hologram"}, 400, "invalid_input"),
    ({"contact": "not an object"}, 400, "invalid_input"),
])
def test_bad_requests_get_the_documented_json_error(client, site, change, status, code):
    response = client.post("/widget/calls", json=call_body(site, **change))
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code and response.get_json()["error"]["message"]


def test_a_token_for_another_site_is_refused(client, site, admin):
    other = make_site(admin.organization_id, "other.example.com")
    body = call_body(site)
    body["publicKey"] = other.public_key
    assert client.post("/widget/calls", json=body).get_json()["error"]["code"] == "invalid_qualification"


def test_one_open_request_per_visitor_and_paused_sites(client, site, reps, admin):
    assert request(client, site).status_code == 201
    second = request(client, site)
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "call_in_progress"
    assert request(client, site, fingerprint="fp-someone-else").status_code == 201
    paused = make_site(admin.organization_id, "paused.example.com", paused=True)
    response = request(client, paused)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "calls_paused"


def _post_from(client, site, ip, fingerprint):
    return client.post("/widget/calls", json=call_body(site, fingerprint=fingerprint),
                       environ_base={"REMOTE_ADDR": ip})


# the per-address and per-visitor limits are met at qualify time: tests/test_call_guard.py


def test_call_requests_are_rate_limited_per_site(make_app, admin):
    app = make_app(CALL_RATE_LIMIT_PER_IP="100 per hour", CALL_RATE_LIMIT_PER_SITE="2 per hour")
    with app.app_context():
        site = make_site(admin.organization_id, "busy.example.com")
        other = make_site(admin.organization_id, "calm.example.com")
        client = app.test_client()
        codes = [_post_from(client, site, f"198.51.100.{i}", f"fp-{i}").status_code for i in range(3)]
        assert codes == [201, 201, 429]
        assert _post_from(client, other, "198.51.100.50", "fp-other").status_code == 201


def test_preflight_allows_any_customer_origin(client):
    response = client.options("/widget/calls", headers={
        "Origin": "https://shop.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]


def test_presence_follows_sockets(app, rep):
    assert not presence.is_online(rep.id)
    presence.touch(rep.id, rep.organization_id, "a")
    presence.touch(rep.id, rep.organization_id, "b")
    presence.leave(rep.id, rep.organization_id, "a")
    assert presence.is_online(rep.id) and rep.id in presence.online_user_ids(rep.organization_id)
    presence.leave(rep.id, rep.organization_id, "b")
    assert not presence.is_online(rep.id) and presence.online_user_ids(rep.organization_id) == set()


def test_event_data_for_a_call_without_contact_or_site(app, admin):
    call = Call(organization_id=admin.organization_id, visitor_fingerprint="fp", status="requested")
    db.session.add(call)
    db.session.flush()
    data = event_data(call)
    assert data["contact"] is None and data["call"]["siteId"] is None


def test_visitor_browser_reports_a_failed_call_and_the_reps_stop_ringing(client, site, reps, listen):
    body = request(client, site).get_json()
    call_id = body["call"]["id"]
    url = f"/widget/calls/{call_id}/fail"
    assert client.post(url, json={"token": body["token"], "reason": "nonsense"}).status_code == 400
    assert client.post(url, json={"reason": "socket_blocked"}).status_code == 404
    messages = listen(f"user:{reps[0].id}", f"user:{reps[1].id}")
    # sendBeacon and keepalive fetches send text/plain
    response = client.post(url, data=json.dumps({"token": body["token"], "reason": "socket_blocked"}),
                           content_type="text/plain;charset=UTF-8")
    assert response.status_code == 200 and response.get_json()["call"]["status"] == "canceled"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert sorted(m["status"] for _, m in messages()) == ["canceled", "canceled"]
    call = db.session.get(Call, service.as_uuid(call_id))
    assert call.end_reason == "socket_blocked"
    assert events_of(call.id) == ["call.requested", "call.canceled", "call.ended"]


def test_an_answered_call_whose_visitor_socket_failed_ends(client, site, reps):
    body = request(client, site).get_json()
    call_id = body["call"]["id"]
    service.accept(service.as_uuid(call_id), reps[0])
    response = client.post(f"/widget/calls/{call_id}/fail",
                           json={"token": body["token"], "reason": "socket_closed"})
    assert response.status_code == 200 and response.get_json()["call"]["status"] == "ended"
    assert db.session.get(Call, service.as_uuid(call_id)).end_reason == "socket_closed"
