"""A web process holds at most WEBSOCKET_LIMIT sockets: the next is refused with 1013 and HTTP
keeps answering; Redis bursts wait for a pooled connection instead of failing."""

import contextlib
import threading
import time
import urllib.request

from simple_websocket import ConnectionClosed

from tests.browser.conftest import start_server
from tests.test_realtime import logged_in, next_message, refused_with, rep_headers, rep_socket, stop, ws_url


def test_a_full_process_refuses_new_sockets_with_1013(app, settings, rep):
    proc, base = start_server(settings, extra_env={"WEBSOCKET_LIMIT": "2"})
    held = []
    try:
        session = logged_in(base, rep.email)
        held = [rep_socket(base, session), rep_socket(base, session)]
        for ws in held:
            next_message(ws, "hello", timeout=30)
        assert refused_with(ws_url(base) + "/realtime/rep", rep_headers(base, session)) == 1013
        # a call socket counts too, and is refused the same way before its token is even read
        assert refused_with(ws_url(base) + "/realtime/call?token=x", {}) == 1013
        with urllib.request.urlopen(base + "/widget/ping", timeout=30) as answer:
            assert answer.status == 200  # plain HTTP still has threads
        held.pop().close()
        for _ in range(20):  # the closed socket's slot comes back once its handler has finished
            try:
                ws = rep_socket(base, session)
                next_message(ws, "hello", timeout=10)
                break
            except (ConnectionClosed, AssertionError):  # refused while the slot was still held
                time.sleep(0.5)
        else:
            raise AssertionError("a freed slot was never given to a new socket")
        held.append(ws)
    finally:
        for ws in held:  # their client threads would keep pytest from exiting
            with contextlib.suppress(ConnectionClosed):
                ws.close()
        stop(proc)


def test_without_a_limit_set_a_process_keeps_threads_for_http(app, settings, rep):
    """deploy/gunicorn.conf.py derives WEBSOCKET_LIMIT from --threads: 4 threads hold 2 sockets."""
    proc, base = start_server(settings, threads=4, options=("-c", "deploy/gunicorn.conf.py"))
    try:
        session = logged_in(base, rep.email)
        held = [rep_socket(base, session), rep_socket(base, session)]
        for ws in held:
            next_message(ws, "hello", timeout=30)
        assert refused_with(ws_url(base) + "/realtime/rep", rep_headers(base, session)) == 1013
        with urllib.request.urlopen(base + "/widget/ping", timeout=30) as answer:
            assert answer.status == 200
        for ws in held:
            ws.close()
    finally:
        stop(proc)


def test_a_burst_waits_for_a_pooled_redis_connection(make_app):
    app = make_app(REDIS_MAX_CONNECTIONS=2, REDIS_POOL_TIMEOUT_SECONDS=30)
    redis, errors = app.extensions["redis"], []

    def work(i):
        try:
            for j in range(20):
                redis.set(f"burst:{i}:{j}", j)
                assert redis.blpop([f"nothing:{i}"], timeout=0.01) is None  # holds its connection a moment
        except Exception as e:  # noqa: BLE001 - the assertion below reports it
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert len(redis.keys("burst:*")) == 400
