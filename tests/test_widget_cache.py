"""/widget/config at scale: no SQL on the hot path whatever the number of sites, an availability
answer kept until a change or its next boundary (each changing event drops it), a cold Redis
warmed by a background pass, and a bounded per-process memory."""

import time
import types
from datetime import UTC, datetime, timedelta

import pytest

from app.auth.service import sign_up
from app.availability import service as availability
from app.availability.jobs import sweep_faded_presence
from app.calls import service as calls
from app.extensions import db
from app.realtime import presence
from app.sites.service import create_site
from app.widget.local_cache import DROPS_NAMED, LocalCache
from app.widget.service import local_cache, serving_cache, warm
from tests.calls_support import go_online, make_site
from tests.conftest import PASSWORD, statements
from tests.faults.processes import wait_until
from tests.redis_process import RedisProcess

ORIGIN = "https://example.com"


def page(site) -> str:
    """The config URL of a site's page (read now: the test's own objects expire on commits)."""
    return f"/widget/config?public_key={site.public_key}&domain={site.domain}"


def available(client, url) -> bool:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["availability"]["available"]


@pytest.fixture
def visitor(make_app):
    """A web process of its own that remembers nothing locally: every request reads Redis, as
    another process's would right after a change."""
    return make_app(WIDGET_LOCAL_CACHE_SECONDS=0).test_client()


def test_no_sql_on_the_hot_path_at_many_sites(app, make_app, admin, other_admin):
    sites = [create_site(owner.organization_id, f"shop{i}.example.com")
             for owner in (admin, other_admin) for i in range(30)]
    urls = [page(site) for site in sites]
    warm()
    client = make_app(WIDGET_LOCAL_CACHE_SECONDS=0).test_client()
    with statements() as seen:
        for url in urls * 2:
            available(client, url)
    assert seen == []


def test_a_cold_redis_is_still_right_and_warmed_in_the_background(app, visitor, admin, rep):
    site = make_site(admin.organization_id, "example.com")
    url = page(site)
    go_online(rep)
    assert available(visitor, url) is True
    app.extensions["redis"].flushdb()  # a restarted, empty Redis: presence lost too
    assert available(visitor, url) is False  # nobody's dashboard is known to be open
    go_online(rep)  # the sockets' next heartbeat
    availability.invalidate(rep.organization_id)
    assert available(visitor, url) is True
    app.extensions["redis"].flushdb()
    go_online(rep)
    assert warm() == {"sites": 1, "organizations": 1}
    with statements() as seen:
        assert available(visitor, url) is True
    assert seen == []
    assert warm() == {"sites": 0, "organizations": 0}  # nothing left to do


def test_the_answer_is_kept_until_a_change_not_for_seconds(app, visitor, admin, rep):
    site = make_site(admin.organization_id, "example.com")
    url = page(site)
    go_online(rep)
    assert available(visitor, url) is True
    ttl = app.extensions["redis"].pttl(f"availability:{admin.organization_id}")
    assert ttl > 3600 * 1000  # no hours, no busy blocks: nothing ends it but a change


def _toggle(rep, site):
    availability.set_available(rep, False)


def _schedule(rep, site):
    availability.save_schedule(rep, "UTC", [[]] * 7, follows_default=False)


def _override(rep, site):
    availability.save_override(rep, datetime.now(UTC).date(), [])


def _busy(rep, site):
    now = datetime.now(UTC)
    availability.replace_busy_blocks(rep.id, "google", now - timedelta(hours=1), now + timedelta(days=1),
                                     [(now - timedelta(minutes=5), now + timedelta(hours=1))])


def _pause(rep, site):
    availability.pause_all([site], True)


def _presence(rep, site):
    # what the rep socket does when its last dashboard closes
    from app.realtime.routes import _presence_changed

    for socket_id in [m.decode() for m in app_redis().zrange(f"presence:user:{rep.id}", 0, -1)]:
        if presence.leave(rep.id, rep.organization_id, socket_id):
            _presence_changed(rep.organization_id, rep.id, online=False)


