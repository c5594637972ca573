from flask_wtf import FlaskForm
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

from app.integrations.lead_push import TRIGGERS
from app.models.webhooks import API_SCOPES

SCOPE_LABELS = {"webhooks:read": "webhooks:read — list webhook endpoints",
                "webhooks:write": "webhooks:write — create, test and disable endpoints",
                "events:read": "events:read — poll recent events (Zapier)"}


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ApiKeyForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the key a name, e.g. Zapier."), Length(max=80)])
    scopes = CheckboxesField("Scopes", choices=[(s, SCOPE_LABELS[s]) for s in API_SCOPES],
                             default=list(API_SCOPES),
                             validators=[DataRequired("Choose at least one scope.")])


class CalendarForm(FlaskForm):
    calendar_id = SelectField("Calendar to sync", choices=[], validate_choice=False,
                              validators=[DataRequired("Choose a calendar.")])


class ChannelForm(FlaskForm):
    channel_id = SelectField("Channel for alerts", choices=[], validate_choice=False,
                             validators=[DataRequired("Pick a channel.")])


class DiscordWebhookForm(FlaskForm):
    url = StringField("Channel webhook URL", validators=[DataRequired("Paste the channel's webhook URL."),
                                                         Length(max=500)])


class LeadPushForm(FlaskForm):
    url = URLField("Endpoint URL", validators=[DataRequired("The https URL that receives each lead."),
                                               Length(max=2048)])
    username = StringField("Username", validators=[DataRequired("Basic authentication is mandatory: "
                                                                "enter the username."), Length(max=200)])
    password = PasswordField("Password", validators=[Optional(), Length(max=200)])
    client_id = StringField("Client ID", validators=[Optional(), Length(max=200)])
    trigger = RadioField("Send the lead", choices=list(TRIGGERS.items()), default="call.ended")
