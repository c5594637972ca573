"""Mail a password reset link."""

import uuid

from flask import current_app

from app import mail
from app.extensions import db
from app.models import User


def send_password_reset(user_id: str, link: str) -> bool:
    user = db.session.get(User, uuid.UUID(user_id))
    if user is None or not user.is_active:
        return False
    minutes = current_app.config["PASSWORD_RESET_SECONDS"] // 60
    mail.send(user.email, "Reset your Converc password",
              f"Someone (we hope you) asked to reset the password of {user.email} on Converc.\n\n"
              f"Choose a new password here within {minutes} minutes: {link}\n\n"
              "If it was not you, ignore this email: your password stays as it is.\n")
    return True
