"""Realtime across processes: two gunicorn servers on one database and one Redis; the rep's
socket is on one, the visitor on the other, and the call still rings, connects and ends."""

import asyncio
import json
import re
import subprocess

import aiohttp
import pytest
import requests
import sqlalchemy as sa
from simple_websocket import Client

from app.calls import service
from app.extensions import db
from app.models import Call, CallEvent, Event
from app.realtime import presence
from tests.browser.conftest import start_server
from tests.calls_support import call_body, make_site
from tests.conftest import PASSWORD, make_member, statements


@pytest.fixture
def two_servers(app, settings):
    servers = [start_server(settings), start_server(settings)]
    yield [url for _, url in servers]
    for proc, _ in servers:
        stop(proc)


def stop(proc):
    # open websockets would hold a graceful shutdown for gunicorn's whole graceful timeout
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://", 1)


def logged_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    token = re.search(r'name="csrf-token" content="([^"]+)"', session.get(base + "/login").text).group(1)
    session.post(base + "/login", data={"csrf_token": token, "email": email, "password": PASSWORD})
    session.headers["X-CSRFToken"] = token
    return session


def connect(url: str, **kwargs) -> Client:
    ws = Client.connect(url, **kwargs)
    # simple_websocket's client leaves frames that arrive with the handshake response unread until
    # more data comes (browsers do not): a ping makes the server answer, so they get read
    ws.send(json.dumps({"type": "ping"}))
    return ws


def rep_headers(base: str, session: requests.Session, origin=None) -> dict:
    """What a rep's browser sends with the dashboard socket's handshake."""
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in session.cookies.items()), "Origin": origin or base}


def rep_socket(base: str, session: requests.Session, origin=None) -> Client:
    return connect(ws_url(base) + "/realtime/rep", headers=rep_headers(base, session, origin))


def refused_with(url: str, headers: dict) -> int | str:
    """The close code a socket opened now is given. aiohttp's client reads a close frame that comes
    with the handshake answer; simple_websocket's may see the TCP close first (1005, no status)."""
    async def attempt():
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session, \
                session.ws_connect(url, headers=headers) as ws:
            message = await ws.receive(timeout=30)
            return message.data if message.type == aiohttp.WSMsgType.CLOSE else message.type
    return asyncio.run(asyncio.wait_for(attempt(), 60))


def next_message(ws: Client, type_: str, timeout=5.0) -> dict:
    """The next message of this type (heartbeat replies and other noise are skipped)."""
    while True:
        raw = ws.receive(timeout=timeout)
        assert raw is not None, f"no {type_} message within {timeout}s"
        message = json.loads(raw)
        if message["type"] == type_:
            return message


def wait_online(user_id, timeout=5.0):
    import time

    deadline = time.monotonic() + timeout
    while not presence.is_online(user_id):
        assert time.monotonic() < deadline, "the rep never came online"
        time.sleep(0.05)


def test_a_call_rings_connects_and_ends_across_two_processes(two_servers, admin, rep):
    server_a, server_b = two_servers
    site = make_site(admin.organization_id, "shop.example.com")
    rep.available = True
    db.session.commit()
    session = logged_in(server_a, rep.email)
    rep_ws = rep_socket(server_a, session)
    assert next_message(rep_ws, "hello")["heartbeatSeconds"] > 0
    assert presence.is_online(rep.id)

    created = requests.post(server_b + "/widget/calls", json=call_body(site))
    assert created.status_code == 201, created.text
    body = created.json()
    ring = next_message(rep_ws, "ring")
    assert ring["call"]["id"] == body["call"]["id"] and ring["call"]["contact"]["name"] == "Vera Visitor"

    visitor_ws = connect(body["socketUrl"].replace("http://converc.test", ws_url(server_b)))
    assert next_message(visitor_ws, "state")["status"] == "requested"

    accepted = session.post(server_a + ring["call"]["acceptUrl"], headers={"Accept": "application/json"})
    assert accepted.status_code == 200, accepted.text
    assert next_message(visitor_ws, "accepted")["rep"]["name"] == "Rex Rep"

    live = session.get(server_a + accepted.json()["url"]).text
    rep_call_url = re.search(r'data-socket-url="([^"]+)"', live).group(1).replace("&amp;", "&")
    rep_call_ws = connect(rep_call_url)
    assert next_message(rep_call_ws, "state")["status"] == "accepted"
    assert next_message(rep_call_ws, "peer-joined")["side"] == "visitor"
    assert next_message(visitor_ws, "peer-joined")["side"] == "rep"

    # WebRTC signalling is relayed between the processes, both ways
    visitor_ws.send(json.dumps({"type": "signal", "data": {"sdp": {"type": "offer", "sdp": "v=0 offer"}}}))
    assert next_message(rep_call_ws, "signal")["data"]["sdp"]["sdp"] == "v=0 offer"
    rep_call_ws.send(json.dumps({"type": "signal", "data": {"candidate": {"candidate": "c1"}}}))
    assert next_message(visitor_ws, "signal")["data"] == {"candidate": {"candidate": "c1"}}

    rep_call_ws.send(json.dumps({"type": "hangup"}))
    assert next_message(visitor_ws, "ended") == {"type": "ended", "status": "ended", "reason": "rep_hung_up"}
    call = db.session.get(Call, service.as_uuid(body["call"]["id"]))
    assert call.status == "ended" and call.accepted_by_id == rep.id
    types = db.session.scalars(sa.select(Event.type).join(CallEvent, CallEvent.event_id == Event.id)
                               .where(CallEvent.call_id == call.id).order_by(Event.created_at)).all()
    assert types == ["call.requested", "call.accepted", "call.ended"]
    for ws in (rep_ws, visitor_ws, rep_call_ws):
        ws.close()


