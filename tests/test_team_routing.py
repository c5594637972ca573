"""Teams and routing with real sockets: a gunicorn server run as `make run` does, reps' dashboard
sockets, calls requested over HTTP. Who rings is read from what each rep's socket received.

Nothing waits for time to pass: the overflow's scheduled job is made due (not slept for), and the
durable path is the cron pass over calls past their overflow_at."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
import sqlalchemy as sa
from rq import SimpleWorker
from rq.registry import ScheduledJobRegistry

from app.calls import jobs, service
from app.extensions import db
from app.jobs import queue
from app.models import Call, Event
from app.realtime import bus
from app.routing import teams
from tests.browser.conftest import start_server
from tests.calls_support import call_body, make_site
from tests.conftest import make_member, statements
from tests.test_realtime import logged_in, next_message, rep_socket, stop, wait_online


@pytest.fixture
def server(app, settings):
    proc, url = start_server(settings, extra_env={"COUNTRY_HEADER": "CF-IPCountry"})
    yield url
    stop(proc)


@pytest.fixture
def sockets(server):
    opened = {}

    def open_for(*users):
        for user in users:
            user.available = True
            db.session.commit()
            opened[user.id] = rep_socket(server, logged_in(server, user.email))
            assert next_message(opened[user.id], "hello")
            wait_online(user.id)
        return opened
    yield open_for
    for ws in opened.values():
        ws.close()


def rings_until_marker(ws, marker: str, timeout=10.0) -> list[str]:
    """The ids of the calls this socket was rung for, up to a marker published after them (one
    Redis channel keeps order, so anything rung before the marker has arrived by then)."""
    rung = []
    while True:
        raw = ws.receive(timeout=timeout)
        assert raw is not None, f"no marker {marker} within {timeout}s"
        message = json.loads(raw)
        if message["type"] == "ring":
            rung.append(message["call"]["id"])
        if message["type"] == "marker" and message["id"] == marker:
            return rung


def received(opened: dict, marker="m") -> dict:
    for user_id in opened:
        bus.publish(f"user:{user_id}", {"type": "marker", "id": marker})
    return {user_id: rings_until_marker(ws, marker) for user_id, ws in opened.items()}


def call_from(server, site, country=None, fingerprint="fp-1", **extra) -> str:
    headers = {"CF-IPCountry": country} if country else {}
    response = requests.post(server + "/widget/calls", json=call_body(site, fingerprint=fingerprint, **extra),
                             headers=headers, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["call"]["id"]


def team(admin, name, members, strategy="ring_all", overflow_seconds=None, overflow_team=None):
    created = teams.save_team(admin.organization_id, None, name=name, strategy=strategy,
                              overflow_seconds=overflow_seconds, member_ids=[m.id for m in members],
                              overflow_team_id=str(overflow_team.id) if overflow_team else "everyone")
    db.session.commit()
    return created


def rule(admin, team_, *conditions):
    teams.add_routing_rule(admin.organization_id, list(conditions), team_)
    db.session.commit()


def make_due(call_id, func) -> None:
    """Move this call's scheduled job (of `func`) to now and run the worker: its time has come."""
    registry = ScheduledJobRegistry(queue=queue())
    for job_id in registry.get_job_ids():
        job = queue().fetch_job(job_id)
        if job is not None and job.func_name.endswith(func) and job.args == (call_id,):
            registry.schedule(job, datetime.now(UTC))
    SimpleWorker(["default"], connection=queue().connection).work(burst=True, with_scheduler=True)
    db.session.expire_all()


def routing_events(call_id) -> list[dict]:
    return [e.data for e in db.session.scalars(sa.select(Event).where(
        Event.type.in_(("call.routed", "call.overflowed"))).order_by(Event.created_at))
        if e.data["call"]["id"] == call_id]


@pytest.fixture
def reps(admin):
    return [make_member(admin.organization_id, f"{name.lower()}@acme.example.com", "rep", name)
            for name in ("Anna", "Bernd", "Carla", "Dave", "Eve")]


