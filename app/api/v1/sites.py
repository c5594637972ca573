"""Sites: list, get, create, and update the widget settings."""

from flask import jsonify

from app.api import bp
from app.api.auth import require_api_key
from app.api.errors import ApiError
from app.api.v1.common import PREFIX, json_body, list_response, listed, org_object_or_404
from app.extensions import db
from app.models import Site
from app.models.widget import CALL_TYPES, CONTACT_MODES, RECORDING_POLICIES, settings_for
from app.sites import service
from app.tenancy import current_organization_id, org_select

ENUMS = {"collectEmail": CONTACT_MODES, "collectPhone": CONTACT_MODES, "callType": CALL_TYPES,
         "recordingPolicy": RECORDING_POLICIES}
TEXTS = {"badgeLabel": (60, False), "welcomeText": (500, False), "calendarUrl": (500, True)}
BOOLS = ("openOnLoad", "hideWhenUnavailable", "paused")


@bp.get(PREFIX + "/sites")
@require_api_key("sites:read")
def sites_list():
    """Sites, oldest first; updated_since for sync jobs."""
    rows, cursor = listed(org_select(Site), Site, Site.created_at, descending=False)
    return list_response(rows, cursor, service.site_json)


@bp.get(PREFIX + "/sites/<site_id>")
@require_api_key("sites:read")
def sites_show(site_id):
    """One site with its widget settings."""
    return jsonify(service.site_json(org_object_or_404(Site, site_id, "Site")))


@bp.post(PREFIX + "/sites")
@require_api_key("sites:write")
def sites_create():
    """Add a site by its domain; the answer has its public key for the snippet."""
    domain = json_body().get("domain")
    if not isinstance(domain, str):
        raise ApiError(400, "invalid_request", "domain is required, e.g. example.com.")
    try:
        site = service.create_site(current_organization_id(), domain)
    except service.InvalidDomain as e:
        raise ApiError(400, "invalid_request", f"domain: {e}") from e
    except service.DuplicateSite as e:
        raise ApiError(409, "conflict", str(e)) from e
    return jsonify(service.site_json(site)), 201


@bp.patch(PREFIX + "/sites/<site_id>")
@require_api_key("sites:write")
def sites_update(site_id):
    """Change widget settings (`settings`: any of the site object's settings fields)."""
    from app.widget.service import invalidate

    site = org_object_or_404(Site, site_id, "Site")
    changes = json_body().get("settings")
    if not isinstance(changes, dict):
        raise ApiError(400, "invalid_request", "settings is required: an object of the settings to change.")
    settings = settings_for(site)
    before = service.settings_snapshot(settings)
    for name, value in changes.items():
        setattr(settings, _column(name), _checked(name, value))
    if settings.collect_email == "off" and settings.collect_phone == "off":
        raise ApiError(400, "invalid_request", "settings: collect at least an email or a phone number.")
    changed = service.settings_changes(settings, before)
    if changed:
        service.record(site, "site.updated", changed)
    db.session.commit()
    invalidate(site)
    return jsonify(service.site_json(site))


def _column(name: str) -> str:
    if name not in service.SETTINGS_FIELDS:
        raise ApiError(400, "invalid_request", f"Unknown setting {name}. Settings: "
                       f"{', '.join(service.SETTINGS_FIELDS)}.")
    return service.SETTINGS_FIELDS[name]


def _checked(name: str, value):
    """The value when it is valid for the setting; a 400 naming the setting otherwise."""
    bad = None
    if name in ENUMS and value not in ENUMS[name]:
        bad = f"one of {', '.join(ENUMS[name])}"
    elif name in BOOLS and not isinstance(value, bool):
        bad = "true or false"
    elif name in TEXTS:
        limit, nullable = TEXTS[name]
        ok = (value is None and nullable) or (isinstance(value, str) and 0 < len(value) <= limit
                                              and "\x00" not in value)
        bad = None if ok else f"a string of 1 to {limit} characters" + (" or null" if nullable else "")
        if ok and name == "calendarUrl" and value and not value.startswith(("https://", "http://")):
            bad = "an http(s) URL or null"
    elif name == "ringTimeoutSeconds" and not (type(value) is int and 10 <= value <= 300):
        bad = "a whole number of seconds from 10 to 300"
    elif name == "countries":
        value = _countries(value)
    elif name == "domainAliases":
        value = _aliases(value)
    if bad:
        raise ApiError(400, "invalid_request", f"settings.{name} must be {bad}.")
    return value


def _countries(value) -> list:
    from app.widget_settings.forms import parse_countries

    if not isinstance(value, list) or len(value) > 250 or not all(isinstance(c, str) for c in value):
        raise ApiError(400, "invalid_request",
                       "settings.countries must be a list of two-letter country codes.")
    try:
        return parse_countries(" ".join(value))
    except ValueError as e:
        raise ApiError(400, "invalid_request", f"settings.countries: {e}") from e


def _aliases(value) -> list:
    if not isinstance(value, list) or len(value) > 20 or not all(isinstance(v, str) for v in value):
        raise ApiError(400, "invalid_request", "settings.domainAliases must be a list of at most 20 domains.")
    try:
        return list(dict.fromkeys(service.normalize_domain(v) for v in value))
    except service.InvalidDomain as e:
        raise ApiError(400, "invalid_request", f"settings.domainAliases: {e}") from e
