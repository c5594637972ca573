"""The OpenAPI 3.1 document of the REST API. tests/test_api.py validates real responses against it."""

from flask import current_app, request

from app.api import openapi_v1 as v1
from app.events import registered
from app.models.webhooks import API_SCOPES

TS = {"type": "string", "format": "date-time", "examples": ["2024-01-01T00:00:00.000Z"]}
NULLABLE_TS = {"type": ["string", "null"], "format": "date-time"}


def _error_response(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


ERRORS = {
    "400": _error_response("Invalid input: malformed payload, invalid query params or webhook URL."),
    "401": _error_response("The API key is missing or invalid."),
    "403": _error_response("Webhooks are not enabled for the organization, or the key lacks a scope."),
    "429": _error_response("Too many requests for this key; see Retry-After."),
    "500": _error_response("Server error; quote the X-Request-Id response header to support."),
}
NOT_FOUND = {"404": _error_response("Webhook not found.")}

SCHEMAS = {
    "Error": {
        "type": "object", "required": ["error"], "additionalProperties": False,
        "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                           "requestId": {"type": ["string", "null"]}}}},
    },
    "Webhook": {
        "type": "object", "additionalProperties": False,
        "required": ["id", "url", "events", "isActive", "createdAt", "updatedAt"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "url": {"type": "string", "format": "uri"},
            "events": {"type": "array", "items": {"$ref": "#/components/schemas/EventType"},
                       "description": "Event types delivered; empty means every type."},
            "isActive": {"type": "boolean"}, "createdAt": TS, "updatedAt": TS,
            "sites": {"type": "array", "items": {"type": "string", "format": "uuid"},
                      "description": "Present when set: only these sites' events "
                                     "(events of no site always)."},
        },
    },
    "WebhookCreate": {
        "type": "object", "required": ["url"],
        "properties": {"url": {"type": "string", "format": "uri", "maxLength": 2048},
                       "events": {"type": "array", "items": {"$ref": "#/components/schemas/EventType"}},
                       "sites": {"type": "array", "items": {"type": "string", "format": "uuid"}}},
    },
    "WebhookUpdate": {
        "type": "object", "additionalProperties": False,
        "properties": {"url": {"type": "string", "format": "uri", "maxLength": 2048},
                       "events": {"type": "array", "items": {"$ref": "#/components/schemas/EventType"}},
                       "sites": {"type": "array", "items": {"type": "string", "format": "uuid"}},
                       "enabled": {"type": "boolean"}},
    },
    "Event": {
        "type": "object", "required": ["id", "type", "createdAt", "organizationId", "data"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "type": {"$ref": "#/components/schemas/EventType"},
            "createdAt": TS, "organizationId": {"type": "string", "format": "uuid"},
            "data": {"type": "object", "description": "call, contact, qualificationAnswers, "
                                                      "transcript and recording, as documented."},
        },
    },
}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


WEBHOOK_ID = {"name": "webhookId", "in": "path", "required": True,
              "schema": {"type": "string", "format": "uuid"}}

PATHS = {
    "/integrations/webhooks": {
        "post": {
            "operationId": "createWebhook", "summary": "Create a webhook endpoint",
            "security": [{"apiKey": ["webhooks:write"]}], "parameters": [v1.IDEMPOTENCY_KEY],
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": _ref("WebhookCreate")}}},
            "responses": {"201": _json({
                "type": "object", "required": ["webhook", "secret"], "additionalProperties": False,
                "properties": {"webhook": _ref("Webhook"),
                               "secret": {"type": "string", "pattern": "^whsec_",
                                          "description": "Signing secret; returned only here."}}},
                "Created"), **ERRORS, **v1.IDEMPOTENCY_ERRORS},
        },
        "get": {
            "operationId": "listWebhooks", "summary": "List webhook endpoints",
            "security": [{"apiKey": ["webhooks:read"]}],
            "responses": {"200": _json({
                "type": "object", "required": ["webhooks"], "additionalProperties": False,
                "properties": {"webhooks": {"type": "array", "items": _ref("Webhook")}}}), **ERRORS},
        },
    },
    "/integrations/webhooks/{webhookId}": {
        "parameters": [WEBHOOK_ID],
        "get": {
            "operationId": "getWebhook", "summary": "Get a webhook endpoint",
            "security": [{"apiKey": ["webhooks:read"]}],
            "responses": {"200": _json({"type": "object", "required": ["webhook"],
                                        "properties": {"webhook": _ref("Webhook")}}), **ERRORS, **NOT_FOUND},
        },
        "patch": {
            "operationId": "updateWebhook", "summary": "Change url, events, sites, or enable / disable",
            "security": [{"apiKey": ["webhooks:write"]}], "parameters": [v1.IDEMPOTENCY_KEY],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref("WebhookUpdate"), "example": {"enabled": True, "events": ["call.ended"]}}}},
            "responses": {"200": _json({"type": "object", "required": ["webhook"],
                                        "additionalProperties": False,
                                        "properties": {"webhook": _ref("Webhook")}}),
                          **ERRORS, **NOT_FOUND, **v1.IDEMPOTENCY_ERRORS},
        },
        "delete": {
            "operationId": "disableWebhook", "summary": "Disable a webhook endpoint",
            "security": [{"apiKey": ["webhooks:write"]}],
            "responses": {"200": _json({
                "type": "object", "required": ["ok", "webhookId", "isActive"], "additionalProperties": False,
                "properties": {"ok": {"const": True}, "webhookId": {"type": "string", "format": "uuid"},
                               "isActive": {"const": False}}}), **ERRORS, **NOT_FOUND},
        },
    },
    "/integrations/webhooks/{webhookId}/roll-secret": {
        "parameters": [WEBHOOK_ID],
        "post": {
            "operationId": "rollWebhookSecret",
            "summary": "A new signing secret; the old one also signs for overlapHours (default 24)",
            "security": [{"apiKey": ["webhooks:write"]}], "parameters": [v1.IDEMPOTENCY_KEY],
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object",
                "properties": {"overlapHours": {"type": "integer", "minimum": 0, "maximum": 168}}},
                "example": {"overlapHours": 24}}}},
            "responses": {"200": _json({
                "type": "object", "required": ["webhook", "secret", "previousSecretExpiresAt"],
                "additionalProperties": False,
                "properties": {"webhook": _ref("Webhook"), "secret": {"type": "string", "pattern": "^whsec_"},
                               "previousSecretExpiresAt": NULLABLE_TS}}),
                **ERRORS, **NOT_FOUND, **v1.IDEMPOTENCY_ERRORS},
        },
    },
    "/integrations/webhooks/test": {
        "post": {
            "operationId": "testWebhook", "summary": "Send a webhook.test event to an endpoint now",
            "security": [{"apiKey": ["webhooks:write"]}], "parameters": [v1.IDEMPOTENCY_KEY],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["webhookId"],
                "properties": {"webhookId": {"type": "string", "format": "uuid"}}}}}},
            "responses": {"200": _json({
                "type": "object", "required": ["ok", "status", "error"], "additionalProperties": False,
                "properties": {"ok": {"type": "boolean"},
                               "status": {"type": ["integer", "null"], "description": "HTTP status received"},
                               "error": {"type": ["string", "null"]}}}),
                **ERRORS, **NOT_FOUND, **v1.IDEMPOTENCY_ERRORS},
        },
    },
    "/webhooks/events": {
        "get": {
            "operationId": "listRecentEvents", "summary": "Recent events of a type, newest first (polling)",
            "security": [{"apiKey": ["events:read"]}],
            "parameters": [
                {"name": "eventType", "in": "query", "required": False, "schema": _ref("EventType")},
                {"name": "display", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}},
                {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": "X-Next-Cursor of the previous page: older events, past the first 100"},
            ],
            "responses": {"200": {**_json({"type": "array", "items": _ref("Event")}), "headers": {
                "X-Next-Cursor": {"schema": {"type": "string"}, "description": "absent on the last page"},
                "Link": {"schema": {"type": "string"}, "description": '<next page URL>; rel="next"'}}},
                **ERRORS},
        },
    },
}


