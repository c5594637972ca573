"""Secrets at rest (webhook secrets, OAuth tokens): Fernet, keyed by ENCRYPTION_KEYS or SECRET_KEY."""

import base64

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


def _derived_key(secret_key: str) -> bytes:
    # a key of its own for encryption, so signing and encryption never share one
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"converc secrets at rest")
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


def _fernet() -> MultiFernet:
    keys = current_app.config.get("ENCRYPTION_KEYS") or [_derived_key(current_app.config["SECRET_KEY"])]
    # MultiFernet: the first key encrypts, every key decrypts, so keys can be rotated
    return MultiFernet([Fernet(k) for k in keys])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()
