"""Probes for load balancers and orchestrators, and the Prometheus scrape."""

import hmac
import ipaddress

import sqlalchemy as sa
from flask import current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.ops import bp, metrics, shutdown
from app.redis_store import get_redis


@bp.get("/healthz")
def healthz():
    """The process answers (liveness): nothing else is checked."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Ready for traffic: the database and Redis answer, and the node is not shutting down."""
    checks = {"database": _check_database(), "redis": _check_redis()}
    if shutdown.draining():
        checks["shutdown"] = "this node is shutting down"
    down = [name for name, result in checks.items() if result != "ok"]
    if not down:
        return jsonify({"status": "ready", "checks": checks})
    message = "Not ready: " + ", ".join(f"{name} ({checks[name]})" for name in down)
    return jsonify({"status": "unavailable", "down": down, "checks": checks,
                    "error": {"code": "not_ready", "message": message}}), 503


def _check_database() -> str:
    try:
        db.session.execute(sa.text("SELECT 1"))
        return "ok"
    except SQLAlchemyError as e:
        db.session.rollback()
        return f"unreachable: {type(e.__cause__ or e).__name__}"


def _check_redis() -> str:
    import redis

    try:
        get_redis().ping()
        return "ok"
    except redis.RedisError as e:
        return f"unreachable: {type(e).__name__}"


@bp.get("/metrics")
def scrape():
    """Prometheus text format, for a scraper with the token or on an allowed network."""
    if not _may_scrape():
        return jsonify({"error": {"code": "forbidden",
                                  "message": "Metrics need the METRICS_TOKEN or an allowed network."}}), 403
    collector = metrics.DeploymentCollector(db.session, get_redis())
    body = metrics.exposition(current_app.config["PROMETHEUS_MULTIPROC_DIR"], collector)
    return body, 200, {"Content-Type": "text/plain; version=0.0.4; charset=utf-8",
                       "Cache-Control": "no-store"}


def _may_scrape() -> bool:
    token = current_app.config["METRICS_TOKEN"]
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    try:
        client = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(net, strict=False)
               for net in current_app.config["METRICS_ALLOWED_NETWORKS"])


def count_request(response):
    """Every answered request, by its route pattern (bounded labels) and status."""
    rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
    metrics.observe_request(rule, request.method, response.status_code)
    return response
