from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length

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
