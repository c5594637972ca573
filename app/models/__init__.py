"""All models, imported here so Alembic and the app see every table."""

from app.models.accounts import ROLES, Invite, Organization, OwedEmail, User
from app.models.analytics import AnalyticsCounter, AnalyticsState, AnswerDay, RepDay, SiteDay
from app.models.automations import (
    AutomationEventOrigin,
    AutomationRule,
    AutomationRun,
    AutomationStep,
    ContactAssignment,
    ContactTag,
)
from app.models.availability import (
    BusyBlock,
    BusySync,
    DateOverride,
    DefaultSchedule,
    RepAvailabilityNotice,
    RepSchedule,
)
from app.models.callbacks import Callback
from app.models.calls import Call, CallEvent, Contact
from app.models.connections import CallConnection
from app.models.custom_scripts import (
    CustomScript,
    CustomScriptAudit,
    CustomScriptLog,
    CustomScriptSettings,
    CustomScriptVersion,
)
from app.models.events import Event
from app.models.integrations import CalendarConnection, Integration, IntegrationDelivery
from app.models.recordings import Recording, RecordingChunk, RecordingTrack
from app.models.routing import CallRefusal, OutcomeRule, RoutingRule, Team
from app.models.sites import Site
from app.models.webhooks import ApiKey, IdempotencyRecord, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.models.widget import (
    QualificationFlow,
    QualificationOption,
    QualificationQuestion,
    WidgetSettings,
    WidgetTheme,
)

__all__ = [
    "OwedEmail",
    "ROLES", "AnalyticsCounter", "AnalyticsState", "AnswerDay", "ApiKey", "RepDay", "SiteDay",
    "AutomationEventOrigin", "AutomationRule", "AutomationRun", "AutomationStep", "ContactAssignment",
    "ContactTag", "BusyBlock", "BusySync", "CalendarConnection", "Call", "CallConnection", "CallEvent",
    "CallRefusal", "Callback", "Contact", "CustomScript", "CustomScriptAudit", "CustomScriptLog",
    "CustomScriptSettings", "CustomScriptVersion", "DateOverride", "DefaultSchedule", "Event",
    "IdempotencyRecord",
    "Integration", "IntegrationDelivery", "Invite", "Organization", "OutcomeRule", "QualificationFlow",
    "QualificationOption", "QualificationQuestion", "Recording", "RecordingChunk", "RecordingTrack",
    "RepAvailabilityNotice", "RepSchedule", "RoutingRule", "Site", "Team", "User", "WebhookAttempt",
    "WebhookDelivery", "WebhookEndpoint", "WidgetSettings", "WidgetTheme",
]
