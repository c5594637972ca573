"""The signed qualification token: the widget's validated answers, carried to the call request.

POST /widget/qualify validates the visitor's answers and returns this token; the call request
presents it, so the call stores exactly the answers the server validated.
"""

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

MAX_AGE_SECONDS = 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="converc-qualification")


def sign_qualification(payload: dict) -> str:
    """payload: {"siteId", "flowId", "outcome", "answers": [seed-shaped qualificationAnswers]}."""
    return _serializer().dumps(payload)


def load_qualification(token: str, site_id: str) -> dict | None:
    """The payload when the token is genuine, fresh and for this site; else None."""
    try:
        payload = _serializer().loads(token, max_age=MAX_AGE_SECONDS)
    except BadSignature:
        return None
    return payload if payload.get("siteId") == site_id else None
