"""Send an email through the configured SMTP server (jobs call this, never a request)."""

import smtplib
from email.message import EmailMessage

from flask import current_app


def can_send() -> bool:
    return bool(current_app.config["SMTP_HOST"])


def send(to: str, subject: str, body: str) -> None:
    cfg = current_app.config
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = cfg["SMTP_FROM"]
    message["To"] = to
    message.set_content(body)
    with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=15) as smtp:
        if cfg["SMTP_STARTTLS"]:
            smtp.starttls()
        if cfg["SMTP_USERNAME"]:
            smtp.login(cfg["SMTP_USERNAME"], cfg["SMTP_PASSWORD"])
        smtp.send_message(message)
