"""Password hashing (Argon2id) and the strength rule every password form applies."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
MIN_LENGTH = 10
COMMON = {"password12", "1234567890", "qwertyuiop", "password123", "letmein123", "iloveyou12"}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def weakness(password: str, email: str = "") -> str | None:
    """Why a password is too weak, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if password.lower() in COMMON or len(set(password)) < 5:
        return "This password is too easy to guess."
    if email and email.split("@")[0].lower() in password.lower():
        return "Do not use your email address in your password."
    return None