def _event_schemas() -> dict:
    """EventType (every registered type) and one envelope schema per type, from the registry."""
    schemas = {"EventType": {"type": "string", "enum": [e.type for e in registered()]}}
    for e in registered():
        schemas[_event_schema_name(e.type)] = {
            "description": e.description, "type": "object", "additionalProperties": False,
            "required": ["id", "type", "createdAt", "organizationId", "data"],
            "properties": {"id": {"type": "string", "format": "uuid"}, "type": {"const": e.type},
                           "createdAt": TS, "organizationId": {"type": "string", "format": "uuid"},
                           "data": e.schema}}
    return schemas


def _event_schema_name(type_: str) -> str:
    return "Event_" + type_.replace(".", "_")


def _webhooks() -> dict:
    """OpenAPI 3.1 `webhooks`: what we POST to your endpoint, one entry per event type."""
    return {e.type: {"post": {
        "summary": e.description, "operationId": "event_" + e.type.replace(".", "_"),
        "parameters": [{"name": n, "in": "header", "required": True, "schema": {"type": "string"}}
                       for n in ("X-IC-Signature", "X-IC-Event", "X-IC-Id")],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": _ref(_event_schema_name(e.type))}}},
        "responses": {"2XX": {"description": "Any 2xx within 8 s is a success."}}}} for e in registered()}


def document() -> dict:
    base = current_app.config.get("BASE_URL") or request.host_url.rstrip("/")
    return {
        "openapi": "3.1.0",
        "info": {"title": "Converc API", "version": "1.0.0",
                 "description": "Webhook endpoints and events. Authenticate with "
                                "`Authorization: Bearer <API key>` (Settings → Integrations → API Keys). "
                                "Every response carries an X-Request-Id header."},
        "servers": [{"url": base}],
        "paths": {**PATHS, **v1.PATHS},
        "webhooks": _webhooks(),
        "components": {
            "schemas": {**SCHEMAS, **v1.SCHEMAS, **_event_schemas()},
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                           "description": "Scopes: " + ", ".join(API_SCOPES)}},
        },
        "security": [{"apiKey": []}],
    }
