"""The widget's "leave your details": POST /widget/callbacks from the customer's page (CORS)."""

import sqlalchemy as sa
from flask import jsonify, make_response, request

from app.callbacks import service, visitor_bp
from app.extensions import db
from app.geo import client_ip, visitor_location
from app.models import Site
from app.models.widget import theme_for
from app.routing import limits
from app.widget.tokens import load_qualification

VISITOR_REASONS = ("no_one_available", "chose")


def error(status: int, code: str, message: str, **extra):
    return jsonify({"error": {"code": code, "message": message, **extra}}), status


@visitor_bp.after_request
def cors(response):
    # like /widget/calls: no cookies, only a public key and signed tokens
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = "600"
    return response


@visitor_bp.route("/widget/callbacks", methods=["POST", "OPTIONS"])
def create():
    """Leave details for a callback: after a missed call, when nobody is available, or when the
    qualification asks for details. Stored with the visitor's answers; callback.requested sent."""
    if request.method == "OPTIONS":
        return make_response("", 204)
    body = request.get_json(force=True, silent=True)  # text/plain JSON spares a preflight
    if not isinstance(body, dict):
        return error(400, "invalid_input", "Send a JSON object.")
    site = db.session.scalar(sa.select(Site).where(Site.public_key == str(body.get("publicKey", ""))))
    if site is None:
        return error(404, "site_not_found", "No site has this public key.")
    fingerprint = body.get("fingerprint")
    if not isinstance(fingerprint, str) or not 0 < len(fingerprint) <= 128:
        return error(400, "invalid_input", "fingerprint is not valid.")
    qualification, refused = _qualification(body, site, fingerprint)
    if refused:
        return refused
    details = service.check_details(body)
    if details.errors:
        return error(400, "invalid_details", "Some details need attention.", fields=details.errors)
    if not limits.take_callback(client_ip()):
        return error(429, "rate_limited", "Too many requests from this address. Try again later.")
    callback = service.request_callback(
        site, fingerprint=fingerprint, details=details, qualification=qualification,
        call=service.missed_call(site, fingerprint, body.get("callId")), attributes=_attributes(body),
        page_url=_page_url(body), location=visitor_location(), visitor_reason=_visitor_reason(body))
    return jsonify(_response(site, callback)), 201


def _qualification(body: dict, site, fingerprint: str):
    """(the token's payload or None, an error response or None)."""
    token = body.get("qualificationToken")
    if not token:
        return None, None
    qualification = load_qualification(str(token), str(site.id))
    if qualification is None or qualification.get("fingerprint") not in (None, fingerprint):
        return None, error(400, "invalid_qualification", "The qualification expired: answer again.")
    return qualification, None


def _attributes(body: dict) -> dict:
    attributes = body.get("attributes")
    return attributes if isinstance(attributes, dict) and len(str(attributes)) <= 4000 else {}


def _page_url(body: dict) -> str | None:
    url = body.get("pageUrl")
    return url[:2000] if isinstance(url, str) and url else None


def _visitor_reason(body: dict) -> str | None:
    return body.get("reason") if body.get("reason") in VISITOR_REASONS else None


def _response(site, callback) -> dict:
    """What the widget shows: exactly what happens next."""
    window = service.WINDOWS[callback.preferred_window][0].lower()
    copy = theme_for(site).copy_with_defaults()
    reach = callback.phone or callback.email
    return {
        "callback": {"id": str(callback.id), "status": callback.status,
                     "preferredWindow": callback.preferred_window, "dueAt": callback.due_at.isoformat()},
        "message": copy["callbackThanks"],
        "next": f"Someone from our team will contact you at {reach}, {window}.",
    }
