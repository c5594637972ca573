"""An admin builds an automation rule in Chromium and reads what it did in the run log."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.conftest import run_jobs
from tests.test_integrations_connections import call_event

pytestmark = pytest.mark.loopback_hooks


def test_build_a_rule_preview_it_and_read_its_run_log(app, page, admin, receiver):
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    log_in(page, admin.email)

    page.get_by_role("link", name="Automations").click()
    expect(page.get_by_role("link", name="Missed call alert")).to_be_visible()
    page.get_by_label("Name").fill("Missed calls to our CRM")
    page.get_by_label("When this happens").select_option("call.missed")
    page.get_by_role("button", name="Create rule").click()
    expect(page.get_by_role("heading", name="Missed calls to our CRM")).to_be_visible()

    page.get_by_label("Check").select_option("answer")
    page.get_by_label("Which one").fill("Company size")
    page.get_by_label("Value").fill("11-50")
    page.get_by_role("button", name="Add condition").click()
    expect(page.get_by_text("Answer to a question “Company size” is 11-50")).to_be_visible()

    page.get_by_label("Do this").select_option("webhook")
    page.get_by_role("button", name="Choose").click()
    page.get_by_label("Endpoint URL").fill(receiver.url + "/crm")
    page.get_by_label("Message").fill("{{ contact.name missed us")
    page.get_by_role("button", name="Add action").click()
    expect(page.get_by_text("The template has an error")).to_be_visible()  # next to the field
    page.get_by_label("Message").fill("{{ contact.name }} missed us ({{ answers['Company size'] }})")
    page.get_by_role("button", name="Add action").click()
    expect(page.get_by_text(f"Call {receiver.url}/crm")).to_be_visible()

    call_event(admin.organization_id, "call.missed")
    run_jobs(app)
    assert receiver.wait_for("/crm")[0].body == b"Vera Visitor missed us (11-50)"
    page.get_by_role("link", name="Preview with the last event").click()
    expect(page.locator("#preview-result")).to_contain_text("Vera Visitor missed us (11-50)")
    page.reload()
    expect(page.locator("#runs")).to_contain_text("Matched all conditions")
    expect(page.locator("#runs")).to_contain_text("HTTP 200")
    assert not [p for p in problems if "Content Security Policy" in p], problems
