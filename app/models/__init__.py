"""All models, imported here so Alembic and the app see every table."""

from app.models.accounts import ROLES, Invite, Organization, User
from app.models.availability import BusyBlock, BusySync, DateOverride, DefaultSchedule, RepSchedule
from app.models.events import Event
from app.models.sites import Site
from app.models.widget import WidgetSettings

__all__ = [
    "ROLES", "BusyBlock", "BusySync", "DateOverride", "DefaultSchedule", "Event", "Invite",
    "Organization", "RepSchedule", "Site", "User", "WidgetSettings",
]
