"""Custom scripts in a real Chromium: a dashboard script on the call screen, and widget scripts and
CSS on the contact step; each runs once per screen (no duplicates on a re-run), is torn down when
the screen changes, and a script that throws leaves the surface working."""

import time

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.calls import service as calls
from app.custom_scripts import service as svc
from app.extensions import db
from app.models.custom_scripts import CustomScript, CustomScriptLog
from app.sites.service import create_site
from tests.browser.conftest import log_in, snippet
from tests.browser.test_widget import available
from tests.calls_support import go_online

NOTE = """
const seen = globalThis.__cs ??= { runs: 0, teardowns: 0, screens: [] };
export default function (ctx) {
  seen.runs++;
  seen.screens.push(ctx.screen);
  const note = document.createElement("p");
  note.className = "cs-note";
  note.textContent = "We answer within a day (" + ctx.site.domain + ")";
  ctx.mount(note);
  ctx.on("qualified", () => ctx.log("qualified seen"));
  ctx.log("ran on", ctx.screen);
  return () => { seen.teardowns++; };
}
"""
CSS = ".body{border-top:7px solid rgb(1, 2, 3)}"
THROWS = "export default function () { throw new Error('boom on ' + 'purpose'); }"

CRM = """
export default function (ctx) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "cs-crm";
  button.textContent = "Open " + ctx.contact.name + " in CRM";
  ctx.mount(button, document.querySelector(".call-controls"));
  return () => ctx.log("teardown on " + ctx.screen);
}
"""


def add(admin, name, surface, kind, screens, content):
    return svc.create_script(admin.organization_id, admin, name=name, surface=surface, kind=kind,
                             screens=screens, site_ids=[], enabled=True, content=content)


def logs(script, text):
    return db.session.scalar(sa.select(sa.func.count()).select_from(CustomScriptLog).where(
        CustomScriptLog.script_id == script.id, CustomScriptLog.message.contains(text)))


def eventually(check, timeout=30.0):
    """Poll what the browser posted back (keepalive requests land when they land)."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.expire_all()
        if check():
            return
        if time.monotonic() > deadline:
            raise AssertionError("not reached in time")
        time.sleep(0.2)


def errors_of(script):
    return db.session.scalar(sa.select(CustomScript.error_count).where(CustomScript.id == script.id))


@pytest.fixture
def site(admin):
    return create_site(admin.organization_id, "localhost")


def test_widget_scripts_and_css_on_the_contact_step(page, live_server, customer, site, admin):
    available(admin)
    note = add(admin, "Contact note", "widget", "js", ["contact"], NOTE)
    add(admin, "Contact style", "widget", "css", ["contact"], CSS)
    broken = add(admin, "Broken", "widget", "js", ["contact"], THROWS)
    page.goto(customer.page("/", snippet(live_server, site.public_key)))
    page.get_by_role("button", name="Talk to us live").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Start").click()

    # the contact step: the note once, the style inside the shadow root only
    notes = page.locator(".cs-note")
    expect(notes).to_have_count(1)
    expect(notes).to_have_text("We answer within a day (localhost)")
    body = page.locator("converc-widget .body")
    assert body.evaluate("b => getComputedStyle(b).borderTopWidth") == "7px"
    assert page.evaluate("getComputedStyle(document.body).borderTopWidth") == "0px"

    # the step re-rendered (a bad email): torn down, run again, still one note
    dialog.get_by_label("Email").fill("not-an-email")
    dialog.get_by_role("button", name="Next").click()
    expect(dialog.get_by_text("valid email", exact=False)).to_be_visible()
    expect(notes).to_have_count(1)
    assert page.evaluate("[__cs.runs, __cs.teardowns]") == [2, 1]

    # another step: teardown, the note and the style are gone
    dialog.get_by_role("button", name="Back").click()
    expect(dialog.get_by_role("button", name="Start")).to_be_visible()
    expect(notes).to_have_count(0)
    assert page.evaluate("[__cs.runs, __cs.teardowns]") == [2, 2]
    assert body.evaluate("b => getComputedStyle(b).borderTopWidth") == "0px"

    # the throwing script never stopped the widget: the visitor gets to the call
    dialog.get_by_role("button", name="Start").click()
    expect(notes).to_have_count(1)
    dialog.get_by_label("Email").fill("vera@example.org")
    dialog.get_by_role("button", name="Next").click()
    expect(dialog.get_by_role("button", name="Audio call")).to_be_visible()
    expect(notes).to_have_count(0)
    ran = page.evaluate("[__cs.runs, __cs.teardowns, __cs.screens.join()]")
    assert ran == [3, 3, "contact,contact,contact"]

    # the page of each script shows what browsers reported: errors counted, ctx.log() lines
    eventually(lambda: errors_of(broken) == 3 and logs(note, "ran on contact") == 3)
    assert logs(broken, "boom on purpose") == 3
    assert errors_of(note) == 0


def test_dashboard_script_adds_a_button_on_the_call_screen(page, live_server, admin, rep):
    site = create_site(admin.organization_id, "shop.example.com")
    go_online(rep)
    call = calls.request_call(site, fingerprint="fp-a", qualification={"answers": []},
                              contact={"name": "Alice Answered", "email": "alice@example.org"})
    calls.accept(call.id, rep)
    crm = add(admin, "CRM button", "dashboard", "js", ["call"], CRM)
    broken = add(admin, "Broken", "dashboard", "js", ["call"], THROWS)
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    log_in(page, rep.email)
    page.goto(f"/calls/{call.id}/live")
    buttons = page.locator("button.cs-crm")
    expect(buttons).to_have_count(1)
    expect(buttons).to_have_text("Open Alice Answered in CRM")
    assert page.locator(".call-controls button.cs-crm").count() == 1

    # htmx refreshes part of the page's content (the visitor's card): a teardown, a fresh run, one button
    page.evaluate("htmx.ajax('GET', location.pathname, {target: '.visitor-card', select: '.visitor-card', "
                  "swap: 'outerHTML'})")
    eventually(lambda: logs(crm, "teardown on call") == 1)
    expect(buttons).to_have_count(1)

    # the throwing script left the call screen working
    page.get_by_role("button", name="Mute").click()
    expect(page.get_by_role("button", name="Unmute")).to_be_visible()

    # hanging up leaves the call screen: the script's teardown runs, and the next page has no button
    page.get_by_role("button", name="Hang up").click()
    page.wait_for_url(f"**/calls/{call.id}", timeout=30000)
    expect(page.get_by_role("heading", name="Alice Answered", exact=False).first).to_be_visible()
    assert buttons.count() == 0
    eventually(lambda: logs(crm, "teardown on call") == 2 and errors_of(broken) == 2)
    assert errors_of(crm) == 0
    assert violations == []
