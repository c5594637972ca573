from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class SiteForm(FlaskForm):
    domain = StringField(
        "Website domain", validators=[DataRequired("Enter your website's domain."), Length(max=300)]
    )
