"""All models, imported here so Alembic and the app see every table."""

from app.models.accounts import ROLES, Invite, Organization, User
from app.models.calls import Call, CallEvent, Contact
from app.models.events import Event
from app.models.sites import Site
from app.models.widget import WidgetSettings

__all__ = ["ROLES", "Call", "CallEvent", "Contact", "Event", "Invite", "Organization", "Site", "User",
           "WidgetSettings"]
