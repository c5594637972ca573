"""The call token: a signed, short-lived pass to one side of one call's socket and endpoints."""

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

SIDES = ("visitor", "rep")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="converc-call")


def sign_call_token(call_id, side: str, user_id=None) -> str:
    return _serializer().dumps({"c": str(call_id), "s": side, "u": str(user_id) if user_id else None})


def load_call_token(token: str | None) -> dict | None:
    """{"c": call id, "s": side, "u": rep's user id or None} when genuine and fresh; else None."""
    if not token:
        return None
    try:
        claims = _serializer().loads(token, max_age=current_app.config["CALL_TOKEN_TTL_SECONDS"])
    except BadSignature:
        return None
    return claims if isinstance(claims, dict) and claims.get("s") in SIDES else None
