"""Prometheus metrics.

Two kinds. What happens inside one process (requests, open rep sockets, ring latency) is counted
by prometheus-client; under gunicorn with several workers set PROMETHEUS_MULTIPROC_DIR (the
deploy/ units and `make run` do) so one scrape sums every worker of the node. What the whole
deployment owns (calls by outcome, webhook deliveries, queue lag, failed jobs) lives in the
database and Redis, so it is read there at scrape time: any node answers for all of them.
"""

import time
from datetime import datetime

import sqlalchemy as sa
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import REGISTRY

REQUESTS = Counter("converc_http_requests", "HTTP requests answered, by route and status",
                   ["route", "method", "status"])
REP_SOCKETS = Gauge("converc_rep_sockets", "Open rep dashboard sockets", multiprocess_mode="livesum")
CALL_SOCKETS = Gauge("converc_call_sockets", "Open call signalling sockets", multiprocess_mode="livesum")
RING_LATENCY = Histogram("converc_ring_latency_seconds",
                         "From the visitor's call request to the ring reaching a rep's socket",
                         buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


_request_counters: dict = {}  # (route, method, status) -> its child of REQUESTS: bounded like the labels


def observe_request(rule: str, method: str, status: int) -> None:
    # labels() validates and locks on every call; a counter, once made, is the same object
    counter = _request_counters.get((rule, method, status))
    if counter is None:
        counter = _request_counters[rule, method, status] = REQUESTS.labels(rule, method, str(status))
    counter.inc()


def observe_ring(requested_at_iso: str) -> None:
    requested = datetime.fromisoformat(requested_at_iso.replace("Z", "+00:00"))
    RING_LATENCY.observe(max(0.0, time.time() - requested.timestamp()))


class DeploymentCollector:
    """Calls, webhook deliveries, queue lag and failed jobs, read from the database and Redis."""

    def __init__(self, session, redis):
        self.session, self.redis = session, redis

    def collect(self):
        yield from self._calls()
        yield from self._webhooks()
        yield from self._jobs()

    def _calls(self):
        from app.models import Call

        family = CounterMetricFamily("converc_calls", "Calls by status and why they ended",
                                     labels=["status", "reason"])
        rows = self.session.execute(sa.select(Call.status, Call.end_reason, sa.func.count())
                                    .group_by(Call.status, Call.end_reason))
        for status, reason, count in rows:
            family.add_metric([status, reason or ""], count)
        yield family

    def _webhooks(self):
        from app.models.base import utcnow
        from app.models.webhooks import WebhookDelivery

        family = CounterMetricFamily("converc_webhook_deliveries", "Webhook deliveries by outcome",
                                     labels=["outcome"])
        for status, count in self.session.execute(sa.select(WebhookDelivery.status, sa.func.count())
                                                  .group_by(WebhookDelivery.status)):
            family.add_metric([status], count)
        yield family
        oldest = self.session.scalar(sa.select(sa.func.min(WebhookDelivery.next_attempt_at)).where(
            WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= utcnow()))
        lag = 0.0
        if oldest is not None:
            lag = max(0.0, (utcnow() - _aware(oldest)).total_seconds())
        yield GaugeMetricFamily("converc_webhook_queue_lag_seconds",
                                "How long the oldest delivery that is due has been waiting", value=lag)

    def _jobs(self):
        from rq import Queue
        from rq.registry import FailedJobRegistry

        queued = GaugeMetricFamily("converc_jobs_queued", "Jobs waiting in each RQ queue", labels=["queue"])
        failed = GaugeMetricFamily("converc_jobs_failed", "Failed jobs kept in each queue's failed registry",
                                   labels=["queue"])
        for queue in Queue.all(connection=self.redis):
            queued.add_metric([queue.name], queue.count)
            failed.add_metric([queue.name], FailedJobRegistry(queue=queue).count)
        yield queued
        yield failed


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def exposition(multiproc_dir: str, deployment: DeploymentCollector) -> bytes:
    """The text format: this node's process metrics (all its workers) and the deployment's."""
    registry = CollectorRegistry()
    if multiproc_dir:
        multiprocess.MultiProcessCollector(registry, path=multiproc_dir)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
        registry = CollectorRegistry()
    registry.register(deployment)
    return body + generate_latest(registry)