def _faded(rep, site):
    # the rep's process died: no close, the heartbeat simply stops; cron's sweep notices
    redis, past = app_redis(), time.time() - 1
    for key in (f"presence:user:{rep.id}", f"presence:org:{rep.organization_id}"):
        redis.zadd(key, {member: past for member in redis.zrange(key, 0, -1)})
    assert sweep_faded_presence() == 1


def _call(rep, site):
    call = calls.request_call(site, fingerprint="fp-cache", qualification={"answers": []})
    calls.accept(call.id, rep)


def app_redis():
    from app.redis_store import get_redis

    return get_redis()


@pytest.mark.parametrize("change", [_toggle, _presence, _faded, _schedule, _override, _busy, _pause, _call],
                         ids=lambda f: f.__name__.strip("_"))
def test_each_change_is_answered_right_after_it(app, visitor, admin, rep, change):
    site = make_site(admin.organization_id, "example.com")
    url = page(site)
    go_online(rep)
    assert available(visitor, url) is True  # cached now, for as long as nothing changes
    change(rep, site)
    assert available(visitor, url) is False


def test_the_end_of_a_call_makes_the_rep_available_again(app, visitor, admin, rep):
    site = make_site(admin.organization_id, "example.com")
    url = page(site)
    go_online(rep)
    call = calls.request_call(site, fingerprint="fp-end", qualification={"answers": []})
    calls.accept(call.id, rep)
    assert available(visitor, url) is False
    calls.end(call.id, "rep_hung_up")
    assert available(visitor, url) is True


def test_the_process_memory_is_a_bounded_lru(app):
    cache = LocalCache(max_entries=3, unheard_seconds=60)
    for key in "abc":
        cache.put(key, key.upper(), 60, cache.version())
    assert cache.peek("a") == "A"  # used: "b" is now the least recently used
    cache.put("d", "D", 60, cache.version())
    assert [cache.peek(k) for k in "abcd"] == ["A", None, "C", "D"]
    cache.put("e", "E", 0, cache.version())  # nothing remembered for no time
    assert cache.peek("e") is None


def test_a_value_read_before_a_change_is_not_remembered_after_it(app):
    cache = LocalCache(max_entries=10, unheard_seconds=60)
    version = cache.version()  # a request reads Redis now...
    cache.drop(("available", "org-1"))  # ...a change is heard...
    cache.put(("available", "org-1"), "stale", 60, version)  # ...and the request's old value arrives
    assert cache.peek(("available", "org-1")) is None


def test_a_change_of_another_key_does_not_refuse_a_value_read_meanwhile(app):
    """A busy deployment announces changes all the time (every rep's page change drops their
    organization's answer): a value read meanwhile is still remembered unless its own key was
    dropped, or more drops came than the memory names by key."""
    cache = LocalCache(max_entries=10, unheard_seconds=60)
    version = cache.version()  # a call request reads its organization's routing now...
    cache.drop(("available", "org-2"))  # ...another organization's change is heard...
    cache.put(("routing", "org-1"), "current", 60, version)  # ...and the routing arrives
    assert cache.peek(("routing", "org-1")) == "current"

    version = cache.version()
    for n in range(DROPS_NAMED + 1):
        cache.drop(("available", f"other-{n}"))
    cache.put(("routing", "org-1"), "too many drops to tell", 60, version)
    assert cache.peek(("routing", "org-1")) == "current"

    version = cache.version()
    cache.forget_all(listening=True)
    cache.put(("routing", "org-1"), "read before a forget_all", 60, version)
    assert cache.peek(("routing", "org-1")) is None


