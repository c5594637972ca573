from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.forms import Form


class SiteForm(Form):
    domain = StringField(
        "Website domain", validators=[DataRequired("Enter your website's domain."), Length(max=300)]
    )
