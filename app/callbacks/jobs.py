"""Mail a new callback to its team (when SMTP is configured): the job takes an id, and mails
nobody for a callback claimed or done since it was enqueued."""

import uuid

import sqlalchemy as sa
from flask import current_app

from app import mail
from app.callbacks.service import REASONS, WINDOWS
from app.calls.service import answer_lines
from app.extensions import db
from app.models import Callback, Team, User
from app.models.routing import team_member


def recipients(callback: Callback) -> list[str]:
    """The active members of its team (if the team wants callback emails); without a team, the
    organization's admins, who route it by hand."""
    query = sa.select(User.email).where(User.organization_id == callback.organization_id,
                                        User.is_active_member.is_(True))
    if callback.team_id is None:
        query = query.where(User.role == "admin")
    else:
        team = db.session.get(Team, callback.team_id)
        if team is None or not team.email_callbacks:
            return []
        query = query.join(team_member, team_member.c.user_id == User.id).where(
            team_member.c.team_id == callback.team_id)
    return sorted(db.session.scalars(query))


def email_callback(callback_id: str, _link: str = "") -> int:
    """callback.requested, mailed: who, how to reach them, when, what they said. Returns how many
    were mailed. (An owed email's sender: it has no secret link, the claim URL is not one.)"""
    callback = db.session.get(Callback, uuid.UUID(callback_id))
    if callback is None or callback.status != "open":
        return 0
    subject, body = message(callback)
    to = recipients(callback)
    for address in to:
        mail.send(address, subject, body)
    return len(to)


def message(callback: Callback) -> tuple[str, str]:
    who = callback.name or callback.email or callback.phone
    site = callback.site.domain if callback.site else "your site"
    lines = [f"{who} asked to be called back ({REASONS.get(callback.reason, callback.reason)}).", "",
             f"Name: {callback.name or '-'}", f"Email: {callback.email or '-'}",
             f"Phone: {callback.phone or '-'}",
             f"When: {WINDOWS[callback.preferred_window][0]}", f"Site: {site}"]
    if callback.team is not None:
        lines.append(f"Team: {callback.team.name}")
    if callback.note:
        lines += ["", "Their note:", callback.note]
    answers = [f"- {a['question']}: {a['answer']}" for a in answer_lines(callback.answers) if a["answer"]]
    if answers:
        lines += ["", "Their answers:", *answers]
    base = current_app.config["BASE_URL"]
    if base:
        lines += ["", f"Claim it: {base}/callbacks/{callback.id}"]
    return f"Callback requested: {who} ({site})", "\n".join(lines) + "\n"
