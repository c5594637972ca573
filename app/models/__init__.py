"""All models, imported here so Alembic and the app see every table."""

from app.models.accounts import ROLES, Invite, Organization, User
from app.models.sites import Site

__all__ = ["ROLES", "Invite", "Organization", "Site", "User"]
