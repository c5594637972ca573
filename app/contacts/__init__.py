"""Contacts: one per visitor identity, with their calls."""

from flask import Blueprint

bp = Blueprint("contacts", __name__)

from app.contacts import routes  # noqa: E402,F401
