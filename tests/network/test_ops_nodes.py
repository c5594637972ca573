"""A web node under gunicorn with several workers: one scrape of /metrics sums every worker
(prometheus-client's multiprocess mode), and SIGTERM sends every open socket elsewhere (1012)
and ends the node well within 30 s."""

import signal
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from simple_websocket import ConnectionClosed

from app.extensions import db
from tests.calls_support import call_body, make_site
from tests.network.nodes import start_node, stop_node
from tests.test_realtime import logged_in, next_message, rep_socket


def scrape(base: str) -> dict:
    text = requests.get(base + "/metrics", timeout=10).text
    return {sample.name: sample.value for family in text_string_to_metric_families(text)
            for sample in family.samples if not sample.labels}


@pytest.fixture
def node(app, settings, tmp_path):
    proc, url = start_node(settings, workers=2, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    yield proc, url
    stop_node(proc)


def test_metrics_add_up_across_workers_and_sigterm_moves_sockets_away(node, admin, rep):
    proc, base = node
    site = make_site(admin.organization_id, "shop.example.com")
    rep.available = True
    db.session.commit()
    session = logged_in(base, rep.email)
    sockets = [rep_socket(base, session) for _ in range(6)]  # the two workers share them
    for ws in sockets:
        next_message(ws, "hello")
    assert requests.post(base + "/widget/calls", json=call_body(site)).status_code == 201
    for ws in sockets:
        next_message(ws, "ring")

    # whichever worker answers the scrape, it counts the sockets and rings of both
    for _ in range(4):
        figures = scrape(base)
        assert figures["converc_rep_sockets"] == 6
        assert figures["converc_ring_latency_seconds_count"] == 6

    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    for ws in sockets:
        with pytest.raises(ConnectionClosed) as closed:
            while time.monotonic() - started < 30:
                ws.receive(timeout=1)
        assert closed.value.reason == 1012  # "service restart": the browser reconnects elsewhere
    assert proc.wait(30) == 0
    assert time.monotonic() - started < 30
