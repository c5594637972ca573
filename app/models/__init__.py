"""All models, imported here so Alembic and the app see every table."""

from app.models.accounts import ROLES, Invite, Organization, User
from app.models.availability import BusyBlock, BusySync, DateOverride, DefaultSchedule, RepSchedule
from app.models.calls import Call, CallEvent, Contact
from app.models.events import Event
from app.models.integrations import CalendarConnection, Integration, IntegrationDelivery
from app.models.recordings import Recording, RecordingChunk, RecordingTrack
from app.models.sites import Site
from app.models.webhooks import ApiKey, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.models.widget import (
    QualificationFlow,
    QualificationOption,
    QualificationQuestion,
    WidgetSettings,
    WidgetTheme,
)

__all__ = [
    "ROLES", "ApiKey", "BusyBlock", "BusySync", "CalendarConnection", "Call", "CallEvent", "Contact",
    "DateOverride", "DefaultSchedule", "Event", "Integration", "IntegrationDelivery", "Invite",
    "Organization", "QualificationFlow", "QualificationOption", "QualificationQuestion", "Recording",
    "RecordingChunk", "RecordingTrack", "RepSchedule", "Site", "User", "WebhookAttempt", "WebhookDelivery",
    "WebhookEndpoint", "WidgetSettings", "WidgetTheme",
]
