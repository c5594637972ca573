"""The webhooks API exactly as the product doc shows it, and events polling."""


from flask import jsonify, request, url_for

from app.api import bp, pagination
from app.api.auth import require_api_key, require_webhooks_enabled
from app.api.errors import ApiError
from app.api.openapi import document
from app.api.v1.common import json_body, org_object_or_404
from app.events import event_types, iso
from app.extensions import db
from app.models import Event, WebhookEndpoint
from app.tenancy import current_organization_id, org_select
from app.webhooks import service

MAX_DISPLAY = 100


def _endpoint_or_404(webhook_id) -> WebhookEndpoint:
    # the seed's message: "Webhook <id> not found."
    return org_object_or_404(WebhookEndpoint, webhook_id, "Webhook")


@bp.post("/integrations/webhooks")
@require_api_key("webhooks:write")
@require_webhooks_enabled
def webhooks_create():
    """Register an endpoint; the secret is in this response only."""
    data = json_body()
    try:
        endpoint, secret = service.create_endpoint(
            current_organization_id(), data.get("url"), data.get("events"), source="api",
            sites=data.get("sites"))
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


@bp.patch("/integrations/webhooks/<webhook_id>")
@require_api_key("webhooks:write")
@require_webhooks_enabled
def webhooks_update(webhook_id):
    """Change an endpoint's url, events, sites, or switch it on and off (`enabled`)."""
    endpoint = _endpoint_or_404(webhook_id)
    try:
        service.update_endpoint(endpoint, json_body())
    except service.InvalidWebhook as e:
        raise ApiError(400, "invalid_request", str(e)) from e
    return jsonify({"webhook": service.to_json(endpoint)})


@bp.post("/integrations/webhooks/<webhook_id>/roll-secret")
@require_api_key("webhooks:write")
@require_webhooks_enabled
def webhooks_roll_secret(webhook_id):
    """A new signing secret; the old one keeps signing beside it for `overlapHours` (default 24, 0-168)."""
    endpoint = _endpoint_or_404(webhook_id)
    overlap = json_body().get("overlapHours", 24) if request.get_data() else 24
    if type(overlap) is not int or not 0 <= overlap <= 168:
        raise ApiError(400, "invalid_request", "overlapHours must be a whole number of hours from 0 to 168.")
    secret = service.roll_secret(endpoint, overlap)
    return jsonify({"webhook": service.to_json(endpoint), "secret": secret,
                    "previousSecretExpiresAt": iso(endpoint.previous_secret_expires_at)})


@bp.post("/integrations/webhooks/test")
@require_api_key("webhooks:write")
@require_webhooks_enabled
def webhooks_test():
    """Deliver a webhook.test event to one endpoint now and report how it answered."""
    webhook_id = json_body().get("webhookId")
    if not isinstance(webhook_id, str) or not webhook_id:
        raise ApiError(400, "invalid_request", "webhookId is required.")
    delivery = service.send_test(_endpoint_or_404(webhook_id))
    return jsonify({"ok": delivery.status == "succeeded", "status": delivery.last_status_code,
                    "error": delivery.last_error})


@bp.get("/webhooks/events")
@require_api_key("events:read")
@require_webhooks_enabled
def events_recent():
    """Recent events, newest first, in the webhook envelope (polling, Zapier); `cursor` goes further back.

    The body stays the documented array; the next page's cursor is in `Link: <…>; rel="next"`
    and `X-Next-Cursor` (absent on the last page).
    """
    event_type = request.args.get("eventType")
    if event_type is not None and event_type not in event_types():
        raise ApiError(400, "invalid_request", f"eventType must be one of: {', '.join(event_types())}.")
    display = pagination.limit_arg(request.args, default=10, maximum=MAX_DISPLAY, name="display")
    query = org_select(Event)
    if event_type:
        query = query.where(Event.type == event_type)
    query = pagination.after(query, Event.created_at, Event.id, request.args.get("cursor"), descending=True)
    events, next_cursor = pagination.page(db.session, query, "created_at", display)
    response = jsonify([e.envelope() for e in events])
    if next_cursor:
        response.headers["X-Next-Cursor"] = next_cursor
        args = {**request.args.to_dict(), "cursor": next_cursor}
        url = url_for("api.events_recent", _external=True, **args)
        response.headers["Link"] = f'<{url}>; rel="next"'
    return response


@bp.get("/api/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(document())


