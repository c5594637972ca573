"""Teammates: invites, joining, roles, removal."""

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app.auth.passwords import hash_password
from app.auth.service import find_user
from app.extensions import db
from app.models import ApiKey, Invite, User
from app.models.base import utcnow


class TeamError(Exception):
    """A teammate change that would break a rule; the message is shown to the admin."""


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_invite(inviter: User | None, email: str, role: str, organization_id=None) -> tuple[Invite, str]:
    """Store a hashed invite token; the plain token exists only in the link shown once.

    `inviter` None: an organization API key invites (then `organization_id` says whose)."""
    email = email.strip().lower()
    if find_user(email):
        raise TeamError("This person already has a Converc account.")
    token = secrets.token_urlsafe(32)
    invite = Invite(
        organization_id=inviter.organization_id if inviter else organization_id, email=email, role=role,
        token_hash=_token_hash(token), invited_by_id=inviter.id if inviter else None,
        expires_at=utcnow() + timedelta(hours=current_app.config["INVITE_TTL_HOURS"]),
    )
    db.session.add(invite)
    db.session.commit()
    return invite, token


def find_invite(token: str) -> Invite | None:
    """The invite this token opens, only while it is pending."""
    invite = db.session.scalar(sa.select(Invite).where(Invite.token_hash == _token_hash(token)))
    return invite if invite and invite.is_pending else None


def accept_invite(invite: Invite, name: str, password: str) -> User:
    if find_user(invite.email):
        raise TeamError("This email already has an account. Log in instead.")
    user = User(
        organization_id=invite.organization_id, email=invite.email, name=name.strip(),
        password_hash=hash_password(password), role=invite.role,
    )
    invite.accepted_at = utcnow()
    db.session.add(user)
    db.session.flush()
    record(user, "teammate.joined")
    db.session.commit()
    return user


def _admin_count(organization_id) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(User).where(
            User.organization_id == organization_id, User.role == "admin",
            User.is_active_member.is_(True),
        )
    )


def change_role(member: User, role: str) -> None:
    if member.role == "admin" and role != "admin" and _admin_count(member.organization_id) == 1:
        raise TeamError("The organization needs at least one admin.")
    member.role = role
    db.session.commit()


def remove_member(actor: User | None, member: User) -> None:
    """Remove a teammate (actor None: an organization API key, no person)."""
    if actor is not None and member.id == actor.id:
        raise TeamError("You cannot remove yourself.")
    if member.role == "admin" and _admin_count(member.organization_id) == 1:
        raise TeamError("The organization needs at least one admin.")
    record(member, "teammate.removed")
    # their personal API tokens go with them (explicitly: SQLite does not enforce the cascade)
    db.session.execute(sa.delete(ApiKey).where(ApiKey.user_id == member.id)
                       .execution_options(synchronize_session=False))
    db.session.delete(member)
    db.session.commit()


def teammate_json(user: User) -> dict:
    from app.events import iso

    return {"id": str(user.id), "email": user.email, "name": user.name, "role": user.role,
            "available": bool(user.available), "createdAt": iso(user.created_at)}


def record(user: User, type_: str) -> None:
    from app.events import record_event

    record_event(user.organization_id, type_, {"teammate": teammate_json(user)})
