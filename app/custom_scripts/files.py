"""The scripts' files, served from our origin at content-hashed URLs, and the widget's reports.

A version never changes, so its URL (id + hash) is cached for a year. A dashboard script's file is
read only by a signed-in teammate of its organization; a widget script runs in customers' pages,
so its file is public, with CORS (the widget loads CSS with fetch and modules cross-origin).
"""

import uuid

from flask import Response, abort, current_app, request
from flask_login import current_user

from app.custom_scripts import files_bp
from app.custom_scripts import service as svc
from app.extensions import db
from app.models.custom_scripts import CustomScriptVersion
from app.widget.routes import error
from app.widget.scripts import YEAR, cross_origin_headers, script_response, versioned_cache_control
from app.widget.service import asset_version, site_by_public_key

MIMETYPES = {"js": "text/javascript", "css": "text/css"}


@files_bp.get("/custom-scripts/files/<uuid:version_id>-<digest>.<ext>")
def file(version_id: uuid.UUID, digest: str, ext: str):
    """One version of a script, immutable."""
    version = db.session.get(CustomScriptVersion, version_id)
    if version is None or version.sha256[:20] != digest or version.script.kind != ext:
        abort(404)
    widget = version.script.surface == "widget"
    if not widget and not (
        current_user.is_authenticated and current_user.organization_id == version.organization_id
    ):
        abort(404)
    response = Response(version.content, mimetype=MIMETYPES[ext])
    response.headers["Cache-Control"] = f"{'public' if widget else 'private'}, max-age={YEAR}, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return cross_origin_headers(response) if widget else response


@files_bp.get("/widget/custom-scripts.js")
def runtime():
    """The scripts' runtime the widget loads when its site has scripts; versioned like the flow."""
    fresh = request.args.get("v") == asset_version("custom_scripts.js")
    return script_response("custom_scripts.js", versioned_cache_control(fresh))


@files_bp.route("/widget/custom-scripts/reports", methods=["POST", "OPTIONS"])
def widget_report():
    """ctx.log() lines and caught errors from a widget script, posted by the visitor's browser
    (text/plain JSON, as the widget's other posts: no preflight)."""
    if request.method == "OPTIONS":
        return _cors(Response(status=204))
    try:
        # the app's JSON (app/inbound.py): NUL and deep nesting are a 400 before any query
        body = current_app.json.loads(request.get_data(as_text=True) or "{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return error(400, "invalid_json", "The body is not a JSON object.")
    site = site_by_public_key(str(body.get("publicKey") or ""))
    script = site and svc.script_by_id(site.organization_id, body.get("scriptId"))
    if not script or script.surface != "widget":
        return error(404, "script_not_found", "No widget script of this site has this id.")
    if not svc.record_posted(script, body):
        return error(429, "rate_limited", "Too many reports from this script.")
    return _cors(Response(status=204))


def _cors(response):
    response.headers["Access-Control-Allow-Origin"] = request.headers.get("Origin") or "*"
    response.headers["Access-Control-Allow-Methods"] = "POST"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    return response
