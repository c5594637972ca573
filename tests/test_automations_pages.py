"""The Automations page: what an admin sees and does, form errors by their fields, CSRF, scoping."""

import re
from html import unescape

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.integrations import store
from app.models import AutomationRule
from tests.conftest import LOOPBACK_HOOKS, run_jobs
from tests.providers import Providers
from tests.test_integrations_connections import call_event

PAGE = "/settings/automations"


@pytest.fixture(scope="module")
def providers():
    server = Providers()
    yield server
    server.close()


@pytest.fixture
def app(make_app, providers):
    providers.requests.clear()
    app = make_app(**LOOPBACK_HOOKS, **providers.config())
    with app.app_context():
        yield app


@pytest.fixture
def admin_auth(auth, admin):
    assert auth.login(admin.email).status_code in (302, 303)
    return auth


def rule_named(name) -> AutomationRule:
    db.session.expire_all()
    return db.session.scalar(sa.select(AutomationRule).where(AutomationRule.name == name))


def error_next_to(html: str, field_id: str) -> str:
    found = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', html)
    return found.group(1) if found else ""


def make(admin_auth, name="Big leads", trigger="call.missed") -> AutomationRule:
    response = admin_auth.post(PAGE, {"name": name, "trigger": trigger})
    assert response.status_code == 303
    rule = rule_named(name)
    assert response.headers["Location"].endswith(f"{PAGE}/{rule.id}")
    return rule


def test_admins_see_the_standard_alerts_and_reps_are_refused(client, auth, admin, rep):
    auth.login(rep.email)
    assert client.get(PAGE).status_code == 403
    assert "Automations" not in client.get("/calls").get_data(as_text=True)
    auth.logout()
    auth.login(admin.email)
    html = client.get(PAGE).get_data(as_text=True)
    assert "Standard Slack and Discord alerts" in html and "Missed call alert" in html
    assert 'href="/settings/automations"' in html  # the sidebar entry
    assert "callback.requested" in html and "contact.disqualified" in html  # every registry type


def test_create_needs_a_name_and_csrf(client, admin_auth):
    response = admin_auth.post(PAGE, {"name": "", "trigger": "call.missed"})
    assert response.status_code == 422
    assert error_next_to(response.get_data(as_text=True), "name") == "Give the rule a name."
    assert client.post(PAGE, data={"name": "No token", "trigger": "call.missed"}).status_code == 400
    assert rule_named("No token") is None
    make(admin_auth)


@pytest.mark.parametrize("data, field_id, message", [
    ({"field": "answer", "key": "", "op": "is", "value": "x"}, "key", "Enter the question to check."),
    ({"field": "contact", "key": "age", "op": "is", "value": "x"}, "key", "Write name, email or phone."),
    ({"field": "time", "op": "between", "value": "9-5"}, "value", "Write the hours as 09:00-17:30"),
    ({"field": "duration", "op": "gt", "value": "long"}, "value", "Enter a number."),
    ({"field": "country", "op": "is", "value": ""}, "value", "Enter the value to compare with."),
])
def test_condition_errors_show_next_to_the_field(admin_auth, data, field_id, message):
    rule = make(admin_auth)
    response = admin_auth.post(f"{PAGE}/{rule.id}/conditions", data)
    assert response.status_code == 422
    assert error_next_to(response.get_data(as_text=True), field_id).startswith(message)
    assert rule_named("Big leads").conditions == []


def test_conditions_are_added_and_removed(client, admin_auth):
    rule = make(admin_auth)
    assert admin_auth.post(f"{PAGE}/{rule.id}/conditions",
                           {"field": "country", "op": "is", "value": "FR, DE"}).status_code == 303
    assert admin_auth.post(f"{PAGE}/{rule.id}/conditions",
                           {"field": "answer", "key": "Company size", "op": "is",
                            "value": "11-50"}).status_code == 303
    html = unescape(client.get(f"{PAGE}/{rule.id}").get_data(as_text=True))
    assert "Visitor's country is FR, DE" in html and "Answer to a question “Company size” is 11-50" in html
    assert admin_auth.post(f"{PAGE}/{rule.id}/conditions/0/delete").status_code == 303
    assert [c["field"] for c in rule_named("Big leads").conditions] == ["answer"]


