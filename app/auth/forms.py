from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from app.auth.passwords import weakness
from app.forms import Form


class StrongPassword:
    """Refuse weak passwords, naming what is wrong."""

    def __init__(self, email_field: str | None = "email"):
        self.email_field = email_field

    def __call__(self, form, field):
        email = form[self.email_field].data if self.email_field in form else ""
        problem = weakness(field.data or "", email or "")
        if problem:
            raise ValidationError(problem)


def _email():
    return EmailField("Work email", validators=[DataRequired(), Email(), Length(max=254)])


class SignupForm(Form):
    organization = StringField("Company name", validators=[DataRequired(), Length(max=120)])
    name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    email = _email()
    password = PasswordField("Password", validators=[DataRequired(), StrongPassword()])


class LoginForm(Form):
    email = _email()
    password = PasswordField("Password", validators=[DataRequired()])


class PasswordChangeForm(Form):
    current = PasswordField("Current password", validators=[DataRequired()])
    password = PasswordField("New password", validators=[DataRequired(), StrongPassword(None)])
    confirm = PasswordField(
        "Repeat new password", validators=[DataRequired(), EqualTo("password", "The passwords differ.")]
    )


class ForgotPasswordForm(Form):
    email = _email()


class ResetPasswordForm(Form):
    password = PasswordField("New password", validators=[DataRequired(), StrongPassword(None)])
    confirm = PasswordField(
        "Repeat new password", validators=[DataRequired(), EqualTo("password", "The passwords differ.")]
    )
