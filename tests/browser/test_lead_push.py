"""Lead push's "Send test" in a real Chromium, against a real lead endpoint that checks basic auth."""

import pytest
from playwright.sync_api import expect

from app.integrations import store
from tests.browser.conftest import start_server
from tests.browser.test_dashboard_pages import _login
from tests.providers import LEAD_AUTH, Providers


@pytest.fixture
def lead_endpoint():
    server = Providers()
    yield server
    server.close()


@pytest.fixture
def loopback_server(app, settings):
    """The app under gunicorn, allowed to push leads to a receiver on loopback."""
    proc, url = start_server(settings, extra_env={"WEBHOOK_ALLOW_HTTP": "true",
                                                   "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"})
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.mark.parametrize(("password", "answer"), [
    (LEAD_AUTH[1], "Test lead delivered: HTTP 200 in "),
    ("wrong", "Test lead failed: HTTP 401 in "),
])
def test_send_test_shows_how_the_endpoint_answered(browser, loopback_server, admin, lead_endpoint,
                                                   password, answer):
    settings = {"url": lead_endpoint.url + "/lead", "username": LEAD_AUTH[0], "trigger": "call.ended"}
    store.save(admin.organization_id, "lead_push", settings, {"password": password})
    page = browser.new_page()
    _login(page, loopback_server, admin.email)
    page.goto(loopback_server + "/settings/integrations/lead-push")
    page.get_by_role("button", name="Send test").click()
    expect(page.get_by_role("status")).to_contain_text(answer)
    assert page.url.endswith("/settings/integrations/lead-push")  # swapped in place
    (lead,) = lead_endpoint.seen("lead")
    assert lead[3]["email"] == "sam.sample@example.com"
