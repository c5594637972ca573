from wtforms import DateField, Form, SelectField

from app.models.calls import CALL_STATUSES


class CallFilterForm(Form):
    """The calls list's filters: a GET form, so no CSRF; bad values are simply not applied."""

    status = SelectField("Status", choices=[("", "Any status")]
                         + [(s, s.capitalize()) for s in CALL_STATUSES])
    site = SelectField("Site", choices=[("", "Any site")])
    rep = SelectField("Rep", choices=[("", "Anyone")])
    date_from = DateField("From")
    date_to = DateField("To")
