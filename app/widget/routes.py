"""Public endpoints called from customers' pages (CORS, no session, no CSRF)."""

import functools
import hashlib
import json
from urllib.parse import urlsplit

from flask import Response, current_app, jsonify, make_response, request

from app import i18n
from app.analytics import counters
from app.callbacks import service as callbacks
from app.extensions import db
from app.geo import client_ip, visitor_country, visitor_location
from app.models.widget import flow_for, settings_for, theme_for
from app.routing import limits
from app.routing import service as routing
from app.sites import seen
from app.widget import bp
from app.widget.qualification import evaluate
from app.widget.ratelimit import retry_after_if_limited
from app.widget.scripts import cross_origin_headers, script_response, versioned_cache_control
from app.widget.service import (
    allowed_domains,
    asset_version,
    country_allowed,
    lookup,
    site_by_public_key,
)

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


@bp.after_request
def cors_on_every_answer(response):
    # errors raised past the views (a 400 for bad JSON, a 413, a 503) must be readable by the widget too
    return response if "Access-Control-Allow-Origin" in response.headers else _cors(response)


@bp.before_request
def rate_limit():
    retry_after = retry_after_if_limited()
    if retry_after is not None:
        response = error(429, "rate_limited", "Too many requests from this address. "
                         f"Try again in {retry_after} seconds.")
        response.headers["Retry-After"] = str(retry_after)
        return response
    return None


def _loader():
    max_age = current_app.config["WIDGET_SCRIPT_MAX_AGE"]
    return script_response(LOADER, f"public, max-age={max_age}, stale-while-revalidate=86400")


@bp.get("/widget.js")
def widget_script():
    """The loader and the floating badge (the flow loads on the first click)."""
    return _loader()


@bp.get("/embed.js")
def embed_script():
    """The same loader: it sees from its own URL that it renders inline, in data-ic-container."""
    return _loader()


@bp.get("/widget/flow.js")
def flow_script():
    """The visitor's flow; its URL carries the file's version, so a matching one is cached for a year."""
    fresh = request.args.get("v") == asset_version("flow.js")
    return script_response("flow.js", versioned_cache_control(fresh))


@bp.get("/widget/call.js")
def call_script():
    """The call screens (loaded when the visitor calls): versioned like the flow."""
    fresh = request.args.get("v") == asset_version("call.js")
    return script_response("call.js", versioned_cache_control(fresh))


@bp.after_app_request
def static_widget_headers(response):
    # older configs and the flow's fallback name /static/widget/…: customer pages load those too
    if request.path.startswith("/static/widget/"):
        cross_origin_headers(response)
    return response


@bp.get("/widget/strings/<code>.json")
def strings(code):
    """One language's catalogue of the widget's built-in strings (the flow fetches it on first click)."""
    if code not in i18n.LANGUAGES:
        return error(404, "language_not_found", "No catalogue for this language.")
    response = Response(i18n.catalogue_bytes(code), mimetype="application/json")
    fresh = request.args.get("v") == i18n.version()
    response.headers["Cache-Control"] = ("public, max-age=31536000, immutable" if fresh
                                         else "public, max-age=300")
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.headers["Content-Language"] = code
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _host(value: str | None) -> str:
    return (value or "").strip().lower().rstrip(".")


def _origin_host() -> str | None:
    origin = request.headers.get("Origin")
    return urlsplit(origin).hostname if origin and origin != "null" else None


def _domain_refused(site_id: str, domains: list[str], domain: str):
    """None when the page's domain (and its Origin, from a browser) is the site's; else the 403,
    and the host noted for the site's page ("we saw your widget load on … — add it?")."""
    origin_host = _origin_host()
    if domain in domains and (origin_host is None or origin_host in domains):
        return None
    seen.note(site_id, domain if domain and domain not in domains else origin_host)
    shown = domain or origin_host or "(none)"
    return error(403, "domain_not_allowed",
                 f"This widget's public key is registered for {domains[0]}, not {shown}. "
                 f"The domain must match exactly (www.{domains[0]} and {domains[0]} differ): "
                 "add it as an alias in Widget Settings.", registeredDomain=domains[0])


@bp.get("/widget/ping")
def ping():
    """A trivial JSON answer: checks this server is reachable (and is the benchmark's baseline)."""
    return _cors(jsonify({"ok": True}))


def _entry_for_page():
    """The site's cached entry and availability for this page's public key and domain, else the
    error to answer."""
    key, domain = request.args.get("public_key", "").strip(), _host(request.args.get("domain"))
    if not key:
        return None, None, error(400, "invalid_request", "The public_key query parameter is missing.")
    entry, available = lookup(key)
    if entry is None:
        return None, None, error(404, "site_not_found", "No site has this public key. Copy the snippet "
                                 "again from Widget → Sites.")
    refused = _domain_refused(entry["siteId"], entry["domains"], domain)
    return entry, PAUSED if entry["paused"] else available, refused


