from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.events import registered
from app.forms import Form
from app.integrations.forms import CheckboxesField


class EndpointForm(Form):
    url = StringField("Endpoint URL", validators=[DataRequired("Enter the https URL that receives events."),
                                                  Length(max=2048)])
    description = StringField("Description", validators=[Optional(), Length(max=200)])
    events = CheckboxesField("Events")
    sites = CheckboxesField("Sites")

    def __init__(self, *args, sites=(), **kwargs):
        """`sites`: the organization's sites, the choices of the per-site filter."""
        super().__init__(*args, **kwargs)
        # read from the registry on each form: types registered by any module appear here
        self.events.choices = [(e.type, f"{e.type} — {e.description}")
                               for e in registered() if e.subscribable]
        self.sites.choices = [(str(s.id), s.domain) for s in sites]


class RollSecretForm(Form):
    overlap_hours = SelectField("Keep the old secret valid for", default="24", choices=[
        ("0", "No overlap: retire it now"), ("1", "1 hour"), ("24", "24 hours"), ("72", "3 days")])
