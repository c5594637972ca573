"""Sites: normalizing the domain an admin types and creating the site with its public key."""

import ipaddress
import re
from urllib.parse import urlsplit

import sqlalchemy as sa

from app.extensions import db
from app.models import Site

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
    db.session.commit()
    return site
