"""Operations endpoints: liveness, readiness naming what is down, and the Prometheus scrape
with its access rule (token, or an allowed network)."""

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from app.events import record_event
from app.extensions import db
from app.webhooks import service as webhooks
from tests.calls_support import call_body, make_site
from tests.conftest import free_port


def samples(text: str) -> dict:
    """{(name, frozenset(labels)): value} of a scrape."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def test_healthz_and_readyz_when_everything_answers(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


def test_readyz_names_redis_when_it_is_down(app, client):
    real = app.extensions["redis"]
    app.extensions["redis"] = redis.Redis(port=free_port(), socket_connect_timeout=1)  # nobody listens
    try:
        response = client.get("/readyz")
    finally:
        app.extensions["redis"] = real
    assert response.status_code == 503
    body = response.get_json()
    assert body["down"] == ["redis"] and body["checks"]["database"] == "ok"
    assert body["error"]["code"] == "not_ready" and "redis" in body["error"]["message"]


def test_readyz_names_the_database_when_it_is_down(settings, schema):
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    app = create_app({**settings, "SQLALCHEMY_DATABASE_URI": dead,
                      "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}}})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["down"] == ["database"]
    assert response.get_json()["checks"]["redis"] == "ok"


def test_readyz_says_when_the_node_is_shutting_down(client, monkeypatch):
    from app.ops import shutdown

    monkeypatch.setattr(shutdown, "draining", lambda: True)
    response = client.get("/readyz")
    assert response.status_code == 503 and response.get_json()["down"] == ["shutdown"]


@pytest.mark.parametrize(("config", "remote", "headers", "status"), [
    ({}, "127.0.0.1", {}, 200),                                           # loopback by default
    ({}, "203.0.113.5", {}, 403),
    ({"METRICS_ALLOWED_NETWORKS": ["10.0.0.0/8"]}, "10.1.2.3", {}, 200),  # the private network
    ({"METRICS_ALLOWED_NETWORKS": []}, "127.0.0.1", {}, 403),
    ({"METRICS_TOKEN": "s3cret", "METRICS_ALLOWED_NETWORKS": []}, "203.0.113.5",
     {"Authorization": "Bearer s3cret"}, 200),
    ({"METRICS_TOKEN": "s3cret", "METRICS_ALLOWED_NETWORKS": []}, "203.0.113.5",
     {"Authorization": "Bearer wrong"}, 403),
])
def test_metrics_access(make_app, config, remote, headers, status):
    app = make_app(**config)
    with app.app_context():
        response = app.test_client().get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": remote})
    assert response.status_code == status
    if status == 403:
        assert response.get_json()["error"]["code"] == "forbidden"


def test_metrics_count_requests_calls_deliveries_and_lag(make_app, admin):
    app = make_app(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8"])
    with app.app_context():
        _metrics_count_everything(app.test_client(), admin)


def _metrics_count_everything(client, admin):
    site = make_site(admin.organization_id, "shop.example.com")
    before = samples(client.get("/metrics").get_data(as_text=True))
    client.get("/healthz")
    client.get("/no/such/page")
    # nobody is online: the call is missed at once
    assert client.post("/widget/calls", json=call_body(site)).status_code == 201
    hook = f"http://127.0.0.1:{free_port()}/hook"
    webhooks.create_endpoint(admin.organization_id, hook, None, source="api")
    record_event(admin.organization_id, "call.ended", {"call": {"id": "c1", "status": "ended"}})
    db.session.commit()
    scrape = client.get("/metrics")
    assert scrape.headers["Content-Type"].startswith("text/plain")
    after = samples(scrape.get_data(as_text=True))

    def grew(name, **labels):
        key = (name, frozenset(labels.items()))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("converc_http_requests_total", route="/healthz", method="GET", status="200") == 1
    assert grew("converc_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert grew("converc_http_requests_total", route="/widget/calls", method="POST", status="201") == 1
    assert grew("converc_calls_total", status="missed", reason="no_one_available") == 1
    assert grew("converc_webhook_deliveries_total", outcome="pending") == 1
    assert after[("converc_webhook_queue_lag_seconds", frozenset())] >= 0
    for name, labels in [("converc_jobs_failed", {"queue": "default"}), ("converc_rep_sockets", {}),
                         ("converc_ring_latency_seconds_count", {})]:
        assert (name, frozenset(labels.items())) in after
