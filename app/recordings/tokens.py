"""Signed tokens of recordings: the rep browser's upload token and the expiring media URLs."""

import time

from flask import current_app, has_request_context, url_for
from itsdangerous import BadSignature, Signer, URLSafeTimedSerializer

MEDIA_KINDS = {"video": "video/webm", "audio": "audio/webm"}


def _upload_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="converc-recording-upload")


def upload_token(call_id, organization_id) -> str:
    """Authorises the rep's browser to upload this call's recording, for RECORDING_UPLOAD_TOKEN_TTL."""
    return _upload_serializer().dumps({"c": str(call_id), "o": str(organization_id)})


def load_upload_token(token: str) -> dict | None:
    """{"call_id", "organization_id"} when the token is genuine and fresh; else None."""
    try:
        data = _upload_serializer().loads(token, max_age=current_app.config["RECORDING_UPLOAD_TOKEN_TTL"])
    except BadSignature:
        return None
    return {"call_id": data["c"], "organization_id": data["o"]}


def _media_signer() -> Signer:
    return Signer(current_app.config["SECRET_KEY"], salt="converc-recording-media")


def _media_message(recording_id, kind: str, expires: int) -> bytes:
    return f"{recording_id}:{kind}:{expires}".encode()


def media_url(recording, kind: str, expires_in: int | None = None) -> str:
    """An absolute URL to the recording's `kind` file that works until it expires."""
    if expires_in is None:
        expires_in = current_app.config["RECORDING_URL_TTL_SECONDS"]
    expires = int(time.time()) + expires_in
    signature = _media_signer().get_signature(_media_message(recording.id, kind, expires)).decode()
    args = {"recording_id": recording.id, "kind": kind, "expires": expires, "signature": signature}
    base = current_app.config.get("BASE_URL")
    if base or not has_request_context():
        # jobs have no request to take the host from: BASE_URL is the server's public address
        path = current_app.url_map.bind("localhost").build("recordings_public.media", args)
        return (base or "") + path
    return url_for("recordings_public.media", _external=True, **args)


def media_signature_valid(recording_id, kind: str, expires: str, signature: str) -> bool:
    """True when the URL was signed by us for exactly this file and has not expired."""
    try:
        expires_at = int(expires)
    except (TypeError, ValueError):
        return False
    if expires_at < time.time():
        return False
    return _media_signer().verify_signature(_media_message(recording_id, kind, expires_at), signature or "")
