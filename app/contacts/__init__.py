"""Contacts: one per visitor identity, with their calls."""

from flask import Blueprint

bp = Blueprint("contacts", __name__)

from app.contacts import routes, search  # noqa: E402,F401  (search keeps contacts' search_text)
