"""Accounts: sign up, authenticate, change password."""

import sqlalchemy as sa

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
    user.password_hash = hash_password(new)
    db.session.commit()
    return True
