"""Helpers shared by the calls tests: a site, a qualified visitor's token, an online rep."""

import uuid

from app.extensions import db
from app.models import User
from app.models.widget import settings_for
from app.realtime import presence
from app.sites.service import create_site
from app.widget.tokens import sign_qualification

QUESTION = {
    "id": "7d7e4c1e-1111-4b1a-9c1e-000000000001", "label": "Company size", "type": "single_select",
    "required": True, "position": 1,
    "options": [{"label": "1-10", "value": "1-10"}, {"label": "11-50", "value": "11-50"}],
}
ANSWERS = [{
    "id": "7d7e4c1e-2222-4b1a-9c1e-000000000002", "questionId": QUESTION["id"], "position": 1,
    "question": QUESTION, "answer": {"value": "11-50"}, "createdAt": "2024-01-02T00:00:00.000Z",
}]


def make_site(organization_id, domain="shop.example.com", **settings):
    site = create_site(organization_id, domain)
    widget = settings_for(site)
    for key, value in settings.items():
        setattr(widget, key, value)
    db.session.commit()
    return site


CONTACT = {"name": "Vera Visitor", "email": "vera@example.org", "phone": "+1 512 555 0100"}


def qualification_token(site, answers=ANSWERS, flow_id=None, contact=CONTACT) -> str:
    """What /widget/qualify signs for a qualified visitor: their answers and validated contact."""
    return sign_qualification({"siteId": str(site.id), "flowId": flow_id, "outcome": "qualified",
                               "action": "call", "answers": answers, "contact": dict(contact)})


def call_body(site, fingerprint="fp-visitor-1", contact=CONTACT, **extra) -> dict:
    """A call request; a `contact` dict is the one the token carries (qualify validated it)."""
    if not isinstance(contact, dict):  # a malformed body, for the error tests
        extra["contact"] = contact
        contact = CONTACT
    contact = {"name": None, "email": None, "phone": None, **contact}
    body = {"publicKey": site.public_key, "qualificationToken": qualification_token(site, contact=contact),
            "fingerprint": fingerprint, "mediaType": "video",
            "attributes": {"plan": "pro"}, "pageUrl": "https://shop.example.com/pricing"}
    return {**body, **extra}


def go_online(user: User, available=True) -> str:
    """The rep toggled Available and has a dashboard open (a socket's presence entry)."""
    user.available = available
    db.session.commit()
    socket_id = uuid.uuid4().hex
    presence.touch(user.id, user.organization_id, socket_id)
    return socket_id