def test_a_ring_still_pending_is_shown_again_after_a_reconnect(two_servers, admin, rep):
    server_a, server_b = two_servers
    site = make_site(admin.organization_id, "shop.example.com")
    rep.available = True
    db.session.commit()
    session = logged_in(server_a, rep.email)
    first = rep_socket(server_a, session)
    next_message(first, "hello")
    call_id = requests.post(server_b + "/widget/calls", json=call_body(site)).json()["call"]["id"]
    assert next_message(first, "ring")["call"]["id"] == call_id
    first.close()  # a network blip

    again = rep_socket(server_b, session)  # reconnects, this time through the other process
    next_message(again, "hello")
    assert next_message(again, "ring")["call"]["id"] == call_id
    # the visitor gives up: the alert learns it
    token = service.as_uuid(call_id)
    service.cancel(token)
    update = next_message(again, "call-update")
    assert update == {"type": "call-update", "callId": call_id, "status": "canceled"}
    again.close()


def test_presence_ends_with_the_last_socket(two_servers, rep):
    import time

    session = logged_in(two_servers[0], rep.email)
    sockets = [rep_socket(two_servers[0], session), rep_socket(two_servers[1], session)]
    for ws in sockets:
        next_message(ws, "hello")
    sockets[0].close()
    time.sleep(0.3)
    assert presence.is_online(rep.id)
    sockets[1].close()
    deadline = time.monotonic() + 5
    while presence.is_online(rep.id):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_the_badge_follows_the_reps_dashboard_socket(two_servers, admin, rep):
    """Availability includes presence: opening and closing the rep's socket changes /widget/config
    at once (its cached answer is invalidated), in the socket's process and in the other."""
    import time

    server_a, server_b = two_servers
    site = make_site(admin.organization_id, "shop.example.com")
    rep.available = True
    db.session.commit()

    def available(base):
        response = requests.get(base + "/widget/config", params={"public_key": site.public_key,
                                                                 "domain": "shop.example.com"})
        return response.json()["availability"]["available"]

    assert available(server_a) is False  # Available, but no dashboard open
    session = logged_in(server_a, rep.email)
    ws = rep_socket(server_a, session)
    next_message(ws, "hello")
    assert available(server_a) is True and available(server_b) is True
    ws.close()
    # the socket's handler drops presence, then the cached answer: a request may fall in between,
    # but not much later (unchanged, the answer would stand until the rep's hours end)
    deadline = time.monotonic() + 10
    while available(server_a) or available(server_b):
        assert time.monotonic() < deadline, "the badge still says available after the rep left"
        time.sleep(0.05)
    assert not presence.is_online(rep.id)


def test_a_rep_changing_page_moves_only_them_in_who_can_be_rung(two_servers, admin, rep):
    """Each dashboard page a rep opens closes one socket and opens another. Their last socket
    closing takes them out of the ringable set, their first opening puts them back by their own
    facts: in place, so the next call request reads the set as it is (no rebuild from every rep's
    facts, which on a big floor would be paid by the call after any rep's click)."""
    import time

    from app.availability import service as availability

    ana = make_member(admin.organization_id, "ana@acme.example.com", "rep", "Ana")
    for user in (rep, ana):
        user.available = True
    db.session.commit()
    org = admin.organization_id
    sockets = {}
    for user, base in ((rep, two_servers[0]), (ana, two_servers[1])):
        sockets[user.id] = rep_socket(base, logged_in(base, user.email))
        next_message(sockets[user.id], "hello")
    assert set(availability.ringable_rep_ids(org)) == {rep.id, ana.id}

    def ringable_once_settled(expected: set):
        deadline = time.monotonic() + 10
        while True:
            with statements() as seen:
                ids = set(availability.ringable_rep_ids(org))
            if ids == expected or time.monotonic() > deadline:
                return ids, seen
            time.sleep(0.05)

    sockets[rep.id].close()  # Rex leaves a page...
    assert ringable_once_settled({ana.id}) == ({ana.id}, [])
    again = rep_socket(two_servers[1], logged_in(two_servers[1], rep.email))  # ...and opens the next
    next_message(again, "hello")
    assert ringable_once_settled({rep.id, ana.id}) == ({rep.id, ana.id}, [])
    again.close()
    sockets[ana.id].close()


