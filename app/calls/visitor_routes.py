"""The visitor's side, called from the customer's page by call.js (CORS, no cookies)."""

import sqlalchemy as sa
from flask import current_app, jsonify, request, url_for
from werkzeug.exceptions import HTTPException

from app.calls import service, visitor_bp
from app.calls.ice import ice_servers
from app.calls.tokens import load_call_token, sign_call_token
from app.events import iso
from app.extensions import db, limiter
from app.geo import client_ip, visitor_location
from app.models import Call, Site
from app.models.widget import settings_for
from app.widget.tokens import load_qualification

LIMITS = {"fingerprint": 128, "name": 120, "email": 254, "phone": 40, "pageUrl": 2000}


def error(status: int, code: str, message: str):
    return jsonify({"error": {"code": code, "message": message}}), status


@visitor_bp.after_request
def cors(response):
    # any customer site may call these: they carry no cookies, only keys and signed tokens
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization"
    response.headers["Access-Control-Expose-Headers"] = "Retry-After, X-Request-Id"
    response.headers["Access-Control-Max-Age"] = "600"
    return response


ERROR_CODES = {400: "invalid_input", 404: "not_found", 405: "method_not_allowed", 429: "rate_limited",
               500: "server_error"}


def http_error(e: HTTPException):
    messages = {429: "Too many call requests. Try again later.", 500: "Server error. Try again."}
    return error(e.code, ERROR_CODES[e.code], messages.get(e.code, e.description))


# by status code: the app's HTML error pages are registered by code and would win over a class handler
for _code in ERROR_CODES:
    visitor_bp.register_error_handler(_code, http_error)


def _site_key() -> str:
    body = request.get_json(silent=True) or {}
    return f"site:{body.get('publicKey', '')}"


def _text(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > LIMITS.get(key, 500):
        raise ValueError(key)
    return value.strip()


@visitor_bp.post("/widget/calls")
@limiter.limit(lambda: current_app.config["CALL_RATE_LIMIT_PER_IP"], methods=["POST"], scope="calls-ip")
@limiter.limit(lambda: current_app.config["CALL_RATE_LIMIT_PER_SITE"], methods=["POST"],
               key_func=_site_key, scope="calls-site")
def create():
    """Request a call: the qualified visitor enters the queue and the available reps ring."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "invalid_input", "Send a JSON object.")
    site = db.session.scalar(sa.select(Site).where(Site.public_key == str(body.get("publicKey", ""))))
    if site is None:
        return error(404, "site_not_found", "No site has this public key.")
    qualification = load_qualification(str(body.get("qualificationToken") or ""), str(site.id))
    if qualification is None:
        return error(400, "invalid_qualification", "The qualification expired: answer the questions again.")
    try:
        details = _visitor_details(body)
    except ValueError as e:
        return error(400, "invalid_input", f"{e.args[0]} is not valid.")
    try:
        call = service.request_call(site, qualification=qualification, location=visitor_location(),
                                    ip=client_ip(), **details)
    except service.CallError as e:
        return error(e.status, e.code, e.message)
    return jsonify(_call_response(call, site)), 201


def _visitor_details(body: dict) -> dict:
    fingerprint = _text(body, "fingerprint")
    if not fingerprint:
        raise ValueError("fingerprint")
    contact = body.get("contact") or {}
    attributes = body.get("attributes") or {}
    if not isinstance(contact, dict) or not isinstance(attributes, dict) or len(str(attributes)) > 4000:
        raise ValueError("contact" if not isinstance(contact, dict) else "attributes")
    media_type = body.get("mediaType")
    if media_type not in (None, "video", "audio"):
        raise ValueError("mediaType")
    # the visitor's tick in the widget's recording consent box (sites that ask for consent)
    consent = body.get("recordingConsent", False)
    if not isinstance(consent, bool):
        raise ValueError("recordingConsent")
    return {"fingerprint": fingerprint, "media_type": media_type, "page_url": _text(body, "pageUrl"),
            "recording_consent": consent,
            "attributes": attributes,
            "contact": {key: _text(contact, key) for key in ("name", "email", "phone")}}


def _call_response(call: Call, site: Site) -> dict:
    token = sign_call_token(call.id, "visitor")
    return {
        "call": {"id": str(call.id), "status": call.status, "mediaType": call.media_type,
                 "requestedAt": iso(call.requested_at),
                 "ringTimeoutSeconds": settings_for(site).ring_timeout_seconds,
                 "recordingPolicy": call.recording_policy, "recordingConsent": call.recording_consent},
        "token": token,
        "socketUrl": url_for("realtime.call_socket", token=token, _external=True)
        .replace("http://", "ws://", 1).replace("https://", "wss://", 1),
        "cancelUrl": url_for("call_requests.cancel", call_id=call.id, _external=True),
        "hangupUrl": url_for("call_requests.hangup", call_id=call.id, _external=True),
        "iceServers": ice_servers(f"visitor-{call.id}"),
        # missed at once (nobody available): the screen says when someone is next expected
        "nextAvailableAt": service.next_available_at(call.organization_id)
        if call.status == "missed" else None,
    }


def _visitor_call(call_id):
    """The call this request's visitor token opens, or None (sent as JSON, text/plain or a header)."""
    body = request.get_json(silent=True, force=True) or {}
    header = request.headers.get("Authorization", "")
    token = header[7:] if header.startswith("Bearer ") else None
    if token is None and isinstance(body, dict):
        token = body.get("token")
    claims = load_call_token(token)
    if not claims or claims["s"] != "visitor" or claims["c"] != str(call_id):
        return None
    return db.session.get(Call, call_id)


@visitor_bp.post("/widget/calls/<uuid:call_id>/cancel")
def cancel(call_id):
    """The visitor leaves the queue (also sent by sendBeacon on page exit). Had a rep just
    accepted, the visitor is gone all the same: the call ends rather than waiting for them."""
    call = _visitor_call(call_id)
    if call is None:
        return error(404, "call_not_found", "No such call for this token.")
    service.hang_up(call.id, "visitor")
    return jsonify({"call": {"id": str(call_id), "status": service.current_status(call_id)}})


@visitor_bp.post("/widget/calls/<uuid:call_id>/hangup")
def hangup(call_id):
    """The visitor hangs up: ends the call, or cancels it while it still rings."""
    call = _visitor_call(call_id)
    if call is None:
        return error(404, "call_not_found", "No such call for this token.")
    service.hang_up(call.id, "visitor")
    return jsonify({"call": {"id": str(call_id), "status": service.current_status(call_id)}})
