"""An admin creates an API key and a webhook endpoint, sends a test event and reads the log, in Chromium."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in

pytestmark = pytest.mark.loopback_hooks


def test_api_key_and_webhook_test_event(page, admin, receiver):
    log_in(page, admin.email)

    page.get_by_role("link", name="Integrations").click()
    page.get_by_role("link", name="API Keys").click()
    page.get_by_label("Name").fill("Zapier")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-api-key")).to_contain_text("cvk_")
    expect(page.get_by_role("cell", name="Zapier")).to_be_visible()

    page.goto("/settings/integrations/webhooks")
    page.get_by_label("Endpoint URL").fill("https://10.0.0.7/hook")
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_text("not a public internet address")).to_be_visible()
    page.get_by_label("Endpoint URL").fill(receiver.url + "/hook")
    page.get_by_label("call.ended").check()
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.locator("#new-secret")).to_contain_text("whsec_")

    page.get_by_role("link", name="Open the endpoint to send a test event").click()
    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_text("Test event delivered: HTTP 200")).to_be_visible()
    assert receiver.wait_for("/hook")[0].headers["x-ic-event"] == "webhook.test"
    page.get_by_role("link", name="See the request").click()
    expect(page.get_by_role("heading", name="webhook.test delivery")).to_be_visible()
    expect(page.get_by_text("HTTP 200")).to_be_visible()

    page.go_back()
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Roll secret").click()
    expect(page.get_by_text("The new signing secret")).to_be_visible()
    assert dialogs == ["Create a new signing secret?"]
