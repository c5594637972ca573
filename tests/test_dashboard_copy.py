"""What a newcomer reads on the dashboard pages: no false errors, no contradictions."""

import pytest

from tests.calls_support import make_site


@pytest.mark.parametrize("query", ["", "?status=&site=&rep=&date_from=&date_to="])
def test_the_calls_page_shows_no_error_for_empty_filters(client, auth, admin, query):
    make_site(admin.organization_id, "shop.example.com")
    auth.login(admin.email)
    html = client.get("/calls" + query).get_data(as_text=True)
    assert "Not a valid choice" not in html
    assert "Not a valid date value" not in html


def test_the_calls_page_still_names_a_bad_filter(client, auth, admin):
    auth.login(admin.email)
    html = client.get("/calls?status=bogus&date_from=yesterday").get_data(as_text=True)
    assert "Not a valid choice" in html
    assert "Not a valid date value" in html


def test_availability_with_no_default_hours_does_not_list_unavailable_days(client, auth, admin, rep):
    auth.login(rep.email)
    html = client.get("/settings/availability").get_data(as_text=True)
    assert "the Available switch alone decides" in html
    assert "Unavailable" not in html
    assert "Any time Available is on" in html


def test_home_page_grammar_for_a_rep(client, auth, admin, rep):
    auth.login(rep.email)
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Your admin adds the website and pastes the widget snippet" in html
    assert "in their dashboard" not in html


def test_the_invite_form_is_empty_after_sending(client, auth, admin):
    import re

    auth.login(admin.email)
    response = auth.post("/team/invites", {"email": "newbie@acme.example.com", "role": "rep"})
    html = response.get_data(as_text=True)
    assert "/invite/" in html  # the link to copy is shown
    email_input = re.search(r'<input[^>]*name="email"[^>]*>', html).group(0)
    assert "newbie@acme.example.com" not in email_input


def test_the_webhook_url_help_follows_the_configuration(make_app, admin):
    from tests.conftest import Auth

    for allow_http, expected in ((False, "An https URL on your server"), (True, "An https or http URL")):
        app = make_app(WEBHOOK_ALLOW_HTTP=allow_http)
        with app.app_context():
            auth = Auth(app.test_client())
            auth.login(admin.email)
            assert expected in auth.client.get("/settings/integrations/webhooks").get_data(as_text=True)


def test_times_show_in_the_viewers_timezone_and_say_which(client, auth, admin, rep):
    from datetime import UTC, datetime

    from app.calls import service
    from app.extensions import db
    from app.models import Call, RepSchedule
    from tests.calls_support import go_online

    site = make_site(admin.organization_id, "shop.example.com")
    go_online(rep)
    call = service.request_call(site, fingerprint="fp-tz", qualification={"answers": []},
                                contact={"name": "Tz"})
    db.session.get(Call, call.id).requested_at = datetime(2026, 1, 15, 14, 5, tzinfo=UTC)
    db.session.add(RepSchedule(organization_id=admin.organization_id, user_id=admin.id,
                               timezone="Europe/Berlin"))
    db.session.commit()
    auth.login(admin.email)
    assert "2026-01-15 15:05 CET" in client.get("/calls").get_data(as_text=True)
    assert "2026-01-15 15:05 CET" in client.get(f"/calls/{call.id}").get_data(as_text=True)
    auth.logout()
    auth.login(rep.email)  # no timezone of their own, none for the team: UTC, and it says so
    assert "2026-01-15 14:05 UTC" in client.get(f"/calls/{call.id}").get_data(as_text=True)