def test_actions_with_their_errors_order_and_edit(client, admin_auth, admin, rep):
    store.save(admin.organization_id, "slack", {"teamId": "T-acme", "channelId": "C-acme-sales",
                                                "channelName": "sales-alerts"},
               {"access_token": "xoxb-acme", "token_type": "Bearer"})
    rule = make(admin_auth)
    url = f"{PAGE}/{rule.id}/actions"
    form = client.get(f"{PAGE}/{rule.id}?kind=slack").get_data(as_text=True)
    assert "#general" in form and "#sales-alerts" in form  # the connected workspace's channels
    bad = admin_auth.post(url, {"kind": "slack", "channel_id": "C-acme-general",
                                "template": "Hi {{ contact.name"})
    assert bad.status_code == 422
    assert error_next_to(bad.get_data(as_text=True), "template").startswith("The template has an error")
    unsafe = admin_auth.post(url, {"kind": "webhook", "url": "ftp://example.com/x"})
    assert error_next_to(unsafe.get_data(as_text=True), "url").startswith("The URL must start with")
    nobody = admin_auth.post(url, {"kind": "email", "to": "teammate", "subject": "x", "template": "y"})
    assert error_next_to(nobody.get_data(as_text=True), "user_id") == "Pick the teammate."
    assert admin_auth.post(url, {"kind": "slack", "channel_id": "C-acme-general",
                                 "template": "Missed {{ contact.name }}"}).status_code == 303
    assert admin_auth.post(url, {"kind": "delay", "amount": "2", "unit": "hours",
                                 "unless": "callback_done"}).status_code == 303
    assert admin_auth.post(url, {"kind": "assign", "target": "contact",
                                 "user_id": str(rep.id)}).status_code == 303
    slack, delay, assign = rule_named("Big leads").actions
    assert (slack["channel_name"], delay["minutes"]) == ("general", 120)
    admin_auth.post(f"{url}/{delay['id']}/move", {"direction": "up"})
    assert [a["kind"] for a in rule_named("Big leads").actions] == ["delay", "slack", "assign"]
    edit = client.get(f"{url}/{slack['id']}/edit").get_data(as_text=True)
    assert "Missed {{ contact.name }}" in edit and "Save the action" in edit
    assert admin_auth.post(url, {"action_id": slack["id"], "kind": "slack", "channel_id": "C-acme-sales",
                                 "template": "Changed"}).status_code == 303
    edited = rule_named("Big leads").actions[1]
    assert (edited["id"], edited["template"]) == (slack["id"], "Changed")
    assert edited["channel_id"] == "C-acme-sales"
    admin_auth.post(f"{url}/{assign['id']}/delete")
    html = client.get(f"{PAGE}/{rule.id}").get_data(as_text=True)
    assert "Wait 2 h (stop if the callback was done meanwhile)" in html
    assert "Post to Slack #sales-alerts" in html
    assert "Assign the contact" not in html


def test_assign_needs_a_rep_or_a_team(client, admin_auth, admin, rep):
    from app.models import Team

    team = Team(organization_id=admin.organization_id, name="DACH")
    db.session.add(team)
    db.session.commit()
    rule = make(admin_auth)
    url = f"{PAGE}/{rule.id}/actions"
    both = admin_auth.post(url, {"kind": "assign", "target": "callback", "user_id": str(rep.id),
                                 "team_id": str(team.id)})
    assert error_next_to(both.get_data(as_text=True), "user_id") == "Pick the rep, or the team (one of them)."
    response = admin_auth.post(url, {"kind": "assign", "target": "callback", "team_id": str(team.id)})
    assert response.status_code == 303
    assert "Assign the callback to the team DACH" in client.get(f"{PAGE}/{rule.id}").get_data(as_text=True)


def test_preview_renders_the_last_real_event_and_the_run_log_shows_it(app, client, admin_auth, admin):
    rule = make(admin_auth)
    admin_auth.post(f"{PAGE}/{rule.id}/actions",
                    {"kind": "discord", "template": "Missed {{ contact.name }}!"})
    assert "No <code>call.missed</code> event has happened yet" in client.get(
        f"{PAGE}/{rule.id}/preview", headers={"HX-Request": "true"}).get_data(as_text=True)
    call_event(admin.organization_id, "call.missed")
    run_jobs(app)
    preview = client.get(f"{PAGE}/{rule.id}/preview", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Missed Vera Visitor!" in preview and "Matched (no conditions)" in preview
    html = client.get(f"{PAGE}/{rule.id}").get_data(as_text=True)
    assert "Discord is not connected: connect it in Settings → Integrations." in html  # the run log


def test_a_paused_rule_says_why_and_resumes(client, admin_auth):
    rule = make(admin_auth)
    rule.paused_reason = "Paused after 5 failed runs in a row. Last error: Call https://x.example: HTTP 500"
    db.session.commit()
    html = client.get(f"{PAGE}/{rule.id}").get_data(as_text=True)
    assert "This rule is paused" in html and "Last error: Call https://x.example: HTTP 500" in html
    assert "Paused" in client.get(PAGE).get_data(as_text=True)
    assert admin_auth.post(f"{PAGE}/{rule.id}/resume").status_code == 303
    assert rule_named("Big leads").paused_reason is None


def test_settings_and_standard_alerts(client, admin_auth):
    rule = make(admin_auth)
    assert admin_auth.post(f"{PAGE}/{rule.id}", {"name": "Renamed", "trigger": "callback.requested",
                                                 "match": "any"}).status_code == 303
    renamed = rule_named("Renamed")
    assert (renamed.trigger, renamed.match, renamed.enabled) == ("callback.requested", "any", False)
    client.get(PAGE)
    alert = rule_named("Missed call alert")
    refused = admin_auth.post(f"{PAGE}/{alert.id}", {"name": "x", "trigger": "call.ended", "match": "all",
                                                     "enabled": "y"})
    assert refused.status_code == 422 and "keeps its event" in error_next_to(refused.get_data(as_text=True),
                                                                            "trigger")
    admin_auth.post(f"{PAGE}/{alert.id}/delete")
    assert rule_named("Missed call alert") is not None
    assert admin_auth.post(f"{PAGE}/{renamed.id}/delete").status_code == 303
    assert rule_named("Renamed") is None


def test_another_organizations_rules_are_not_found(client, auth, admin, other_admin):
    auth.login(other_admin.email)
    client.get(PAGE)
    theirs = rule_named("Missed call alert")  # the other organization's own standard rule
    auth.logout()
    auth.login(admin.email)
    for path in ("", "/preview", "/actions/slack-alert/edit"):
        assert client.get(f"{PAGE}/{theirs.id}{path}").status_code == 404
    for path in ("", "/conditions", "/actions", "/resume", "/delete"):
        response = auth.post(f"{PAGE}/{theirs.id}{path}", {"name": "x", "trigger": "call.missed"})
        assert response.status_code == 404
    assert rule_named("Missed call alert").name == "Missed call alert"
