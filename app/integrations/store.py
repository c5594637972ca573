"""The organization's Slack, Discord and lead push rows: one per kind, always looked up by organization."""

import json

import sqlalchemy as sa

from app.crypto import decrypt, encrypt
from app.extensions import db
from app.integrations.errors import Refused
from app.models import Integration
from app.models.base import utcnow


def integration_of(organization_id, kind: str) -> Integration | None:
    return db.session.scalar(
        sa.select(Integration).where(Integration.organization_id == organization_id, Integration.kind == kind)
    )


def save(organization_id, kind: str, settings: dict, secret: dict | str | None) -> Integration:
    """Create or replace the organization's integration of `kind`; a fresh connection works again."""
    row = integration_of(organization_id, kind)
    if row is None or row.status != "connected":
        record(organization_id, "integration.connected", kind)
    row = row or Integration(organization_id=organization_id, kind=kind)
    row.settings = settings
    row.secret_encrypted = encrypt(json.dumps(secret)) if secret is not None else None
    row.status, row.last_error, row.last_error_at = "connected", None, None
    db.session.add(row)
    db.session.commit()
    return row


def secret_of(row: Integration):
    return json.loads(decrypt(row.secret_encrypted)) if row.secret_encrypted else None


def save_secret(row: Integration, secret: dict) -> None:
    """Replace the stored secret (a refreshed token), encrypted."""
    row.secret_encrypted = encrypt(json.dumps(secret))
    db.session.commit()


def update_settings(row: Integration, **changes) -> None:
    row.settings = {**(row.settings or {}), **changes}  # a new dict: JSON columns track assignment
    db.session.commit()


def remember_failure(row: Integration, error: Refused) -> None:
    row.last_error, row.last_error_at = error.message[:500], utcnow()
    if error.broken:
        row.status = "broken"
    db.session.commit()


def remember_success(row: Integration) -> None:
    if row.last_error or row.status != "connected":
        row.last_error, row.last_error_at, row.status = None, None, "connected"
        db.session.commit()


def remove(row: Integration) -> None:
    record(row.organization_id, "integration.disconnected", row.kind)
    db.session.delete(row)
    db.session.commit()


def record(organization_id, type_: str, kind: str, user_id=None) -> None:
    """integration.connected / integration.disconnected, in the caller's transaction."""
    from app.events import record_event

    record_event(organization_id, type_, {"integration": {
        "kind": kind, "userId": str(user_id) if user_id else None, "detail": None}})
