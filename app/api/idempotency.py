"""`Idempotency-Key` on every POST and PATCH of the API, as Stripe does it.

The first request with a key (per API key) is recorded before it runs; its answer is stored and
replayed for IDEMPOTENCY_TTL_HOURS (24 h) to every retry with the same key and the same request
(`Idempotent-Replayed: true`). The same key with another method, path or body is a 422. A retry
arriving while the first is still running waits for its answer (409 if it takes too long). Server
errors are not stored: the client may retry them with the same key.
"""

import hashlib
import time
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g, request
from sqlalchemy.exc import IntegrityError

from app.api import bp
from app.api.auth import authenticate
from app.api.errors import ApiError
from app.extensions import db
from app.models import IdempotencyRecord
from app.models.base import utcnow

HEADER = "Idempotency-Key"
METHODS = ("POST", "PATCH")
WAIT_SECONDS = 10.0


def _fingerprint() -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


@bp.before_request
def _claim():
    key = request.headers.get(HEADER)
    if request.method not in METHODS or key is None:
        return None
    api_key = authenticate(request.headers.get("Authorization", ""))
    if api_key is None:
        return None  # the view answers 401
    if not key.strip() or len(key) > 255:
        raise ApiError(400, "invalid_request", f"{HEADER} must be 1 to 255 characters.")
    fingerprint, deadline = _fingerprint(), time.monotonic() + WAIT_SECONDS
    while True:
        record = _insert(api_key.id, key, fingerprint) or _existing(api_key.id, key)
        if record is None:
            continue  # it expired and was dropped: claim it again
        if record.request_hash != fingerprint:
            raise ApiError(422, "idempotency_key_reused", f"This {HEADER} was used with a different request "
                           "(method, path or body). Use a new key for a new request.")
        if getattr(record, "_claimed", False):
            g.idempotency_record_id = record.id
            return None
        if record.status_code is not None:
            return _replay(record)
        if time.monotonic() > deadline:
            raise ApiError(409, "idempotency_key_in_use", f"A request with this {HEADER} is still running. "
                           "Retry in a moment.")
        db.session.rollback()
        time.sleep(0.05)


def _insert(api_key_id, key: str, fingerprint: str):
    now = utcnow()
    record = IdempotencyRecord(api_key_id=api_key_id, key=key, method=request.method, path=request.path[:500],
                               request_hash=fingerprint, created_at=now,
                               expires_at=now + timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"]))
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    record._claimed = True
    return record


def _existing(api_key_id, key: str):
    record = db.session.scalar(sa.select(IdempotencyRecord).where(
        IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.key == key))
    if record is not None and record.expires_at <= utcnow():
        db.session.delete(record)
        db.session.commit()
        return None
    return record  # None: the first request failed with a server error and let go of the key


def _replay(record: IdempotencyRecord):
    response = current_app.response_class(record.response_body or "", status=record.status_code,
                                          mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.after_request
def _store(response):
    record_id = g.pop("idempotency_record_id", None)
    if record_id is None:
        return response
    db.session.rollback()  # whatever the view left behind is not ours to commit
    if response.status_code >= 500:
        db.session.execute(sa.delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
    else:
        db.session.execute(sa.update(IdempotencyRecord).where(IdempotencyRecord.id == record_id).values(
            status_code=response.status_code, response_body=response.get_data(as_text=True)))
    db.session.commit()
    return response


def purge_expired() -> int:
    """cron: forget answers older than their 24 h."""
    gone = db.session.execute(sa.delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < utcnow()))
    db.session.commit()
    return gone.rowcount
