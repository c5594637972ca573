"""Every dashboard route, walked as a user of another organization, leaks nothing."""


import pytest

from app.extensions import db
from app.models import Call, Contact, DateOverride, Invite, QualificationQuestion
from app.models.base import utcnow
from app.models.widget import flow_for
from app.recordings.service import start_recording
from app.sites.service import create_site
from tests.conftest import Auth


@pytest.fixture
def victim(admin, rep):
    """Organization A's objects, one for each kind of id a route takes."""
    site = create_site(admin.organization_id, "secret-site.example.com")
    invite = Invite(organization_id=admin.organization_id, email="pending@acme.example.com", role="rep",
                    token_hash="x" * 64, expires_at=utcnow().replace(year=2100))
    override = DateOverride(organization_id=admin.organization_id, user_id=rep.id,
                            day=utcnow().date(), intervals=[])
    contact = Contact(organization_id=admin.organization_id, fingerprint="fp-secret",
                      email="secret-visitor@acme.example.com", name="Secret Visitor")
    call = Call(organization_id=admin.organization_id, site_id=site.id, contact=contact,
                visitor_fingerprint="fp-secret", status="requested")
    question = QualificationQuestion(organization_id=admin.organization_id, label="Secret question?",
                                     flow=flow_for(site))
    db.session.add_all([invite, override, contact, call, question])
    db.session.flush()
    recording = start_recording(call.id, admin.organization_id, "notice", visitor_name="Secret Visitor")
    db.session.commit()
    hooks = _webhook_objects(admin.organization_id)
    return {"site_id": site.id, "user_id": rep.id, "invite_id": invite.id, "override_id": override.id,
            "call_id": call.id, "contact_id": contact.id, "recording_id": recording.id,
            "question_id": question.id, **hooks,
            "_secrets": [site.public_key, "secret-site.example.com", rep.email, "pending@acme.example.com",
                         "https://secret-hook.example.com/in", "Secret CRM key",
                         "secret-visitor@acme.example.com", "Secret Visitor"]}


def _webhook_objects(org_id) -> dict:
    from app.api.auth import create_key
    from app.crypto import encrypt
    from app.models import Event, WebhookDelivery, WebhookEndpoint

    key, _ = create_key(org_id, "Secret CRM key", ["webhooks:read"])
    endpoint = WebhookEndpoint(organization_id=org_id, url="https://secret-hook.example.com/in",
                               secret_encrypted=encrypt("whsec_x"))
    event = Event(organization_id=org_id, type="call.ended", data={}, dispatched_at=utcnow())
    db.session.add_all([endpoint, event])
    db.session.flush()
    delivery = WebhookDelivery(organization_id=org_id, endpoint_id=endpoint.id, event_id=event.id)
    db.session.add(delivery)
    db.session.commit()
    return {"key_id": key.id, "endpoint_id": endpoint.id, "event_id": event.id, "delivery_id": delivery.id}


def _dashboard_rules(app):
    """Routes behind the dashboard login: not the public pages, not public blueprints (widget, API)."""
    from app.security import _public_blueprints

    public = {"static", "auth.login", "auth.signup", "team.join", "dashboard.root"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint not in public and rule.endpoint.split(".")[0] not in _public_blueprints:
            yield rule


def test_every_route_with_an_id_is_a_404_for_another_org(app, client, victim, other_admin):
    outsider = Auth(client)
    outsider.login(other_admin.email)
    checked = 0
    for rule in _dashboard_rules(app):
        ids = [a for a in rule.arguments]
        if not ids:
            continue
        missing = [a for a in ids if a not in victim]
        assert not missing, f"{rule.rule}: add an object of organization A for {missing} to this test"
        url = rule.build({a: victim[a] for a in ids})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = outsider.post(url) if method == "POST" else client.open(url, method=method)
            assert response.status_code == 404, f"{method} {url} -> {response.status_code}"
            checked += 1
    assert checked >= 5


def test_list_pages_show_only_own_organization(app, client, victim, other_admin):
    outsider = Auth(client)
    outsider.login(other_admin.email)
    for rule in _dashboard_rules(app):
        if rule.arguments or "GET" not in rule.methods:
            continue
        html = client.get(rule.rule).get_data(as_text=True)
        for secret in victim["_secrets"]:
            assert secret not in html, f"{rule.rule} shows {secret} of another organization"
