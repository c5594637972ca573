"""Contacts: list and search (email, phone), get, create, update, and delete = erasure."""

import sqlalchemy as sa
from flask import jsonify, request

from app.api import bp
from app.api.auth import require_api_key
from app.api.errors import ApiError
from app.api.v1.common import (
    PREFIX,
    json_body,
    list_response,
    listed,
    org_object_or_404,
    text_field,
)
from app.contacts import service
from app.models import Contact
from app.tenancy import org_select

LIMITS = {"name": 120, "email": 254, "phone": 40}


def _searched(query):
    email, phone, text = request.args.get("email"), request.args.get("phone"), request.args.get("q")
    if text is not None:
        if len(text) > service.MAX_SEARCH or "\x00" in text:
            raise ApiError(400, "invalid_request", f"q must be at most {service.MAX_SEARCH} characters.")
        query = service.matching(query, text)
    if email is not None:
        query = query.where(sa.func.lower(Contact.email) == email.strip().lower())
    if phone is not None:
        digits = "".join(ch for ch in phone if ch.isdigit())
        if not digits:
            raise ApiError(400, "invalid_request", "phone must contain digits.")
        query = query.where(service.phone_digits(Contact.phone) == digits)
    return query


@bp.get(PREFIX + "/contacts")
@require_api_key("contacts:read")
def contacts_list():
    """Contacts, newest first; `q` searches free text, `email` / `phone` exactly; updated_since for sync."""
    rows, cursor = listed(_searched(org_select(Contact)), Contact, Contact.created_at, descending=True)
    return list_response(rows, cursor, service.contact_json)


def _values(data: dict) -> dict:
    unknown = sorted(set(data) - set(LIMITS))
    if unknown:
        raise ApiError(400, "invalid_request",
                       f"Unknown field {unknown[0]}: a contact has {', '.join(LIMITS)}.")
    values = {name: text_field(data, name, limit) for name, limit in LIMITS.items() if name in data}
    if values.get("email") and "@" not in values["email"]:
        raise ApiError(400, "invalid_request", "email must be an email address.")
    return values


@bp.post(PREFIX + "/contacts")
@require_api_key("contacts:write")
def contacts_create():
    """Add a contact (at least an email, a phone or a name)."""
    from app.tenancy import current_organization_id

    values = _values(json_body())
    if not any(values.values()):
        raise ApiError(400, "invalid_request", "Give the contact a name, an email or a phone.")
    return jsonify(service.contact_json(service.create(current_organization_id(), values))), 201


@bp.get(PREFIX + "/contacts/<contact_id>")
@require_api_key("contacts:read")
def contacts_show(contact_id):
    """One contact."""
    return jsonify(service.contact_json(org_object_or_404(Contact, contact_id, "Contact")))


@bp.patch(PREFIX + "/contacts/<contact_id>")
@require_api_key("contacts:write")
def contacts_update(contact_id):
    """Change a contact's name, email or phone (contact.updated names the fields that changed)."""
    contact = org_object_or_404(Contact, contact_id, "Contact")
    return jsonify(service.contact_json(service.update(contact, _values(json_body()))))


@bp.delete(PREFIX + "/contacts/<contact_id>")
@require_api_key("contacts:write")
def contacts_delete(contact_id):
    """Erase a contact: it, its calls' personal data, their recordings and transcripts (contact.deleted)."""
    contact = org_object_or_404(Contact, contact_id, "Contact")
    contact_id = str(contact.id)
    erased = service.erase(contact)
    return jsonify({"id": contact_id, "deleted": True, "erased": erased})
