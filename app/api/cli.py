"""`flask api-keys create --org ORG --scopes …`: a new API key printed once, for automation and set-up."""

import uuid

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.extensions import db
from app.models import Organization, User
from app.models.webhooks import API_SCOPES

api_keys = AppGroup("api-keys", help="Create API keys from the command line.")


def _organization(value: str) -> Organization:
    """An organization by id or by its exact name (a name two organizations share is refused)."""
    try:
        found = db.session.get(Organization, uuid.UUID(value))
    except ValueError:
        found = None
    if found:
        return found
    named = db.session.scalars(sa.select(Organization).where(Organization.name == value)).all()
    if len(named) != 1:
        raise click.BadParameter("no organization with this id or name" if not named else
                                 "several organizations have this name: pass the id", param_hint="--org")
    return named[0]


def _scopes(value: str) -> list[str]:
    scopes = [s for s in value.replace(",", " ").split() if s]
    if value.strip() == "all":
        return list(API_SCOPES)
    unknown = [s for s in scopes if s not in API_SCOPES]
    if unknown or not scopes:
        raise click.BadParameter(f"known scopes: {', '.join(API_SCOPES)} (or all)", param_hint="--scopes")
    return scopes


@api_keys.command("create")
@click.option("--org", "org", required=True, help="organization id or exact name")
@click.option("--scopes", required=True, help="comma or space separated scopes, or `all`")
@click.option("--name", default="Command line", show_default=True, help="label shown in the dashboard")
@click.option("--user", "user_email", default=None, help="make a personal token of this user (by email)")
def create(org, scopes, name, user_email):
    """Print a new key; it is stored hashed and cannot be shown again."""
    from app.api.auth import create_key

    organization = _organization(org)
    user_id = None
    if user_email:
        user = db.session.scalar(sa.select(User).where(User.email == user_email.strip().lower(),
                                                       User.organization_id == organization.id))
        if user is None:
            raise click.BadParameter("no such user in this organization", param_hint="--user")
        user_id = user.id
    _, raw = create_key(organization.id, name, _scopes(scopes), user_id=user_id)
    click.echo(raw)
