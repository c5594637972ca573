from wtforms import (
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    URLField,
    widgets,
)
from wtforms.validators import DataRequired, Length, Optional

from app.forms import Form
from app.integrations.lead_push import MISSING, TRIGGERS
from app.models.webhooks import API_SCOPES

SCOPE_LABELS = {"webhooks:read": "webhooks:read — list webhook endpoints",
                "webhooks:write": "webhooks:write — create, update, test and disable endpoints",
                "events:read": "events:read — poll recent events (Zapier)",
                "calls:read": "calls:read — list and read calls",
                "recordings:read": "recordings:read — transcripts and recording links of calls",
                "contacts:read": "contacts:read — list, search and read contacts",
                "contacts:write": "contacts:write — create, update and erase contacts",
                "sites:read": "sites:read — list and read sites and their widget settings",
                "sites:write": "sites:write — add sites and change widget settings",
                "teammates:read": "teammates:read — list teammates",
                "teammates:write": "teammates:write — invite, change roles, remove",
                "availability:read": "availability:read — who can take a call now, schedules",
                "availability:write": "availability:write — change reps' schedules",
                "callbacks:read": "callbacks:read — list and read callback requests",
                "callbacks:write": "callbacks:write — claim callbacks, add notes, mark them done",
                "analytics:read": "analytics:read — the Analytics page's numbers"}


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ApiKeyForm(Form):
    name = StringField("Name", validators=[DataRequired("Give the key a name, e.g. Zapier."), Length(max=80)])
    scopes = CheckboxesField("Scopes", choices=[(s, SCOPE_LABELS[s]) for s in API_SCOPES],
                             default=list(API_SCOPES),
                             validators=[DataRequired("Choose at least one scope.")])


class PersonalTokenForm(ApiKeyForm):
    """A personal token's scopes: only what the user's role allows."""

    def __init__(self, role: str, *args, **kwargs):
        from app.api.auth import ROLE_SCOPES

        super().__init__(*args, **kwargs)
        allowed = [s for s in API_SCOPES if s in ROLE_SCOPES.get(role, ())]
        self.scopes.choices = [(s, SCOPE_LABELS[s]) for s in allowed]
        if self.scopes.data == list(API_SCOPES):  # the default: every scope the role has
            self.scopes.data = allowed


class CalendarForm(Form):
    calendar_id = SelectField("Calendar to sync", choices=[], validate_choice=False,
                              validators=[DataRequired("Choose a calendar.")])


class ChannelForm(Form):
    channel_id = SelectField("Channel for alerts", choices=[], validate_choice=False,
                             validators=[DataRequired("Pick a channel.")])


class DiscordWebhookForm(Form):
    url = StringField("Channel webhook URL", validators=[DataRequired("Paste the channel's webhook URL."),
                                                         Length(max=500)])


class LeadPushForm(Form):
    url = URLField("Endpoint URL", validators=[DataRequired("The https URL that receives each lead."),
                                               Length(max=2048)])
    username = StringField("Username", validators=[DataRequired("Basic authentication is mandatory: "
                                                                "enter the username."), Length(max=200)])
    password = PasswordField("Password", validators=[Optional(), Length(max=200)])
    client_id = StringField("Client ID", validators=[Optional(), Length(max=200)])
    trigger = RadioField("Send the lead", choices=list(TRIGGERS.items()), default="call.ended")
    missing = RadioField("When a required field is unknown", choices=list(MISSING.items()), default="skip")
