"""What a dashboard page hands its custom scripts' runtime, and the page's CSP that allows them.

Pages render `custom_scripts/_runtime.html` (from dashboard.html): a JSON data block (never run,
so the CSP has nothing to allow for it), a modulepreload with the file's integrity, and the
runtime. The page's Content-Security-Policy then lists each script's hash beside 'self': still no
'unsafe-inline', no 'unsafe-eval'.
"""

from flask import g, request, url_for
from flask_login import current_user

from app.custom_scripts import bp
from app.custom_scripts import service as svc
from app.models import Call, Contact
from app.security import DASHBOARD_CSP


def _call_view(call) -> dict | None:
    if call is None:
        return None
    return {
        "id": str(call.id),
        "status": call.status,
        "mediaType": call.media_type,
        "requestedAt": call.requested_at.isoformat(),
    }


def _contact_view(contact) -> dict | None:
    # only what the page itself shows the viewer
    if contact is None:
        return None
    return {"id": str(contact.id), "name": contact.name, "email": contact.email, "phone": contact.phone}


def page_data(call=None, contact=None) -> dict | None:
    """The runtime's data for this page, or None when no script runs here."""
    if not current_user.is_authenticated:
        return None
    call = call if isinstance(call, Call) else None  # templates name other things "call" too
    contact = contact if isinstance(contact, Contact) else None
    site = getattr(call, "site", None)
    scripts = svc.dashboard_scripts(current_user.organization_id, request.endpoint, getattr(site, "id", None))
    if not scripts:
        return None
    g.custom_script_hashes = [svc.sri(s.current) for s in scripts if s.kind == "js"]
    listed = []
    for script in scripts:
        item = svc.script_json(script)
        item["reportUrl"] = url_for("custom_scripts.report", script_id=script.id)
        listed.append(item)
    return {
        "surface": "dashboard",
        "screen": svc.PAGE_OF_ENDPOINT[request.endpoint],
        "site": {"id": str(site.id), "domain": site.domain} if site else None,
        "call": _call_view(call),
        "contact": _contact_view(contact or getattr(call, "contact", None)),
        "scripts": listed,
    }


@bp.app_context_processor
def _helpers():
    return {"custom_scripts_page": page_data}


@bp.after_app_request
def _allow_script_hashes(response):
    # runs before app.security's headers (set only when absent): this page's policy, with the hashes
    hashes = g.pop("custom_script_hashes", None)
    if hashes and "Content-Security-Policy" not in response.headers:
        sources = " ".join(f"'{h}'" for h in hashes)
        response.headers["Content-Security-Policy"] = DASHBOARD_CSP.replace(
            "script-src 'self'", f"script-src 'self' {sources}", 1
        )
    return response
