from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.custom_scripts.service import DASHBOARD_PAGES, WIDGET_STEPS
from app.forms import Form
from app.integrations.forms import CheckboxesField


class ScriptForm(Form):
    name = StringField("Name", validators=[DataRequired("Give the script a name."), Length(max=120)])
    surface = RadioField(
        "Surface",
        choices=[("dashboard", "Dashboard"), ("widget", "Widget")],
        default="dashboard",
        validators=[DataRequired("Choose where it runs.")],
    )
    kind = RadioField(
        "Type",
        choices=[("js", "JavaScript"), ("css", "CSS")],
        default="js",
        validators=[DataRequired("Choose JavaScript or CSS.")],
    )
    pages = CheckboxesField(
        "Dashboard pages", choices=[(name, label) for name, (_endpoint, label) in DASHBOARD_PAGES.items()]
    )
    steps = CheckboxesField("Widget steps", choices=list(WIDGET_STEPS.items()))
    sites = CheckboxesField("Sites", choices=[], validate_choice=True)
    enabled = BooleanField("Enabled", default=True)
    content = TextAreaField("Code", validators=[Length(max=100_000)])
    note = StringField("What changed (optional, shown in the version history)", validators=[Length(max=200)])

    def screens(self) -> list[str]:
        return (self.pages.data if self.surface.data == "dashboard" else self.steps.data) or []
