"""Every dashboard route, walked as a user of another organization, leaks nothing."""


import pytest

from app.extensions import db
from app.models import Call, Callback, Contact, DateOverride, Invite, OutcomeRule, QualificationQuestion
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
    callback = Callback(organization_id=admin.organization_id, contact=contact, reason="missed",
                        name="Secret Visitor", email="secret-visitor@acme.example.com", due_at=utcnow())
    rule = OutcomeRule(organization_id=admin.organization_id, site_id=site.id, outcome="message",
                       conditions=[{"source": "answer", "key": "x", "op": "equals", "value": "Secret"}])
    db.session.add_all([invite, override, contact, call, question, callback, rule])
    db.session.flush()
    recording = start_recording(call.id, admin.organization_id, "notice", visitor_name="Secret Visitor")
    db.session.commit()
    hooks = _webhook_objects(admin.organization_id)
    team, script, automation = _settings_objects(admin)
    return {"site_id": site.id, "user_id": rep.id, "invite_id": invite.id, "override_id": override.id,
            "call_id": call.id, "contact_id": contact.id, "recording_id": recording.id,
            "question_id": question.id, "callback_id": callback.id, "rule_id": rule.id, **hooks,
            "team_id": team.id, "script_id": script.id,
            # the automations' routes take their own rule (and one of its actions)
            "automations": {"rule_id": automation.id, "action_id": automation.actions[0]["id"], "index": 0},
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


def _settings_objects(admin):
    from app.custom_scripts.service import create_script
    from app.models.automations import AutomationRule
    from app.models.routing import Team

    team = Team(organization_id=admin.organization_id, name="Secret team")
    script = create_script(admin.organization_id, admin, name="Secret script", surface="dashboard",
                           kind="css", screens=[], site_ids=[], enabled=True, content="body{}")
    automation = AutomationRule(organization_id=admin.organization_id, name="Secret rule",
                                trigger="call.ended",
                                conditions=[{"field": "status", "op": "is", "value": "ended"}],
                                actions=[{"id": "a1", "kind": "tag", "tag": "secret"}])
    db.session.add_all([team, automation])
    db.session.commit()
    return team, script, automation


# routes whose arguments name no object (a report of the viewer's own organization)
NOT_AN_ID = {"analytics.export"}


def _dashboard_rules(app):
    """Routes behind the dashboard login: not the public pages, not public blueprints (widget, API)."""
    from app.security import _public_blueprints

    public = {"static", "auth.login", "auth.signup", "auth.forgot_password", "auth.reset_password",
              "team.join", "dashboard.root"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint not in public and rule.endpoint.split(".")[0] not in _public_blueprints:
            yield rule


def test_every_route_with_an_id_is_a_404_for_another_org(app, client, victim, other_admin):
    outsider = Auth(client)
    outsider.login(other_admin.email)
    checked = 0
    for rule in _dashboard_rules(app):
        ids = [a for a in rule.arguments]
        if not ids or rule.endpoint in NOT_AN_ID:
            continue
        objects = {**victim, **victim.get(rule.endpoint.split(".")[0], {})}
        missing = [a for a in ids if a not in objects]
        assert not missing, f"{rule.rule}: add an object of organization A for {missing} to this test"
        url = rule.build({a: objects[a] for a in ids})[1]
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
