"""Sites: normalizing the domain an admin types and creating the site with its public key."""

import ipaddress
import re
from urllib.parse import urlsplit

import sqlalchemy as sa

from app.extensions import db
from app.models import Site
from app.models.sites import new_public_key

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class InvalidDomain(ValueError):
    pass


def normalize_domain(text: str) -> str:
    """`https://WWW.Example.com:443/pricing` -> `www.example.com`; raise InvalidDomain with why."""
    raw = (text or "").strip()
    if not raw:
        raise InvalidDomain("Enter your website's domain, for example example.com.")
    try:
        host = urlsplit(raw if "//" in raw else "//" + raw).hostname or ""
    except ValueError as e:
        raise InvalidDomain("This is not a domain name.") from e
    host = host.rstrip(".")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as e:
        raise InvalidDomain("This domain has characters that are not allowed.") from e
    if _is_ip(host) or host == "localhost":
        return host
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise InvalidDomain("This is not a valid domain. Use a name like example.com.")
    if len(host) > 253:
        raise InvalidDomain("This domain is too long.")
    return host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class DuplicateSite(ValueError):
    pass


def create_site(organization_id, domain_text: str) -> Site:
    domain = normalize_domain(domain_text)
    exists = db.session.scalar(
        sa.select(Site.id).where(Site.organization_id == organization_id, Site.domain == domain)
    )
    if exists:
        raise DuplicateSite(f"{domain} is already one of your sites.")
    site = Site(organization_id=organization_id, domain=domain)
    db.session.add(site)
    record(site, "site.created")
    db.session.commit()
    return site


# --- the API's site object and the site.* events ---------------------------------------------

# widget settings the API reads and writes: camelCase name -> (column, check)
SETTINGS_FIELDS = {
    "badgeLabel": "badge_label", "welcomeText": "welcome_text", "collectEmail": "collect_email",
    "collectPhone": "collect_phone", "countries": "countries", "openOnLoad": "open_on_load",
    "hideWhenUnavailable": "hide_when_unavailable", "paused": "paused", "calendarUrl": "calendar_url",
    "callType": "call_type", "ringTimeoutSeconds": "ring_timeout_seconds",
    "recordingPolicy": "recording_policy", "domainAliases": "domain_aliases",
}


def site_json(site: Site, with_settings: bool = True) -> dict:
    from app.events import iso
    from app.models.widget import current_settings

    body = {"id": str(site.id), "domain": site.domain, "publicKey": site.public_key,
            "createdAt": iso(site.created_at), "updatedAt": iso(site.updated_at)}
    if with_settings:
        settings = current_settings(site)
        body["settings"] = {name: getattr(settings, column) for name, column in SETTINGS_FIELDS.items()}
    return body


def _stamp(site: Site) -> None:
    import uuid

    from app.models.base import utcnow

    now = utcnow()
    site.id = site.id or uuid.uuid4()
    site.public_key = site.public_key or new_public_key()
    site.created_at = site.created_at or now
    site.updated_at = now


def record(site: Site, type_: str, changes: list[str] | None = None) -> None:
    """site.created / site.updated / site.deleted, in the caller's transaction."""
    from app.events import record_event

    _stamp(site)
    data = {"site": site_json(site, with_settings=type_ != "site.deleted")}
    if changes is not None:
        data["changes"] = changes
    record_event(site.organization_id, type_, data)


def delete_site(site: Site) -> None:
    record(site, "site.deleted")
    db.session.delete(site)
    db.session.commit()


def settings_changes(settings, before: dict) -> list[str]:
    """The camelCase names of the widget settings that differ from `before` (column -> value)."""
    return [name for name, column in SETTINGS_FIELDS.items()
            if getattr(settings, column) != before.get(column)]


def settings_snapshot(settings) -> dict:
    return {column: getattr(settings, column) for column in SETTINGS_FIELDS.values()}