def test_two_teams_by_country_then_overflow_to_the_fallback_after_its_timeout(server, sockets, admin, reps):
    anna, bernd, carla, dave, eve = reps
    site = make_site(admin.organization_id, "shop.example.com", ring_timeout_seconds=120)
    enterprise = team(admin, "Enterprise", [carla, dave])
    dach = team(admin, "DACH", [anna, bernd], overflow_seconds=30, overflow_team=enterprise)
    rule(admin, dach, {"source": "country", "op": "any_of", "value": ["DE", "AT", "CH"]})
    rule(admin, enterprise, {"source": "attribute", "key": "plan", "op": "equals", "value": "enterprise"})
    opened = sockets(*reps)

    german = call_from(server, site, "DE", "fp-de")
    enterprise_call = call_from(server, site, "US", "fp-us", attributes={"plan": "Enterprise"})
    nobody_matches = call_from(server, site, "FR", "fp-fr", attributes={"plan": "free"})
    got = received(opened)
    assert german in got[anna.id] and german in got[bernd.id]
    assert enterprise_call in got[carla.id] and enterprise_call in got[dave.id]
    assert all(nobody_matches in got[r.id] for r in reps)  # no rule: everyone
    assert german not in got[carla.id] + got[dave.id] + got[eve.id]
    assert enterprise_call not in got[anna.id] + got[bernd.id] + got[eve.id]

    # nobody in DACH answers: at its overflow time Enterprise rings too (DACH keeps ringing)
    make_due(german, "overflow")
    after = received(opened, "after-overflow")
    assert german in after[carla.id] and german in after[dave.id]
    assert german not in after[eve.id] + after[anna.id] + after[bernd.id]
    call = db.session.get(Call, service.as_uuid(german))
    assert call.status == "requested" and call.overflowed_at is not None and call.overflow_at is None

    # the webhook payloads (call.routed, call.overflowed) and the API say which team
    routed, overflowed = routing_events(german)
    assert routed["routing"]["team"]["name"] == "DACH" and routed["routing"]["overflowTo"] == "team"
    assert routed["routing"]["overflowTeam"]["name"] == "Enterprise"
    assert routed["routing"]["overflowedAt"] is None
    assert overflowed["routing"]["overflowedAt"] is not None
    [enterprise_routed] = routing_events(enterprise_call)
    assert enterprise_routed["routing"]["team"]["name"] == "Enterprise"
    assert enterprise_routed["routing"]["overflowTo"] is None  # Enterprise never overflows
    assert routing_events(nobody_matches) == []


def test_an_overflow_whose_job_was_lost_is_done_by_the_cron_pass(server, sockets, admin, reps):
    anna, bernd, *_ = reps
    site = make_site(admin.organization_id, "shop.example.com", ring_timeout_seconds=120)
    dach = team(admin, "DACH", [anna], overflow_seconds=30)  # then everyone
    rule(admin, dach)  # always
    opened = sockets(anna, bernd)
    call_id = call_from(server, site, "DE")
    assert received(opened) == {anna.id: [call_id], bernd.id: []}

    # Redis lost the scheduled overflow job; the row still says what is owed and when
    registry = ScheduledJobRegistry(queue=queue())
    for job_id in registry.get_job_ids():
        registry.remove(job_id, delete_job=True)
    assert jobs.overflow_overdue_rings() == 0  # not due yet
    db.session.execute(sa.update(Call).values(overflow_at=datetime.now(UTC) - timedelta(seconds=1)))
    db.session.commit()
    assert jobs.overflow_overdue_rings() == 1
    assert jobs.overflow_overdue_rings() == 0  # once
    assert received(opened, "after") == {anna.id: [], bernd.id: [call_id]}


