from wtforms import DateField, Form, SelectField
from wtforms.validators import Optional

from app.models.calls import CALL_STATUSES


class CallFilterForm(Form):
    """The calls list's filters: a GET form, so no CSRF; bad values are simply not applied.

    An absent or empty filter is "any", not an error: without `default=""` a select the URL leaves
    out reads as None ("Not a valid choice"), and an empty date must be Optional.
    """

    status = SelectField("Status", default="", choices=[("", "Any status")]
                         + [(s, s.capitalize()) for s in CALL_STATUSES])
    site = SelectField("Site", default="", choices=[("", "Any site")])
    rep = SelectField("Rep", default="", choices=[("", "Anyone")])
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
