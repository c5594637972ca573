from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.events import EVENT_TYPES
from app.integrations.forms import CheckboxesField


class EndpointForm(FlaskForm):
    url = StringField("Endpoint URL", validators=[DataRequired("Enter the https URL that receives events."),
                                                  Length(max=2048)])
    description = StringField("Description", validators=[Optional(), Length(max=200)])
    events = CheckboxesField("Events", choices=[(t, t) for t in EVENT_TYPES if t != "webhook.test"])


class RollSecretForm(FlaskForm):
    overlap_hours = SelectField("Keep the old secret valid for", default="24", choices=[
        ("0", "No overlap: retire it now"), ("1", "1 hour"), ("24", "24 hours"), ("72", "3 days")])
