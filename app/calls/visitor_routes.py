"""The visitor's side, called from the customer's page by call.js (CORS, no cookies)."""

from flask import current_app, jsonify, request, url_for
from werkzeug.exceptions import HTTPException

from app.calls import service, visitor_bp
from app.calls.ice import ice_servers, ice_transport_policy
from app.calls.tokens import load_call_token, sign_call_token
from app.events import iso
from app.extensions import db
from app.geo import client_ip, visitor_location
from app.models import Call
from app.models.widget import settings_for
from app.routing import limits, refusals
from app.routing import service as routing
from app.widget.service import lookup, site_by_public_key, site_entry
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


def _text(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > LIMITS.get(key, 500):
        raise ValueError(key)
    return value.strip()


@visitor_bp.post("/widget/calls")
def create():
    """Request a call: only with a qualification that allows one, for the contact it validated;
    the visitor enters the queue and the reps the routing picks ring. Each refusal is counted."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "invalid_input", "Send a JSON object.")
    try:
        details, invalid = _visitor_details(body), None
    except ValueError as e:
        details, invalid = None, e.args[0]
    public_key = str(body.get("publicKey", ""))
    entry = site_entry(public_key)
    site = service.CallSite.from_entry(entry) if entry is not None else _site_from_rows(public_key)
    if site is None:
        return error(404, "site_not_found", "No site has this public key.")
    if invalid is not None:
        return error(400, "invalid_input", f"{invalid} is not valid.")
    qualification = load_qualification(str(body.get("qualificationToken") or ""), str(site.id))
    refused = _refusal(qualification, details, body.get("contact"))
    if refused is not None:
        status, code, message = refused
        refusals.record_now(site, code, client_ip(), details["fingerprint"])
        return error(status, code, message)
    try:
        # the qualification's uses and the site's requests are counted in the request's one round
        # trip to Redis before the ring, with its lock and who can be rung
        counted = limits.CallRequestLimits(site, qualification.get("nonce"))
        call = service.request_call(site, qualification=qualification, location=visitor_location(),
                                    ip=client_ip(), contact=qualification["contact"], limits=counted,
                                    **details)
    except service.CallError as e:
        refusals.record_now(site, REFUSED_BY_SERVICE.get(e.code, e.code), client_ip(), details["fingerprint"])
        response, status = error(e.status, e.code, e.message)
        if e.retry_after is not None:
            response.headers["Retry-After"] = str(e.retry_after)
        return response, status
    if entry is None:
        lookup(public_key)  # after the ring: the site's entry, so the next request finds it
    return jsonify(_call_response(call, site.ring_timeout_seconds)), 201


REFUSED_BY_SERVICE = {"calls_paused": "paused", "call_in_progress": "call_in_progress",
                      "rate_limited": "rate_limited_site"}


def _site_from_rows(public_key: str) -> service.CallSite | None:
    """The site and its settings when neither this process nor Redis holds the site's entry (the
    widget's cache, which a call request reads so that no query comes before the ring)."""
    site = site_by_public_key(public_key)
    return service.CallSite.of(site) if site is not None else None


def _refusal(qualification, details: dict, sent_contact) -> tuple[int, str, str] | None:
    """(status, code, message) when the token or the contact sent may not ring anyone; else None.
    The limits are the service's (counted with the ring's reads)."""
    refused = routing.call_refusal(qualification, details["fingerprint"])
    if refused is None and not routing.same_contact(sent_contact, qualification["contact"]):
        refused = (400, "contact_not_validated",
                   "Send the contact details to /widget/qualify; the call takes the ones it checked.")
    return refused


def _visitor_details(body: dict) -> dict:
    fingerprint = _text(body, "fingerprint")
    if not fingerprint:
        raise ValueError("fingerprint")
    contact = body.get("contact") or {}
    attributes = body.get("attributes") or {}
    if not isinstance(contact, dict) or not isinstance(attributes, dict) or len(str(attributes)) > 4000:
        raise ValueError("contact" if not isinstance(contact, dict) else "attributes")
    if any(not isinstance(contact.get(k), str | None) for k in ("name", "email", "phone")):
        raise ValueError("contact")
    media_type = body.get("mediaType")
    if media_type not in (None, "video", "audio"):
        raise ValueError("mediaType")
    # the visitor's tick in the widget's recording consent box (sites that ask for consent)
    consent = body.get("recordingConsent", False)
    if not isinstance(consent, bool):
        raise ValueError("recordingConsent")
    return {"fingerprint": fingerprint, "media_type": media_type, "page_url": _text(body, "pageUrl"),
            "recording_consent": consent,
            "attributes": attributes}


def _call_response(call: Call, ring_timeout_seconds: int) -> dict:
    token = sign_call_token(call.id, "visitor")
    return {
        "call": {"id": str(call.id), "status": call.status, "mediaType": call.media_type,
                 "requestedAt": iso(call.requested_at),
                 "ringTimeoutSeconds": ring_timeout_seconds,
                 "recordingPolicy": call.recording_policy, "recordingConsent": call.recording_consent},
        "token": token,
        "socketUrl": url_for("realtime.call_socket", token=token, _external=True)
        .replace("http://", "ws://", 1).replace("https://", "wss://", 1),
        "cancelUrl": url_for("call_requests.cancel", call_id=call.id, _external=True),
        "hangupUrl": url_for("call_requests.hangup", call_id=call.id, _external=True),
        # after a reload or a move to another page of the site, the widget comes back through this
        "rejoinUrl": url_for("call_requests.rejoin", call_id=call.id, _external=True),
        "rejoinSeconds": current_app.config["CALL_REJOIN_SECONDS"],
        "iceServers": ice_servers(f"visitor-{call.id}"),
        "iceTransportPolicy": ice_transport_policy(),
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


@visitor_bp.post("/widget/calls/<uuid:call_id>/rejoin")
def rejoin(call_id):
    """The visitor's page was reloaded (or they opened another page of the site) mid-call: the
    widget found the call in sessionStorage and comes back to it. While the call still rings or
    runs (its grace, CALL_REJOIN_SECONDS, has not run out) it answers as /widget/calls did, with a
    fresh token and TURN credentials; a call that is over answers 410 with its final status."""
    call = _visitor_call(call_id)
    if call is None:
        return error(404, "call_not_found", "No such call for this token.")
    if call.status not in ("requested", "accepted"):
        return jsonify({"error": {"code": "call_over", "message": "This call is over."},
                        "call": {"id": str(call.id), "status": call.status}}), 410
    body = _call_response(call, settings_for(call.site).ring_timeout_seconds)
    answered_by = call.accepted_by if call.status == "accepted" else None
    body["call"]["repName"] = answered_by.name if answered_by else None
    return jsonify(body)


# why the visitor's browser gave up on a call it had requested (kept as the call's end_reason)
FAIL_REASONS = ("socket_blocked", "socket_closed", "socket_unreachable", "media_failed", "page_closed")


@visitor_bp.post("/widget/calls/<uuid:call_id>/fail")
def fail(call_id):
    """The visitor's browser could not carry the call (its signalling socket never connected or
    kept failing): the reps stop ringing, or the answered call ends, with the reason recorded."""
    call = _visitor_call(call_id)
    if call is None:
        return error(404, "call_not_found", "No such call for this token.")
    body = request.get_json(silent=True, force=True) or {}
    reason = body.get("reason") if isinstance(body, dict) else None
    if reason not in FAIL_REASONS:
        return error(400, "invalid_input", "reason must be one of: " + ", ".join(FAIL_REASONS) + ".")
    if service.current_status(call.id) == "requested":
        service.cancel(call.id, reason)
    else:
        service.end(call.id, reason)
    return jsonify({"call": {"id": str(call_id), "status": service.current_status(call_id)}})
