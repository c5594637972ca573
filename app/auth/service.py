"""Accounts: sign up, authenticate, change or reset the password, end sessions."""

import hashlib
import uuid

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.auth.passwords import check_password, hash_password
from app.extensions import db
from app.models import Organization, User


class EmailTaken(Exception):
    pass


def find_user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def sign_up(organization: str, name: str, email: str, password: str) -> User:
    """Create an organization and its first admin."""
    if find_user(email):
        raise EmailTaken(email)
    org = Organization(name=organization.strip())
    user = User(
        organization=org, name=name.strip(), email=email.strip().lower(),
        password_hash=hash_password(password), role="admin",
    )
    db.session.add_all([org, user])
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    user = find_user(email)
    if user is None or not user.is_active or not check_password(user.password_hash, password):
        return None
    return user


def change_password(user: User, current: str, new: str) -> bool:
    if not check_password(user.password_hash, current):
        return False
    set_password(user, new)
    return True


def set_password(user: User, new: str) -> None:
    """A new password ends every session issued with the old one (the caller logs this one in again)."""
    user.password_hash = hash_password(new)
    user.end_sessions()
    db.session.commit()


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def _password_fingerprint(user: User) -> str:
    # a link carries a digest of the hash it was made for: once the password changes, it is dead
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:20]


def reset_token(user: User) -> str:
    return _reset_serializer().dumps({"u": str(user.id), "p": _password_fingerprint(user)})


def user_for_reset_token(token: str) -> User | None:
    """The user a reset link is for, or None when it is forged, expired or already used."""
    try:
        claims = _reset_serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_SECONDS"])
        user = db.session.get(User, uuid.UUID(claims["u"]))
    except (BadSignature, ValueError, KeyError, TypeError):
        return None
    if user is None or not user.is_active or claims.get("p") != _password_fingerprint(user):
        return None
    return user
