"""Mail the invite link, when SMTP is configured."""

import smtplib
import uuid
from email.message import EmailMessage

from flask import current_app

from app.extensions import db
from app.models import Invite, Organization


def send_invite_email(invite_id: str, link: str) -> bool:
    invite = db.session.get(Invite, uuid.UUID(invite_id))
    if invite is None or not invite.is_pending:
        return False  # revoked or used since: nothing to send
    org = db.session.get(Organization, invite.organization_id)
    message = EmailMessage()
    message["Subject"] = f"Join {org.name} on Converc"
    message["From"] = current_app.config["SMTP_FROM"]
    message["To"] = invite.email
    message.set_content(
        f"You have been invited to take live calls for {org.name} on Converc.\n\n"
        f"Choose your password here: {link}\n"
    )
    _send(message)
    return True


def _send(message: EmailMessage) -> None:
    cfg = current_app.config
    with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=15) as smtp:
        if cfg["SMTP_STARTTLS"]:
            smtp.starttls()
        if cfg["SMTP_USERNAME"]:
            smtp.login(cfg["SMTP_USERNAME"], cfg["SMTP_PASSWORD"])
        smtp.send_message(message)