@pytest.mark.parametrize("case", ["anonymous", "other-origin", "bad-call-token"])
def test_sockets_refuse_strangers(two_servers, rep, case):
    base = two_servers[0]
    if case == "anonymous":
        code = refused_with(ws_url(base) + "/realtime/rep", {"Origin": base})
    elif case == "other-origin":
        headers = rep_headers(base, logged_in(base, rep.email), origin="https://evil.example.net")
        code = refused_with(ws_url(base) + "/realtime/rep", headers)
    else:
        code = refused_with(ws_url(base) + "/realtime/call?token=forged", {})
    assert code == (4403 if case == "other-origin" else 4401)
    assert not presence.is_online(rep.id)


def test_rep_availability_changed_is_debounced(app, settings, admin, rep):
    """The rep's real dashboard socket and Available switch, and the real scheduled check job run by
    a real worker: a page reload (socket closed and reopened) and a switch flicked off and on say
    nothing; a real change is said once, after the debounce window (the window,
    AVAILABILITY_EVENT_DEBOUNCE_SECONDS, is ended here by moving the owed check's due time rather
    than waiting it out)."""
    import time

    from rq.registry import ScheduledJobRegistry

    from app.availability.jobs import check_availability_change
    from app.jobs import queue
    from app.models import RepAvailabilityNotice
    from app.models.base import utcnow
    from tests.conftest import run_jobs

    proc, base = start_server(settings, extra_env={"AVAILABILITY_EVENT_DEBOUNCE_SECONDS": "600"})
    rep.available = True
    db.session.commit()

    def said() -> list[dict]:
        db.session.expire_all()
        return [e.data for e in db.session.scalars(
            sa.select(Event).where(Event.type == "rep.availability_changed").order_by(Event.created_at))]

    def owed_checks() -> list[str]:
        registry = ScheduledJobRegistry(queue=queue())
        jobs = [queue().fetch_job(job_id) for job_id in registry.get_job_ids()]
        return [job.id for job in jobs if job is not None and job.args == (str(rep.id),)
                and job.func_name.endswith("check_availability_change")]

    def owed_soon() -> list[str]:
        """The owed checks, once there is one: a closed socket's handler owes its check just after
        presence says the rep left, so the test may look in between."""
        deadline = time.monotonic() + 10
        while not (owed := owed_checks()):
            assert time.monotonic() < deadline, "no check owed"
            time.sleep(0.05)
        return owed

    def run_owed_checks() -> None:
        """The window ends: the scheduled check jobs run now, through a worker."""
        db.session.expire_all()
        row = db.session.get(RepAvailabilityNotice, rep.id)
        if row is not None and row.due_at is not None:
            row.due_at = utcnow()
            db.session.commit()
        registry = ScheduledJobRegistry(queue=queue())
        for job_id in owed_checks():
            registry.remove(job_id)
            queue().enqueue_job(queue().fetch_job(job_id))
        run_jobs(app)

    def reopen(ws):
        ws.close()
        wait_offline(rep.id)
        fresh = rep_socket(base, session)
        next_message(fresh, "hello")
        return fresh

    try:
        session = logged_in(base, rep.email)
        ws = rep_socket(base, session)
        next_message(ws, "hello")
        ws = reopen(ws)  # a reload inside the window: still one owed check
        assert len(owed_soon()) == 1
        assert check_availability_change(str(rep.id)) is False  # too early: says nothing, stays owed
        assert said() == []
        run_owed_checks()
        [online] = said()
        assert online["available"] is True and online["online"] is True and online["rep"]["id"] == str(rep.id)

        ws = reopen(ws)  # a reload after the change was said: nothing changed, nothing is said
        assert len(owed_soon()) == 1
        run_owed_checks()
        assert len(said()) == 1
        for wanted in ("0", "1"):  # the switch flicked off and on again
            session.post(base + "/availability/toggle", data={"available": wanted})
        assert len(owed_checks()) == 1
        run_owed_checks()
        assert len(said()) == 1

        ws.close()  # the dashboard closed for good
        wait_offline(rep.id)
        owed_soon()
        run_owed_checks()
        offline = said()[-1]
        assert len(said()) == 2
        assert offline["available"] is False and offline["online"] is False and offline["toggled"] is True
    finally:
        stop(proc)


def wait_offline(user_id, timeout=10.0):
    import time

    deadline = time.monotonic() + timeout
    while presence.is_online(user_id):
        assert time.monotonic() < deadline, "the rep never went offline"
        time.sleep(0.05)
