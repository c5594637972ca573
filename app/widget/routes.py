"""Public endpoints called from customers' pages (CORS, no session, no CSRF)."""

import hashlib
import json
from urllib.parse import urlsplit

from flask import Response, current_app, jsonify, make_response, request, send_from_directory

from app.extensions import db
from app.geo import visitor_country
from app.models.widget import flow_for, settings_for, theme_for
from app.widget import bp
from app.widget.qualification import evaluate
from app.widget.ratelimit import retry_after_if_limited
from app.widget.service import (
    allowed_domains,
    asset_version,
    available_now,
    cached_entry,
    country_allowed,
    site_by_public_key,
)
from app.widget.tokens import sign_qualification

LOADER = "loader.js"
PAUSED = {"available": False, "nextAvailableAt": None}  # no schedule says when an admin resumes


def error(status: int, code: str, message: str, **extra):
    response = jsonify({"error": {"code": code, "message": message, **extra}})
    response.status_code = status
    return _cors(response)


def _cors(response):
    # error bodies and public data only: any page may read them; the domain check guards the rest
    response.headers["Access-Control-Allow-Origin"] = request.headers.get("Origin") or "*"
    response.headers["Vary"] = "Origin"
    return response


def _preflight():
    response = _cors(make_response("", 204))
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = "600"
    return response


@bp.before_request
def rate_limit():
    retry_after = retry_after_if_limited()
    if retry_after is not None:
        response = error(429, "rate_limited", "Too many requests from this address. "
                         f"Try again in {retry_after} seconds.")
        response.headers["Retry-After"] = str(retry_after)
        return response
    return None


def _script(filename: str, max_age: int):
    response = send_from_directory(current_app.static_folder + "/widget", filename, max_age=max_age,
                                   mimetype="text/javascript")
    response.headers["Cache-Control"] = f"public, max-age={max_age}, stale-while-revalidate=86400"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@bp.get("/widget.js")
def widget_script():
    """The loader and the floating badge (the flow loads on the first click)."""
    return _script(LOADER, current_app.config["WIDGET_SCRIPT_MAX_AGE"])


@bp.get("/embed.js")
def embed_script():
    """The same loader: it sees from its own URL that it renders inline, in data-ic-container."""
    return _script(LOADER, current_app.config["WIDGET_SCRIPT_MAX_AGE"])


@bp.get("/widget/flow.js")
def flow_script():
    """The visitor's flow; its URL carries the file's version, so a matching one is cached for a year."""
    fresh = request.args.get("v") == asset_version("flow.js")
    response = _script("flow.js", 31536000 if fresh else 60)
    if fresh:
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def _host(value: str | None) -> str:
    return (value or "").strip().lower().rstrip(".")


def _origin_host() -> str | None:
    origin = request.headers.get("Origin")
    return urlsplit(origin).hostname if origin and origin != "null" else None


def _domain_refused(domains: list[str], domain: str):
    """None when the page's domain (and its Origin, from a browser) is the site's; else the 403."""
    origin_host = _origin_host()
    if domain in domains and (origin_host is None or origin_host in domains):
        return None
    shown = domain or origin_host or "(none)"
    return error(403, "domain_not_allowed",
                 f"This widget's public key is registered for {domains[0]}, not {shown}. "
                 f"The domain must match exactly (www.{domains[0]} and {domains[0]} differ): "
                 "add it as an alias in Widget Settings.", registeredDomain=domains[0])


@bp.get("/widget/ping")
def ping():
    """A trivial JSON answer: checks this server is reachable (and is the benchmark's baseline)."""
    return _cors(jsonify({"ok": True}))


@bp.get("/widget/config")
def config():
    """Everything the widget needs; cached per site, revalidated with an ETag."""
    key, domain = request.args.get("public_key", "").strip(), _host(request.args.get("domain"))
    if not key:
        return error(400, "invalid_request", "The public_key query parameter is missing.")
    entry = cached_entry(key)
    if entry is None:
        return error(404, "site_not_found", "No site has this public key. Copy the snippet again "
                     "from Widget → Sites.")
    refused = _domain_refused(entry["domains"], domain)
    if refused is not None:
        return refused
    return _config_response(entry)


def _config_response(entry: dict):
    country = visitor_country()
    availability = PAUSED if entry["config"]["settings"]["paused"] else available_now(entry["organizationId"])
    show = country_allowed(entry["countries"], country)
    moment = json.dumps({"availability": availability,
                         "visitor": {"country": country}, "show": show}, separators=(",", ":"))
    etag = f"{entry['digest']}-{hashlib.sha256(moment.encode()).hexdigest()[:12]}"
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response("{" + entry["configJson"] + "," + moment[1:], mimetype="application/json")
    response.set_etag(etag)
    max_age = current_app.config["WIDGET_CONFIG_MAX_AGE"]
    # the answer depends on the visitor's country when the site limits countries: no shared caches
    scope = "private" if entry["countries"] else "public"
    response.headers["Cache-Control"] = f"{scope}, max-age={max_age}, stale-while-revalidate=60"
    return _cors(response)


@bp.route("/widget/qualify", methods=["POST", "OPTIONS"])
def qualify():
    """Check the visitor's answers and contact details; return the outcome and a signed token."""
    if request.method == "OPTIONS":
        return _preflight()
    # the widget posts text/plain JSON to spare the visitor a CORS preflight
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        return error(400, "invalid_request", "Send a JSON object.")
    site = site_by_public_key(str(data.get("publicKey") or ""))
    if site is None:
        return error(404, "site_not_found", "No site has this public key.")
    refused = _domain_refused(allowed_domains(site), _host(str(data.get("domain") or "")))
    if refused is not None:
        return refused
    return _qualify_site(site, data)


def _qualify_site(site, data: dict):
    flow, settings = flow_for(site), settings_for(site)
    result = evaluate(flow, settings, data.get("answers"), data.get("contact"))
    if result.errors:
        return error(400, "invalid_answers", "Some answers need attention.", fields=result.errors)
    outcome = "disqualified" if result.disqualified else "qualified"
    action = flow.disqualified_action if result.disqualified else "call"
    if action == "calendar" and not settings.calendar_url:
        action = "message"  # nothing to book: say so rather than show a dead button
    token = sign_qualification({"siteId": str(site.id), "flowId": str(flow.id) if flow.questions else None,
                                "outcome": outcome, "answers": result.answers})
    copy = theme_for(site).copy_with_defaults()
    body = {"outcome": outcome, "action": action, "message": copy["disqualified"] if result.disqualified
            else copy["ready"], "calendarUrl": settings.calendar_url or None,
            "qualificationToken": token, "answers": result.answers, "contact": result.contact}
    db.session.commit()  # the flow, settings or theme rows created with their defaults
    return _cors(jsonify(body))


