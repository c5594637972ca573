"""API keys: created in the dashboard, shown once, stored hashed; `require_api_key` guards API views."""

import hashlib
import secrets
from datetime import timedelta
from functools import wraps

import sqlalchemy as sa
from flask import g, request

from app.api.errors import ApiError
from app.extensions import db
from app.models import ApiKey, Organization, User
from app.models.base import utcnow
from app.models.webhooks import API_SCOPES

KEY_PREFIX = "cvk_"
PERSONAL_PREFIX = "cvp_"
# what a personal token may do is also limited by its user's role (the dashboard's rules)
ROLE_SCOPES = {
    "admin": set(API_SCOPES),
    "rep": {"calls:read", "recordings:read", "contacts:read", "teammates:read", "availability:read",
            "availability:write", "events:read", "callbacks:read", "callbacks:write"},
}


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_key(organization_id, name: str, scopes: list[str], created_by_id=None,
               user_id=None) -> tuple[ApiKey, str]:
    """A new key for the organization (or, with `user_id`, a personal token of that user); the raw
    key is returned once and never stored."""
    unknown = [s for s in scopes if s not in API_SCOPES]
    if unknown or not scopes:
        raise ValueError("Choose at least one scope." if not scopes else f"Unknown scope {unknown[0]}.")
    raw = (PERSONAL_PREFIX if user_id else KEY_PREFIX) + secrets.token_urlsafe(32)
    key = ApiKey(organization_id=organization_id, name=name.strip(), prefix=raw[:12], key_hash=hash_key(raw),
                 scopes=[s for s in API_SCOPES if s in scopes], created_by_id=created_by_id, user_id=user_id)
    db.session.add(key)
    db.session.commit()
    return key, raw


def revoke(key: ApiKey) -> None:
    key.revoked_at = key.revoked_at or utcnow()
    db.session.commit()


def authenticate(header: str) -> ApiKey | None:
    """The active key named by `Authorization: Bearer <key>`, or None."""
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    return db.session.scalar(sa.select(ApiKey).where(
        ApiKey.key_hash == hash_key(raw.strip()), ApiKey.revoked_at.is_(None)))


def _touch(key: ApiKey) -> None:
    # a write per request would be wasteful: a minute is precise enough for "last used"
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        key.last_used_at = now
        db.session.commit()


def require_api_key(*scopes: str):
    """Let the view run for a valid key holding every scope; 401 / 403 as the doc says otherwise.

    A personal token acts as its user: inactive or removed users' tokens are refused, and a
    scope their role lacks is a 403 too (a rep's token cannot invite teammates).
    """

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            key = authenticate(request.headers.get("Authorization", ""))
            user = _user_of(key) if key is not None and key.user_id else None
            if key is None or (key.user_id and user is None):
                raise ApiError(401, "unauthorized",
                               "The API key is missing or invalid. Send it as `Authorization: Bearer <key>`.")
            _check_scopes(key, user, scopes)
            g.api_key_id, g.api_organization_id = key.id, key.organization_id
            g.api_user_id, g.api_user_role = (user.id, user.role) if user else (None, "admin")
            _touch(key)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _user_of(key: ApiKey) -> User | None:
    user = db.session.get(User, key.user_id)
    ok = user is not None and user.is_active_member and user.organization_id == key.organization_id
    return user if ok else None


def _check_scopes(key: ApiKey, user: User | None, scopes) -> None:
    missing = [s for s in scopes if s not in key.scopes]
    if missing:
        raise ApiError(403, "insufficient_scope", f"This API key does not have the {missing[0]} scope.")
    if user is not None:
        denied = [s for s in scopes if s not in ROLE_SCOPES.get(user.role, set())]
        if denied:
            raise ApiError(403, "insufficient_scope", f"This personal token's user is a {user.role}: "
                           f"the role does not allow the {denied[0]} scope.")


def require_webhooks_enabled(view):
    """403 when the organization has switched webhooks off (Settings → Integrations → Webhooks)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        org = db.session.get(Organization, g.api_organization_id)
        if not org.webhooks_enabled:
            raise ApiError(403, "webhooks_disabled", "Webhooks are not enabled for this organization. "
                           "An admin can turn them on in Settings → Integrations → Webhooks.")
        return view(*args, **kwargs)

    return wrapped
