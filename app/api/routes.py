"""The webhooks API exactly as the product doc shows it, and events polling."""

import uuid

from flask import jsonify, request

from app.api import bp
from app.api.auth import require_api_key, require_webhooks_enabled
from app.api.errors import ApiError
from app.api.openapi import document
from app.events import EVENT_TYPES
from app.extensions import db
from app.models import Event, WebhookEndpoint
from app.tenancy import current_organization_id, org_select
from app.webhooks import service

MAX_DISPLAY = 100


def _json_object() -> dict:
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_request", "The body must be a JSON object.")
    return data


def _endpoint_or_404(webhook_id) -> WebhookEndpoint:
    try:
        wanted = uuid.UUID(str(webhook_id))
    except ValueError:
        wanted = None
    endpoint = wanted and db.session.scalar(org_select(WebhookEndpoint).where(WebhookEndpoint.id == wanted))
    if not endpoint:
        raise ApiError(404, "not_found", f"Webhook {webhook_id} not found.")
    return endpoint


@bp.post("/integrations/webhooks")
@require_api_key("webhooks:write")
@require_webhooks_enabled
def webhooks_create():
    """Register an endpoint; the secret is in this response only."""
    data = _json_object()
    try:
        endpoint, secret = service.create_endpoint(
            current_organization_id(), data.get("url"), data.get("events"), source="api")
    except service.InvalidWebhook as e:
        raise ApiError(400, "invalid_request", str(e)) from e
    return jsonify({"webhook": service.to_json(endpoint), "secret": secret}), 201


@bp.get("/integrations/webhooks")
@require_api_key("webhooks:read")
@require_webhooks_enabled
def webhooks_list():
    """Every endpoint of the organization, active or not."""
    endpoints = db.session.scalars(org_select(WebhookEndpoint).order_by(WebhookEndpoint.created_at))
    return jsonify({"webhooks": [service.to_json(e) for e in endpoints]})


@bp.get("/integrations/webhooks/<webhook_id>")
@require_api_key("webhooks:read")
@require_webhooks_enabled
def webhooks_show(webhook_id):
    """One endpoint."""
    return jsonify({"webhook": service.to_json(_endpoint_or_404(webhook_id))})


@bp.delete("/integrations/webhooks/<webhook_id>")
@require_api_key("webhooks:write")
@require_webhooks_enabled
def webhooks_delete(webhook_id):
    """Disable an endpoint: nothing more is sent to it (its delivery log stays)."""
    endpoint = _endpoint_or_404(webhook_id)
    service.disable(endpoint, "Disabled through the API.")
    return jsonify({"ok": True, "webhookId": str(endpoint.id), "isActive": False})


@bp.post("/integrations/webhooks/test")
@require_api_key("webhooks:write")
@require_webhooks_enabled
def webhooks_test():
    """Deliver a webhook.test event to one endpoint now and report how it answered."""
    webhook_id = _json_object().get("webhookId")
    if not isinstance(webhook_id, str) or not webhook_id:
        raise ApiError(400, "invalid_request", "webhookId is required.")
    delivery = service.send_test(_endpoint_or_404(webhook_id))
    return jsonify({"ok": delivery.status == "succeeded", "status": delivery.last_status_code,
                    "error": delivery.last_error})


@bp.get("/webhooks/events")
@require_api_key("events:read")
@require_webhooks_enabled
def events_recent():
    """The most recent events of a type, newest first, in the webhook envelope (polling, Zapier)."""
    event_type, display = request.args.get("eventType"), request.args.get("display", "10")
    if event_type is not None and event_type not in EVENT_TYPES:
        raise ApiError(400, "invalid_request", f"eventType must be one of: {', '.join(EVENT_TYPES)}.")
    if not display.isdigit() or not 1 <= int(display) <= MAX_DISPLAY:
        raise ApiError(400, "invalid_request", f"display must be a number from 1 to {MAX_DISPLAY}.")
    query = org_select(Event).order_by(Event.created_at.desc(), Event.id.desc()).limit(int(display))
    if event_type:
        query = query.where(Event.type == event_type)
    return jsonify([e.envelope() for e in db.session.scalars(query)])


@bp.get("/api/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(document())


