"""Mail the invite link, when SMTP is configured."""

import uuid

from app import mail
from app.extensions import db
from app.models import Invite, Organization


def send_invite_email(invite_id: str, link: str) -> bool:
    invite = db.session.get(Invite, uuid.UUID(invite_id))
    if invite is None or not invite.is_pending:
        return False  # revoked or used since: nothing to send
    org = db.session.get(Organization, invite.organization_id)
    mail.send(invite.email, f"Join {org.name} on Converc",
              f"You have been invited to take live calls for {org.name} on Converc.\n\n"
              f"Choose your password here: {link}\n")
    return True
