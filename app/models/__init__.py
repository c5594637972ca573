"""All models, imported here so Alembic and the app see every table."""

from app.models.accounts import ROLES, Invite, Organization, User
from app.models.events import Event
from app.models.sites import Site
from app.models.widget import (
    QualificationFlow,
    QualificationOption,
    QualificationQuestion,
    WidgetSettings,
    WidgetTheme,
)

__all__ = ["ROLES", "Event", "Invite", "Organization", "Site", "User", "WidgetSettings",
           "WidgetTheme", "QualificationFlow", "QualificationQuestion", "QualificationOption"]