def test_round_robin_over_ten_calls_skips_the_rep_on_a_call(server, sockets, admin, reps):
    anna, bernd, carla, *_ = reps
    site = make_site(admin.organization_id, "shop.example.com")
    sales = team(admin, "Sales", [anna, bernd, carla], strategy="round_robin")
    rule(admin, sales)
    opened = sockets(anna, bernd, carla)
    busy = call_from(server, site, fingerprint="fp-busy")
    received(opened, "first")
    service.accept(service.as_uuid(busy), bernd)  # Bernd is on a call now

    order = []
    for i in range(10):
        call_id = call_from(server, site, fingerprint=f"fp-{i}")
        got = received(opened, f"call-{i}")
        [rung] = [user_id for user_id, ids in got.items() if call_id in ids]  # exactly one rep
        assert got == {u: ([call_id] if u == rung else []) for u in opened}
        order.append(rung)
        service.cancel(service.as_uuid(call_id))
    assert bernd.id not in order
    assert order == [carla.id, anna.id] * 5  # in turn, after Anna (who took the first)


def test_longest_idle_first_and_a_decline_rings_the_next(server, sockets, admin, reps):
    anna, bernd, carla, *_ = reps
    site = make_site(admin.organization_id, "shop.example.com")
    now = datetime.now(UTC)
    for rep, ended in ((anna, now - timedelta(minutes=5)), (bernd, now - timedelta(hours=2)),
                       (carla, now - timedelta(minutes=30))):
        db.session.add(Call(organization_id=admin.organization_id, site_id=site.id, status="ended",
                            visitor_fingerprint=f"old-{rep.name}", accepted_by_id=rep.id,
                            accepted_at=ended - timedelta(minutes=3), ended_at=ended))
    db.session.commit()
    support = team(admin, "Support", [anna, bernd, carla], strategy="longest_idle")
    rule(admin, support, {"source": "pageUrl", "op": "contains", "value": "/pricing"})
    opened = sockets(anna, bernd, carla)

    call_id = call_from(server, site)  # the page is /pricing
    assert received(opened) == {anna.id: [], bernd.id: [call_id], carla.id: []}  # idle 2 h
    service.decline(service.as_uuid(call_id), bernd)
    assert received(opened, "declined") == {anna.id: [], bernd.id: [], carla.id: [call_id]}  # then 30 min
    service.decline(service.as_uuid(call_id), carla)
    assert received(opened, "last") == {anna.id: [call_id], bernd.id: [], carla.id: []}
    service.decline(service.as_uuid(call_id), anna)
    db.session.expire_all()
    assert db.session.get(Call, service.as_uuid(call_id)).status == "missed"  # no overflow: missed


def test_a_team_with_nobody_available_overflows_at_once_or_is_missed(server, sockets, admin, reps):
    anna, bernd, carla, *_ = reps
    site = make_site(admin.organization_id, "shop.example.com")
    dach = team(admin, "DACH", [anna], overflow_seconds=20)  # Anna is offline
    rule(admin, dach, {"source": "country", "op": "any_of", "value": ["DE"]})
    lonely = team(admin, "Nordics", [carla])  # no overflow
    rule(admin, lonely, {"source": "country", "op": "any_of", "value": ["SE"]})
    opened = sockets(bernd)
    german = call_from(server, site, "DE", "fp-de")
    assert received(opened) == {bernd.id: [german]}
    swede = requests.post(server + "/widget/calls", json=call_body(site, fingerprint="fp-se"),
                          headers={"CF-IPCountry": "SE"}, timeout=30).json()
    assert swede["call"]["status"] == "missed"
    assert db.session.get(Call, service.as_uuid(swede["call"]["id"])).end_reason == "no_one_available"


def test_the_api_says_which_team(server, sockets, admin, reps, api_key):
    from tests.conftest import bearer

    anna, *_ = reps
    site = make_site(admin.organization_id, "shop.example.com")
    rule(admin, team(admin, "Enterprise", [anna]))
    sockets(anna)
    call_id = call_from(server, site)
    shown = requests.get(f"{server}/api/v1/calls/{call_id}", headers=bearer(api_key[1]), timeout=30).json()
    assert shown["routing"]["team"]["name"] == "Enterprise" and shown["routing"]["strategy"] == "ring_all"