def test_entries_live_long_only_while_changes_are_heard(app, monkeypatch):
    from app.widget import local_cache

    cache = LocalCache(max_entries=10, unheard_seconds=2)
    cache.put("unheard", 1, 3600, cache.version())  # the listener is not subscribed (yet)
    cache.forget_all(listening=True)  # it has subscribed: whatever it may have missed is forgotten
    assert cache.peek("unheard") is None
    cache.put("heard", 2, 3600, cache.version())
    later = types.SimpleNamespace(monotonic=lambda: time.monotonic() + 60)
    monkeypatch.setattr(local_cache, "time", later)
    assert cache.peek("heard") == 2
    cache.forget_all(listening=False)  # the subscription dropped: a change may go unheard now
    assert cache.peek("heard") is None


def remembering_app(make_app, **settings):
    """Another web process: it remembers what it served until it hears a change (an hour at most
    while it hears nothing), and is listening by now."""
    app = make_app(WIDGET_LOCAL_CACHE_SECONDS=3600, WIDGET_RATE_LIMIT="100000 per minute", **settings)
    with app.app_context():
        wait_until(lambda: serving_cache().listening, 30, 0.02, "the widget cache's subscription")
    return app


def remembers_availability(app, organization_id) -> bool:
    with app.app_context():
        return local_cache().peek(("available", str(organization_id))) is not None


def test_a_process_preloads_what_redis_holds_once_it_hears_every_change(app, make_app, admin, rep):
    sites = [make_site(admin.organization_id, f"shop{i}.example.com") for i in range(3)]
    urls = [page(site) for site in sites]
    go_online(rep)
    warm()  # cron's pass
    other = remembering_app(make_app)
    with other.app_context():
        wait_until(lambda: all(local_cache().peek(("entry", site.public_key)) for site in sites), 30, 0.02,
                   "the preload")
    assert remembers_availability(other, admin.organization_id)
    app.extensions["redis"].flushdb()  # what it answers now can only come from its own memory...
    client = other.test_client()
    with statements() as seen:
        assert all(available(client, url) for url in urls)
    assert seen == []  # ...not from the database either


def _save_badge_label(rep, site):
    from app.models.widget import settings_for
    from app.widget.service import invalidate

    settings_for(site).badge_label = "Changed"
    db.session.commit()
    invalidate(site)


@pytest.mark.parametrize("change", [_toggle, _presence, _schedule, _busy, _pause, _call, _save_badge_label],
                         ids=lambda f: f.__name__.strip("_"))
def test_a_change_in_one_process_reaches_what_another_remembers(app, make_app, admin, rep, change):
    site = make_site(admin.organization_id, "example.com")
    url = page(site)
    go_online(rep)
    other = remembering_app(make_app).test_client()
    # the drop go_online published may reach the process's listener after the first answer: wait
    # until the other process remembers one (no Redis read next time)
    wait_until(lambda: available(other, url) is True and remembers_availability(
        other.application, admin.organization_id), 30, 0.02, "the other process remembering the answer")
    change(rep, site)  # in this process (the test's app): the other hears it through Redis

    def answered():
        body = other.get(url).get_json()
        return body["availability"]["available"] is False or body["settings"]["badgeLabel"] == "Changed"

    wait_until(answered, 30, 0.02, "the other process answering the change")


@pytest.fixture
def redis_server():
    server = RedisProcess()
    yield server
    server.stop()


def test_a_redis_restarted_empty_is_not_outlived_by_what_a_process_remembers(redis_server, make_app):
    app = remembering_app(make_app, REDIS_URL=redis_server.url)
    with app.app_context():
        admin = sign_up("Acme", "Ada Admin", "ada@acme.example.com", PASSWORD)
        site = make_site(admin.organization_id, "example.com")
        go_online(admin)
        client, url = app.test_client(), page(site)
        # a drop of the answer heard late (go_online's own change) refuses what was read before it
        wait_until(lambda: available(client, url) is True and remembers_availability(
            app, admin.organization_id), 30, 0.02, "the process remembering the answer")
        redis_server.stop()
        redis_server.start()  # empty: nobody's dashboard is known to be open
        wait_until(lambda: available(client, url) is False, 30, 0.02, "the answer after the restart")
