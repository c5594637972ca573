"""Widget Settings, Theme and Qualifications: admins edit per site, with messages next to fields."""

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.widget import (
    QualificationFlow,
    QualificationQuestion,
    WidgetSettings,
    WidgetTheme,
    current_flow,
    flow_for,
    settings_for,
    theme_for,
)
from app.sites.service import create_site
from tests.conftest import Auth

SETTINGS = {"badge_label": "Talk to sales", "welcome_text": "Hi there", "collect_email": "required",
            "collect_phone": "optional", "countries": "us, ca", "domain_aliases": "www.example.com",
            "calendar_url": "https://cal.example.com/acme", "call_type": "video",
            "ring_timeout_seconds": "30", "hide_when_unavailable": "y"}


@pytest.fixture
def site(admin):
    return create_site(admin.organization_id, "example.com")


@pytest.fixture
def logged_in(auth, admin):
    auth.login(admin.email)
    return auth


def config(client, site):
    return client.get("/widget/config", query_string={"public_key": site.public_key,
                                                      "domain": "example.com"}).get_json()


@pytest.mark.parametrize("path", ["/widget/settings", "/widget/theme", "/widget/qualifications"])
def test_pages_are_for_admins(logged_in, client, rep, site, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "example.com" in html and 'id="widget-preview"' in html
    assert "/widget.js" in html and "widget_admin.js" in html
    logged_in.logout()
    Auth(client).login(rep.email)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ["/widget/settings", "/widget/theme", "/widget/qualifications"])
def test_no_site_yet_points_to_sites(logged_in, client, path):
    html = client.get(path).get_data(as_text=True)
    assert "Add a site first" in html


def test_site_picker_and_another_orgs_site(logged_in, client, admin, other_admin, site):
    second = create_site(admin.organization_id, "second.example.com")
    foreign = create_site(other_admin.organization_id, "globex.example.com")
    html = client.get(f"/widget/settings?site={second.id}").get_data(as_text=True)
    assert 'id="site-picker"' in html
    assert f'<option value="{second.id}" selected>' in html
    assert f"/widget/settings/{second.id}" in html
    assert client.get(f"/widget/settings?site={foreign.id}").status_code == 404


