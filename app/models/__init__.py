"""All models, imported here so Alembic and the app see every table."""

from app.models.accounts import ROLES, Invite, Organization, User
from app.models.events import Event
from app.models.sites import Site
from app.models.webhooks import ApiKey, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.models.widget import WidgetSettings

__all__ = ["ROLES", "ApiKey", "Event", "Invite", "Organization", "Site", "User", "WebhookAttempt",
           "WebhookDelivery", "WebhookEndpoint", "WidgetSettings"]
