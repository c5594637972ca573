"""Webhooks: endpoints, signed delivery by RQ with retries, the delivery log (dashboard pages)."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__)

from app.webhooks import dispatch, routes  # noqa: E402,F401