def test_a_routing_change_is_followed_by_the_next_call_in_another_process(server, sockets, admin, reps):
    """The server keeps a copy of the routing in its process; a change committed here (another
    process) is what its very next call follows: a team's members, a rule added and moved up, the
    rules deleted."""
    anna, bernd, carla, *_ = reps
    site = make_site(admin.organization_id, "shop.example.com")
    sales = team(admin, "Sales", [anna])
    rule(admin, sales, {"source": "country", "op": "any_of", "value": ["DE"]})
    opened = sockets(anna, bernd, carla)
    first = call_from(server, site, "DE", "fp-1")
    assert received(opened, "1") == {anna.id: [first], bernd.id: [], carla.id: []}

    teams.save_team(admin.organization_id, sales, name="Sales", strategy="ring_all", overflow_seconds=None,
                    overflow_team_id="everyone", member_ids=[bernd.id])
    db.session.commit()
    second = call_from(server, site, "DE", "fp-2")
    assert received(opened, "2") == {anna.id: [], bernd.id: [second], carla.id: []}

    rule(admin, team(admin, "Support", [carla]), {"source": "country", "op": "any_of", "value": ["DE"]})
    third = call_from(server, site, "DE", "fp-3")  # Sales's rule comes first
    assert received(opened, "3") == {anna.id: [], bernd.id: [third], carla.id: []}
    teams.move_routing_rule(teams.org_rules(admin.organization_id)[1], "up")
    db.session.commit()
    fourth = call_from(server, site, "DE", "fp-4")
    assert received(opened, "4") == {anna.id: [], bernd.id: [], carla.id: [fourth]}

    for routing_rule in teams.org_rules(admin.organization_id):
        db.session.delete(routing_rule)
    db.session.commit()
    fifth = call_from(server, site, "DE", "fp-5")
    assert received(opened, "5") == {anna.id: [fifth], bernd.id: [fifth], carla.id: [fifth]}


def test_a_call_routes_from_the_process_copy_until_the_routing_changes(app, admin, reps):
    """No query for the rules, teams or members while the version read with the call's lock is
    the copy's; a renamed member reorders the round robin, a deleted team leaves it."""
    from app.redis_store import get_redis
    from app.routing import snapshot
    from app.widget.service import serving_cache
    from tests.faults.processes import wait_until

    anna, bernd, *_ = reps
    org = admin.organization_id

    def current():
        pipe = get_redis().pipeline()
        snapshot.queue_version(pipe, org)
        return snapshot.routing_for(org, pipe.execute()[0])
    sales = team(admin, "Sales", [anna, bernd], strategy="round_robin")
    rule(admin, sales, {"source": "country", "op": "any_of", "value": ["DE"]})
    # the process keeps copies once its cache hears changes (the first test of a run may start
    # before it subscribed), and the drops those commits sent are heard asynchronously: settle
    wait_until(lambda: serving_cache().listening, 30, 0.02, "the widget cache's subscription")
    copy = wait_until(lambda: (kept := current()) is current() and kept, 30, 0.02, "a kept copy")
    assert copy.teams[sales.id].member_ids == (anna.id, bernd.id)
    assert copy.choose_team({"country": "DE"})[0].id == sales.id
    assert copy.choose_team({"country": "FR"}) == (None, None)

    with statements() as seen:
        assert current() is copy
    assert seen == []

    anna.name = "Zora"  # after Bernd now
    db.session.commit()
    assert current().teams[sales.id].member_ids == (bernd.id, anna.id)
    teams.delete_team(db.session.get(type(sales), sales.id))
    db.session.commit()
    assert current().teams == {} and current().rules == ()