@bp.get("/widget/config")
def config():
    """Everything the widget needs; cached per site, revalidated with an ETag."""
    entry, available, refused = _entry_for_page()
    if refused is not None:
        return refused
    response = _config_response(entry, available)
    if response.status_code in (200, 304):  # the badge was shown (a revalidation too: a page view)
        counters.count_soon(entry["siteId"], "badge_shown")
    return response


@functools.lru_cache(maxsize=4096)
def _moment(available: tuple, country: str | None, show: bool, poll: int) -> tuple[str, str]:
    """What the config adds for the moment and the visitor, as JSON members (no braces) and their
    hash for the ETag: a few answers asked for over and over, so computed once each."""
    text = json.dumps({"availability": dict(available), "visitor": {"country": country}, "show": show,
                       "pollSeconds": poll}, separators=(",", ":"))
    return text[1:-1], hashlib.sha256(text.encode()).hexdigest()[:12]


def _config_response(entry: dict, available: dict):
    country = visitor_country()
    show = country_allowed(entry["countries"], country)
    moment, version = _moment(tuple(available.items()), country, show,
                              current_app.config["WIDGET_LIVE_POLL_SECONDS"])
    etag = f"{entry['digest']}-{version}"
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(f"{{{entry['configJson']},{moment}}}", mimetype="application/json")
    response.set_etag(etag)
    max_age = current_app.config["WIDGET_CONFIG_MAX_AGE"]
    # the answer depends on the visitor's country when the site limits countries: no shared caches
    scope = "private" if entry["countries"] else "public"
    # by default every page load revalidates (a bodiless 304 when unchanged), so "Saved. Refresh
    # your site" is true on the first refresh; WIDGET_CONFIG_MAX_AGE trades that for fewer requests
    response.headers["Cache-Control"] = (f"{scope}, max-age={max_age}, stale-while-revalidate=60" if max_age
                                         else f"{scope}, no-cache")
    return _cors(response)


@bp.get("/widget/availability")
def availability():
    """Whether someone can take a call now. An open widget polls it while its page is visible; the
    browser revalidates with the ETag (no-cache), so an unchanged answer is a bodiless 304."""
    _, now, refused = _entry_for_page()
    if refused is not None:
        return refused
    poll = current_app.config["WIDGET_LIVE_POLL_SECONDS"]
    # the answer itself is the version: no hashing on the hottest path
    etag = f"{int(now['available'])}.{now['nextAvailableAt'] or '-'}.{poll}"
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = jsonify({**now, "pollSeconds": poll})
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"
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
    refused = _domain_refused(str(site.id), allowed_domains(site), _host(str(data.get("domain") or "")))
    if refused is not None:
        return refused
    return _qualify_site(site, data)


def _fingerprint(data: dict) -> str | None:
    value = data.get("fingerprint")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 128:
        raise ValueError("fingerprint")
    return value


def _attributes(data: dict) -> dict:
    attributes = data.get("attributes")
    return attributes if isinstance(attributes, dict) and len(str(attributes)) <= 4000 else {}


def _qualify_site(site, data: dict):
    try:
        fingerprint = _fingerprint(data)
    except ValueError:
        return error(400, "invalid_request", "fingerprint must be a string of at most 128 characters.")
    if data.get("check") is True:
        # the widget asks when the visitor opens it, before they answer anything; nothing is counted
        reason, retry_after = limits.peek(site, client_ip(), fingerprint)
        counters.count(site.id, "widget_opened")
        return _cors(jsonify({"callAllowed": reason is None, "retryAfter": retry_after}))
    flow, settings = flow_for(site), settings_for(site)
    result = evaluate(flow, settings, data.get("answers"), data.get("contact"))
    if result.errors:
        return error(400, "invalid_answers", "Some answers need attention.", fields=result.errors)
    # the visitor's widget says which of the site's languages it speaks
    language = data.get("language") if data.get("language") in i18n.LANGUAGES else settings.language
    body = routing.decide(site, flow, settings, theme_for(site).copy_with_defaults(language), result,
                          fingerprint=fingerprint, ip=client_ip())
    counters.count(site.id, "disqualified" if body["outcome"] == "disqualified" else "qualified")
    known = fingerprint or result.contact.get("email") or result.contact.get("phone")
    if body["outcome"] == "disqualified" and known:
        # a lead all the same: kept with its answers, and contact.disqualified goes out
        callbacks.record_disqualified(site, result, fingerprint, visitor_location(), _attributes(data))
    db.session.commit()  # refusals, and the flow, settings or theme rows created with their defaults
    return _cors(jsonify(body))


