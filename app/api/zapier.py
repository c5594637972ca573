"""What Zapier's platform calls (REST hooks): the auth test, subscribe / unsubscribe, and samples.

Subscriptions are webhook endpoints of source `zapier`: signed, retried and logged like any other.
"""

import uuid

import sqlalchemy as sa
from flask import g, jsonify, request

from app.api import bp
from app.api.auth import require_api_key, require_webhooks_enabled
from app.api.errors import ApiError
from app.api.v1.common import json_body
from app.events import iso, zapier_triggers
from app.extensions import db
from app.models import ApiKey, Event, Organization, WebhookEndpoint
from app.tenancy import current_organization_id, org_select
from app.webhooks import service
from app.webhooks.samples import sample_data

SAMPLES = 3


def _event_type(value) -> str:
    """A trigger key or an event type of the Zapier triggers (the registry's, app/events/registry.py)."""
    triggers = zapier_triggers()
    event_type = triggers.get(value, value) if isinstance(value, str) else None
    if event_type not in triggers.values():
        raise ApiError(400, "invalid_request", "event must be one of: " + ", ".join(triggers.values()) + ".")
    return event_type


@bp.get("/integrations/zapier/me")
@require_api_key()
def zapier_me():
    """Zapier's auth test: which organization (and key) this is, for the connection label."""
    org = db.session.get(Organization, g.api_organization_id)
    key = db.session.get(ApiKey, g.api_key_id)
    return jsonify(
        {
            "organization": {"id": str(org.id), "name": org.name},
            "apiKey": {"name": key.name, "prefix": key.prefix, "scopes": list(key.scopes)},
        }
    )


@bp.post("/integrations/zapier/subscriptions")
@require_api_key("webhooks:write")
@require_webhooks_enabled
def zapier_subscribe():
    """performSubscribe: Zapier's target URL receives every event of one type."""
    data = json_body()
    event_type = _event_type(data.get("event"))
    try:
        endpoint, _ = service.create_endpoint(
            current_organization_id(),
            data.get("targetUrl"),
            [event_type],
            source="zapier",
            description=f"Zapier: {event_type}",
        )
    except service.InvalidWebhook as e:
        raise ApiError(400, "invalid_request", str(e).replace("url ", "targetUrl ", 1)) from e
    return jsonify(_subscription(endpoint)), 201


def _subscription(endpoint: WebhookEndpoint) -> dict:
    return {
        "id": str(endpoint.id),
        "event": endpoint.events[0],
        "targetUrl": endpoint.url,
        "createdAt": iso(endpoint.created_at),
    }


@bp.delete("/integrations/zapier/subscriptions/<subscription_id>")
@require_api_key("webhooks:write")
def zapier_unsubscribe(subscription_id):
    """performUnsubscribe: the Zap was turned off or deleted."""
    try:
        wanted = uuid.UUID(subscription_id)
    except ValueError:
        wanted = None
    endpoint = wanted and db.session.scalar(
        org_select(WebhookEndpoint).where(WebhookEndpoint.id == wanted, WebhookEndpoint.source == "zapier")
    )
    if not endpoint:
        raise ApiError(404, "not_found", f"Subscription {subscription_id} not found.")
    db.session.delete(endpoint)
    db.session.commit()
    return "", 204


@bp.get("/integrations/zapier/samples")
@require_api_key("events:read")
def zapier_samples():
    """performList ("Find new records"): the latest events of the type, or a sample while there is none."""
    event_type = _event_type(request.args.get("event"))
    events = db.session.scalars(
        org_select(Event)
        .where(Event.type == event_type)
        .order_by(Event.created_at.desc(), Event.id.desc())
        .limit(SAMPLES)
    ).all()
    if events:
        return jsonify([e.envelope() for e in events])
    return jsonify([_sample(event_type)])


def _sample(event_type: str) -> dict:
    return {
        "id": "00000000-0000-4000-8000-0000000000aa",
        "type": event_type,
        "createdAt": "2024-01-02T00:00:40.000Z",
        "organizationId": str(current_organization_id()),
        "data": sample_data(),
        "sample": True,
    }


def zapier_subscription_count(organization_id) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(WebhookEndpoint)
        .where(
            WebhookEndpoint.organization_id == organization_id,
            WebhookEndpoint.source == "zapier",
            WebhookEndpoint.is_active,
        )
    )