def test_settings_save_and_reach_the_widget_at_once(logged_in, client, site):
    assert config(client, site)["settings"]["badgeLabel"] == "Talk to us live"  # now cached
    response = logged_in.post(f"/widget/settings/{site.id}", SETTINGS, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Widget settings saved" in response.get_data(as_text=True)
    settings = db.session.scalar(sa.select(WidgetSettings))
    assert settings.countries == ["US", "CA"] and settings.domain_aliases == ["www.example.com"]
    assert settings.call_type == "video" and settings.ring_timeout_seconds == 30
    assert settings.hide_when_unavailable is True and settings.paused is False
    body = config(client, site)
    assert body["settings"]["badgeLabel"] == "Talk to sales"
    assert body["calendarUrl"] == "https://cal.example.com/acme"


@pytest.mark.parametrize(("change", "message"), [
    ({"countries": "US, UK"}, "UK is not a two-letter country code (ISO 3166). Did you mean GB?"),
    ({"collect_email": "off", "collect_phone": "off"}, "Collect at least an email or a phone number"),
    ({"calendar_url": "javascript:alert(1)"}, "starting with https://"),
    ({"ring_timeout_seconds": "5"}, "Between 10 and 300 seconds"),
    ({"badge_label": ""}, "The badge needs a label"),
    ({"domain_aliases": "not a domain"}, "not a valid domain"),
])
def test_settings_errors_show_next_to_the_field_and_save_nothing(logged_in, site, change, message):
    response = logged_in.post(f"/widget/settings/{site.id}", {**SETTINGS, **change},
                              headers={"HX-Request": "true"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'class="error"' in html and "<html" not in html
    assert settings_for(site).badge_label == "Talk to us live"


def test_settings_preview_is_the_unsaved_config(logged_in, site):
    response = logged_in.post(f"/widget/settings/{site.id}/preview", {**SETTINGS, "badge_label": "Draft"})
    body = response.get_json()
    assert body["settings"]["badgeLabel"] == "Draft" and body["preview"] is True
    assert settings_for(site).badge_label == "Talk to us live"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WidgetSettings)) == 1
    bad = logged_in.post(f"/widget/settings/{site.id}/preview", {**SETTINGS, "countries": "ZZ"})
    assert bad.status_code == 422 and "countries" in bad.get_json()["errors"]


THEME = {"primary_color": "#ff0000", "background_color": "#ffffff", "text_color": "#111111",
         "button_color": "#00aa00", "button_text_color": "#ffffff", "font_family": "serif",
         "border_radius": "4", "badge_position": "bottom-left", "copy_unavailable": "Back soon!",
     }


def test_theme_saves_colours_and_only_changed_copy(logged_in, client, site):
    default_ready = "You're all set. Someone is ready to talk now."
    response = logged_in.post(f"/widget/theme/{site.id}", {**THEME, "copy_ready": default_ready})
    assert response.status_code == 200
    theme = theme_for(site)
    assert theme.primary_color == "#ff0000" and theme.badge_position == "bottom-left"
    assert theme.copy == {"en": {"unavailable": "Back soon!"}}  # the default ready text is not stored
    body = config(client, site)["theme"]
    assert body["copy"]["unavailable"] == "Back soon!" and body["fontFamily"].startswith("Georgia")
    assert body["borderRadius"] == 4


@pytest.mark.parametrize(("change", "message"), [
    ({"primary_color": "red"}, "Use a colour like #4f46e5"),
    ({"border_radius": "99"}, "Between 0 and 32"),
    ({"copy_waiting": "x" * 301}, "under 300 characters"),
])
def test_theme_errors(logged_in, site, change, message):
    response = logged_in.post(f"/widget/theme/{site.id}", {**THEME, **change}, headers={"HX-Request": "true"})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert theme_for(site).primary_color == "#4f46e5"


def test_theme_preview(logged_in, site):
    body = logged_in.post(f"/widget/theme/{site.id}/preview", THEME).get_json()
    assert body["theme"]["primaryColor"] == "#ff0000" and body["theme"]["copy"]["unavailable"] == "Back soon!"
    assert theme_for(site).primary_color == "#4f46e5"


def _question(label, type_="single_select", options=(("Small", "", ""), ("Large", "", "y")), **extra):
    data = {"new-label": label, "new-type": type_, "new-required": "y", **extra}
    for i, (text, value, disqualifies) in enumerate(options):
        data[f"new-options-{i}-label"] = text
        data[f"new-options-{i}-value"] = value
        if disqualifies:
            data[f"new-options-{i}-disqualifies"] = "y"
    return data


def questions(site):
    db.session.expire_all()
    return [(q.label, q.position) for q in current_flow(site).questions]


def test_add_edit_reorder_remove_questions(logged_in, client, site):
    url = f"/widget/qualifications/{site.id}/questions"
    assert logged_in.post(url, _question("Company size"), headers={"HX-Request": "true"}).status_code == 200
    assert logged_in.post(url, _question("Seats", "number", (), **{"new-min_value": "1"})).status_code == 200
    first, second = flow_for(site).questions
    assert [(o.label, o.value, o.disqualifies) for o in first.options] == [
        ("Small", "Small", False), ("Large", "Large", True)]
    assert second.min_value == 1 and second.options == []

    logged_in.post(f"/widget/qualifications/questions/{second.id}/move", {"direction": "up"})
    assert questions(site) == [("Seats", 1), ("Company size", 2)]

    edit = {f"q-{first.id}-label": "Team size", f"q-{first.id}-type": "multi_select",
            f"q-{first.id}-options-0-label": "Solo", f"q-{first.id}-options-1-label": "Team",
            f"q-{first.id}-options-1-value": "team"}
    assert logged_in.post(f"/widget/qualifications/questions/{first.id}", edit).status_code == 200
    db.session.expire_all()
    question = db.session.get(QualificationQuestion, first.id)
    assert question.label == "Team size" and question.required is False
    assert [(o.label, o.value) for o in question.options] == [("Solo", "Solo"), ("Team", "team")]

    logged_in.post(f"/widget/qualifications/questions/{second.id}/delete")
    assert questions(site) == [("Team size", 1)]
    shown = config(client, site)["flow"]["questions"]
    assert [q["label"] for q in shown] == ["Team size"]


def test_add_and_remove_option_rows_without_saving(logged_in, site):
    """Add option gives one more row, Remove drops that row; nothing is saved until Save."""
    url = f"/widget/qualifications/{site.id}/questions"
    three = _question("Plan", options=(("Free", "", ""), ("Pro", "", ""), ("Team", "", "")))
    response = logged_in.post(url, {**three, "op": "add-option"}, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Question added" not in html
    rows = re.findall(r'<input[^>]*name="new-options-\d+-label"[^>]*>', html)
    assert len(rows) == 4  # the three sent, and the one added
    assert ["autofocus" in row for row in rows] == [False] * 3 + [True]  # the cursor goes to the new row
    assert questions(site) == []

    response = logged_in.post(url, {**three, "op": "remove-option-1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'value="Pro"' not in html
    assert 'value="Free"' in html and 'value="Team"' in html and questions(site) == []

    # what the page shows after Remove saves as shown: Free and Team
    saved = {k: v for k, v in three.items() if not k.startswith("new-options-1-")}
    assert logged_in.post(url, {**saved, "op": "save"}).status_code == 200
    assert [o.label for o in flow_for(site).questions[0].options] == ["Free", "Team"]


def test_option_rows_of_a_saved_question(logged_in, site):
    logged_in.post(f"/widget/qualifications/{site.id}/questions", _question("Size"))
    question = flow_for(site).questions[0]
    url = f"/widget/qualifications/questions/{question.id}"
    edit = {f"q-{question.id}-label": "Size", f"q-{question.id}-type": "single_select",
            f"q-{question.id}-options-0-label": "Small", f"q-{question.id}-options-1-label": "Large"}
    html = logged_in.post(url, {**edit, "op": "add-option"}, headers={"HX-Request": "true"}).get_data(True)
    assert len(re.findall(rf'name="q-{question.id}-options-\d+-label"', html)) == 3
    assert f'id="q-{question.id}-form"' in html and f'hx-select="#q-{question.id}-form"' in html
    html = logged_in.post(url, {**edit, "op": "remove-option-0"}).get_data(as_text=True)
    assert 'value="Small"' not in html and 'value="Large"' in html
    db.session.expire_all()
    assert [o.label for o in db.session.get(QualificationQuestion, question.id).options] == ["Small", "Large"]


@pytest.mark.parametrize(("data", "message"), [
    (_question(""), "Write the question."),
    (_question("Size", options=(("Only one", "", ""),)), "at least two options"),
    (_question("Size", options=(("A", "x", ""), ("B", "x", ""))), "same value"),
    (_question("Size", options=(("A", "", "y"), ("B", "", "y"))), "Every option disqualifies"),
    (_question("Seats", "number", (), **{"new-min_value": "10", "new-max_value": "5"}), "maximum is below"),
])
def test_question_errors(logged_in, site, data, message):
    url = f"/widget/qualifications/{site.id}/questions"
    response = logged_in.post(url, data, headers={"HX-Request": "true"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and "<html" not in html
    assert questions(site) == []


def test_flow_outcome_and_preview_with_rules(logged_in, site):
    url = f"/widget/qualifications/{site.id}/flow"
    response = logged_in.post(url, {"disqualified_action": "call_anyway"})
    assert response.status_code == 200 and flow_for(site).disqualified_action == "call_anyway"
    logged_in.post(f"/widget/qualifications/{site.id}/questions", _question("Company size"))
    body = logged_in.client.get(f"/widget/qualifications/{site.id}/preview").get_json()
    assert body["flow"]["disqualifiedAction"] == "call_anyway"
    assert [o["disqualifies"] for o in body["flow"]["questions"][0]["options"]] == [False, True]
    bad = logged_in.post(f"/widget/qualifications/{site.id}/flow", {"disqualified_action": "explode"})
    assert bad.status_code == 422 and "Not a valid choice" in bad.get_data(as_text=True)


def test_copy_is_escaped_in_the_dashboard(logged_in, client, site):
    settings_for(site).badge_label = '<img src=x onerror="alert(1)">'
    db.session.commit()
    html = client.get("/widget/settings").get_data(as_text=True)
    assert '<img src=x onerror' not in html and "&lt;img src=x" in html


def test_question_draft_preview_shows_unsaved_edits(logged_in, site):
    logged_in.post(f"/widget/qualifications/{site.id}/questions", _question("Company size"))
    logged_in.post(f"/widget/qualifications/{site.id}/questions", _question("Seats", "number", ()))
    first = flow_for(site).questions[0]
    url = f"/widget/qualifications/{site.id}/preview"
    edit = {"draft": str(first.id), f"q-{first.id}-label": "Team size (draft)",
            f"q-{first.id}-type": "single_select", f"q-{first.id}-options-0-label": "Solo",
            f"q-{first.id}-options-1-label": "Team", f"q-{first.id}-options-1-disqualifies": "y"}
    body = logged_in.post(url, edit).get_json()
    assert body["previewQuestion"] == 0
    assert [q["label"] for q in body["flow"]["questions"]] == ["Team size (draft)", "Seats"]
    team = body["flow"]["questions"][0]["options"][1]
    assert team == {"label": "Team", "value": "Team", "disqualifies": True}
    new = logged_in.post(url, {"draft": "new", **_question("Budget?")}).get_json()
    assert new["previewQuestion"] == 2 and new["flow"]["questions"][2]["label"] == "Budget?"
    assert [q.label for q in flow_for(site).questions] == ["Company size", "Seats"]  # nothing saved
    assert logged_in.post(url, {"draft": "new", **_question("")}).status_code == 422
    assert logged_in.post(url, {"draft": "not-a-uuid"}).status_code == 404


def _widget_rows() -> dict:
    return {model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (WidgetSettings, WidgetTheme, QualificationFlow)}


@pytest.mark.parametrize(("path", "shown"), [
    ("/widget/settings?site={site}", "Talk to us live"), ("/widget/theme?site={site}", "#4f46e5"),
    ("/widget/qualifications?site={site}", "No questions yet"),
    ("/widget/qualifications/{site}/preview", "Talk to us live")])
def test_looking_at_a_page_writes_nothing(logged_in, client, site, path, shown):
    """A site nobody configured yet: its pages show the defaults without creating rows for them."""
    response = client.get(path.format(site=site.id))
    assert response.status_code == 200 and shown in response.get_data(as_text=True)
    assert _widget_rows() == {"widget_settings": 0, "widget_theme": 0, "qualification_flow": 0}
