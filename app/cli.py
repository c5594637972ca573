"""`flask --app wsgi seed-demo`: a demo organization to click through, created once; `setup-demo`
migrates first, in the same process (what `make run` does before it starts the server)."""

import json

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from app.auth.passwords import hash_password
from app.extensions import db
from app.models import Organization, Site, User

DEMO_ORG = "Demo Company"
DEMO_PASSWORD = "converc-demo-2024"
DEMO_USERS = [("admin@example.com", "Ada Admin", "admin"),
              ("rep@example.com", "Ana Rep", "rep")]
DEMO_DOMAIN = "localhost"


def _demo_org() -> Organization:
    admin = db.session.scalar(sa.select(User).where(User.email == DEMO_USERS[0][0]))
    if admin:
        return admin.organization
    org = Organization(name=DEMO_ORG)
    db.session.add(org)
    return org


def _ensure_user(org: Organization, email: str, name: str, role: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        user = User(organization=org, email=email, name=name, role=role,
                    password_hash=hash_password(DEMO_PASSWORD))
        db.session.add(user)
    return user


def _ensure_site(org: Organization) -> Site:
    site = db.session.scalar(
        sa.select(Site).where(Site.organization_id == org.id, Site.domain == DEMO_DOMAIN)
    )
    if site is None:
        site = Site(organization_id=org.id, domain=DEMO_DOMAIN)
        db.session.add(site)
    return site


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Create (once) a demo organization, an admin, a rep and a site; print them as JSON."""
    _seed()


@click.command("setup-demo")
@with_appcontext
def setup_demo():
    """`flask db upgrade` then `seed-demo` in one process: `make run` starts one Python, not two."""
    from flask_migrate import upgrade

    upgrade()
    _seed()


def _seed() -> None:
    org = _demo_org()
    db.session.flush()
    users = [_ensure_user(org, *spec) for spec in DEMO_USERS]
    site = _ensure_site(org)
    db.session.commit()
    click.echo(json.dumps({
        "organization": {"id": str(org.id), "name": org.name},
        "users": [{"email": u.email, "password": DEMO_PASSWORD, "role": u.role} for u in users],
        "site": {"id": str(site.id), "domain": site.domain, "publicKey": site.public_key},
    }, indent=2))