def test_who_can_be_rung_is_one_redis_read_kept_up_to_date(app, admin, reps):
    from app.availability import service as availability
    from app.availability.service import set_available
    from tests.calls_support import go_online

    anna, bernd, carla, *_ = reps
    for rep in (anna, bernd, carla):
        go_online(rep)
    org = admin.organization_id
    site = make_site(org, "shop.example.com")
    assert set(availability.ringable_rep_ids(org)) == {anna.id, bernd.id, carla.id}

    with statements() as seen:
        assert set(availability.ringable_rep_ids(org)) == {anna.id, bernd.id, carla.id}
    assert seen == []  # served from Redis while nothing changed

    set_available(bernd, False)  # the toggle's commit moves the generation
    assert set(availability.ringable_rep_ids(org)) == {anna.id, carla.id}
    call = service.request_call(site, fingerprint="fp-1", qualification={"answers": []})
    service.accept(call.id, anna)  # on a call now
    assert set(availability.ringable_rep_ids(org)) == {carla.id}


def test_each_process_reads_who_can_be_rung_once_per_change(app, admin, reps):
    """A call request reads only the set's stamp: the members come from the process's copy made
    under it (a thousand ids per call would make the ring grow with the floor). Any change of the
    set, in place or rebuilt, and a Redis that restarted empty, stamp it anew."""
    from app.availability import service as availability
    from app.availability.service import set_available
    from app.redis_store import get_redis
    from tests.calls_support import go_online

    anna, bernd, carla, *_ = reps
    for rep in (anna, bernd, carla):
        go_online(rep)
    org = admin.organization_id
    assert set(availability.ringable_rep_ids(org)) == {anna.id, bernd.id, carla.id}
    members_key = f"availability:{org}:ringable:ids"
    # as the previous version wrote it (its processes read it during a rolling deploy): the token
    # that makes the stamp unique lives in a key of its own
    assert re.fullmatch(rb"\d+ \d+", get_redis().get(f"availability:{org}:ringable:as-of"))

    get_redis().delete(members_key)  # what Redis holds is not read again while the stamp stands
    assert set(availability.ringable_rep_ids(org)) == {anna.id, bernd.id, carla.id}

    get_redis().sadd(members_key, str(anna.id), str(bernd.id), str(carla.id))
    call = service.request_call(make_site(org, "shop.example.com"), fingerprint="fp-1",
                                qualification={"answers": []})
    service.accept(call.id, anna)  # in place: a new stamp, read again once
    assert set(availability.ringable_rep_ids(org)) == {bernd.id, carla.id}
    set_available(bernd, False)  # a toggle: rebuilt
    assert set(availability.ringable_rep_ids(org)) == {carla.id}

    get_redis().flushdb()  # a restart: generations count from 0 again, under new stamps
    service.end(call.id, "rep_hung_up")
    for rep in (anna, carla):
        go_online(rep)
    assert set(availability.ringable_rep_ids(org)) == {anna.id, carla.id}


def test_an_accept_and_an_end_change_who_can_be_rung_in_place(app, admin, reps):
    """A busy floor accepts and ends calls every few seconds: each moves one rep in or out of the
    set, read again without a query, instead of a rebuild from every rep's facts."""
    from app.availability import service as availability
    from app.availability.service import set_available
    from tests.calls_support import go_online

    anna, bernd, carla, *_ = reps
    for rep in (anna, bernd, carla):
        go_online(rep)
    org = admin.organization_id
    site = make_site(org, "shop.example.com")
    assert set(availability.ringable_rep_ids(org)) == {anna.id, bernd.id, carla.id}

    def ringable_without_queries():
        with statements() as seen:
            ids = set(availability.ringable_rep_ids(org))
        assert seen == []
        return ids

    first = service.request_call(site, fingerprint="fp-1", qualification={"answers": []})
    service.accept(first.id, anna)
    assert ringable_without_queries() == {bernd.id, carla.id}
    service.end(first.id, "rep_hung_up")
    assert ringable_without_queries() == {anna.id, bernd.id, carla.id}

    second = service.request_call(site, fingerprint="fp-2", qualification={"answers": []})
    service.accept(second.id, bernd)
    set_available(bernd, False)  # toggled off during the call: the end does not bring them back
    assert set(availability.ringable_rep_ids(org)) == {anna.id, carla.id}
    service.end(second.id, "rep_hung_up")
    assert ringable_without_queries() == {anna.id, carla.id}
