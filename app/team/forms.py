from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from app.auth.forms import StrongPassword
from app.forms import Form

ROLE_CHOICES = [("rep", "Rep: takes calls"), ("admin", "Admin: also sets up sites and integrations")]


class InviteForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES, default="rep")


class RoleForm(Form):
    role = SelectField("Role", choices=ROLE_CHOICES)


class AcceptInviteForm(Form):
    name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    password = PasswordField("Choose a password", validators=[DataRequired(), StrongPassword(None)])
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", "The passwords differ.")]
    )
