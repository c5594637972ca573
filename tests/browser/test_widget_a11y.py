"""The widget on real customer pages, whole flows at a time (issue #12): axe finds nothing on any
screen, on a desktop and on a 390 px phone in Arabic (right to left); and on a host page that is
cross-origin isolated (COEP require-corp), enforces Trusted Types and forbids the camera, the
widget still carries the visitor to an audio call, saying why it is audio only, while a page that
forbids the microphone too offers to leave details instead.

Each walk is one page load and one flow (CI time): a real server, real call requests, the call
moved along by the same service functions the rep's dashboard calls."""

import time

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from app.availability import service as availability
from app.extensions import db
from app.i18n import catalogue
from app.models import Call, Callback
from app.models.widget import settings_for
from tests.browser.conftest import snippet
from tests.browser.test_widget import add_question, available
from tests.browser.test_widget_privacy import wait_status
from tests.calls_support import make_site

AXE = Axe()
PHONE_READY = '<meta name="viewport" content="width=device-width, initial-scale=1">'
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def site(admin):
    site = make_site(admin.organization_id, "localhost", ring_timeout_seconds=120)
    add_question(site, "Company size", options=[("1-10", False), ("11-50", False)])
    return site


def no_axe_violations(page, screen):
    """axe-core over the widget (its shadow root included), every rule it runs by default."""
    expect(page.locator("converc-widget")).to_be_attached()
    results = AXE.run(page, context="converc-widget")
    assert results.violations_count == 0, f"{screen}: {results.generate_report()}"


def callback_stored(timeout=20):
    deadline = time.monotonic() + timeout
    while not db.session.scalar(sa.select(sa.func.count()).select_from(Callback)):
        assert time.monotonic() < deadline, "no callback was stored"
        time.sleep(0.2)
        db.session.expire_all()


def visitor_page(browser, viewport, locale):
    context = browser.new_context(viewport=viewport, locale=locale, is_mobile=viewport["width"] < 500,
                                  has_touch=viewport["width"] < 500)
    page = context.new_page()
    page.violations = []
    # errors the widget or the browser's policies report (a customer page's missing favicon is no concern)
    page.on("console", lambda m: page.violations.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    return page


@pytest.mark.parametrize("device, lang", [("desktop", "en"), ("phone", "ar")])
def test_every_screen_passes_axe_on_a_desktop_and_a_phone_in_arabic(browser, live_server, customer, site,
                                                                    admin, device, lang):
    """welcome → question (and its error) → contact → ready → ringing → call → ended → closed;
    reopened when nobody is available any more → leave details (and its error) → thanks."""
    from app.calls import service

    settings_for(site).follow_browser_language = True  # the site speaks English; the phone's browser Arabic
    db.session.commit()
    available(admin)
    t, viewport = catalogue(lang), VIEWPORTS[device]
    page = visitor_page(browser, viewport, lang)
    page.goto(customer.page("/", snippet(live_server, site.public_key, head=PHONE_READY)))
    expect(page.locator("converc-widget .badge")).to_have_text(t["loader.badge"])  # before flow.js
    page.locator("converc-widget .badge").click()
    expect(page.locator("converc-widget .x")).to_have_attribute("aria-label", t["close"])
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("button", name=t["start"])).to_be_focused()
    widget = page.locator("converc-widget")
    expect(widget).to_have_attribute("lang", lang)
    expect(widget).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
    no_axe_violations(page, "welcome")

    dialog.get_by_role("button", name=t["start"]).click()
    dialog.get_by_role("button", name=t["next"]).click()  # nothing chosen: the required error
    expect(dialog.get_by_role("alert")).to_have_text(t["flow.needsAnswer"])
    no_axe_violations(page, "question with its error")
    back, forward = (dialog.get_by_role("button", name=t[key]).bounding_box() for key in ("back", "next"))
    # right to left: "Back" sits on the right, "Next" on the left (and the other way round in English)
    assert (back["x"] > forward["x"]) == (lang == "ar"), (back, forward)
    dialog.get_by_label("11-50").check()
    dialog.get_by_role("button", name=t["next"]).click()

    expect(dialog.get_by_role("heading", name=t["contactTitle"])).to_be_visible()
    no_axe_violations(page, "contact")
    dialog.get_by_label(t["flow.name"]).fill("Vera Visitor")
    dialog.get_by_label(t["flow.email"]).fill("vera@example.org")
    dialog.get_by_role("button", name=t["next"]).click()
    expect(dialog.get_by_role("button", name=t["videoCall"])).to_be_visible()
    no_axe_violations(page, "ready to call")

    dialog.get_by_role("button", name=t["videoCall"]).click()
    expect(dialog.get_by_text(t["waiting"])).to_be_visible()
    no_axe_violations(page, "ringing")
    call = wait_status({"requested"})
    service.accept(call.id, admin)
    expect(dialog.get_by_role("button", name=t["call.hangUp"])).to_be_visible(timeout=20000)
    no_axe_violations(page, "call")
    service.hang_up(call.id, "rep")
    expect(dialog.get_by_text(t["ended"])).to_be_visible(timeout=20000)
    no_axe_violations(page, "ended")
    if device == "phone":  # the panel is the whole screen, and nothing scrolls sideways
        box = page.locator("converc-widget .panel").bounding_box()
        assert box["width"] == viewport["width"] and box["x"] == 0
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    dialog.get_by_role("button", name=t["close"]).last.click()
    expect(dialog).to_be_hidden()

    # a second call, when nobody can take one any more: the widget asks before calling, says so
    # and offers to leave details
    admin.available = False
    db.session.commit()
    availability.invalidate(admin.organization_id)
    page.locator("converc-widget .badge").click()
    dialog.get_by_role("button", name=t["start"]).click()
    dialog.get_by_label("11-50").check()
    dialog.get_by_role("button", name=t["next"]).click()
    dialog.get_by_role("button", name=t["next"]).click()  # the contact step keeps what was typed
    dialog.get_by_role("button", name=t["videoCall"]).click()
    expect(dialog.get_by_text(t["unavailable"])).to_be_visible()
    no_axe_violations(page, "nobody available")
    dialog.get_by_role("button", name=t["flow.leaveDetailsButton"]).click()
    dialog.get_by_label(t["flow.email"]).fill("")
    dialog.get_by_role("button", name=t["flow.send"]).click()  # neither email nor phone: the error
    expect(dialog.get_by_role("alert")).to_have_text(t["flow.emailOrPhone"])
    no_axe_violations(page, "callback with its error")
    dialog.get_by_label(t["flow.email"]).fill("vera@example.org")
    dialog.get_by_role("button", name=t["flow.send"]).click()
    expect(dialog.get_by_role("button", name=t["flow.send"])).to_have_count(0)  # the thanks screen
    callback_stored()
    no_axe_violations(page, "callback sent")
    assert page.violations == []
    page.context.close()


HOSTILE = {
    "Cross-Origin-Embedder-Policy": "require-corp", "Cross-Origin-Opener-Policy": "same-origin",
    "Content-Security-Policy": "require-trusted-types-for 'script'; trusted-types converc",
}
WATCH_POLICY = ("<script>window.violations=[];document.addEventListener('securitypolicyviolation',"
                "function(e){violations.push(e.effectiveDirective+' '+e.blockedURI)})</script>")


def test_an_isolated_trusted_types_page_without_camera_gets_an_audio_call_and_without_microphone_details(
        browser, live_server, customer, site, admin):
    """COEP require-corp + Trusted Types + Permissions-Policy camera=(): every script loads (flow.js
    and call.js through the "converc" policy), the visitor is told the call is audio only and the
    call requested is audio. With microphone=() too, the widget says calls cannot start on this
    page before any question, and the visitor leaves details instead."""
    available(admin)
    t = catalogue("en")
    html = snippet(live_server, site.public_key, head=WATCH_POLICY)
    page = visitor_page(browser, VIEWPORTS["desktop"], "en")
    page.goto(customer.page("/no-camera", html, **HOSTILE, **{"Permissions-Policy": "camera=()"}))
    assert page.evaluate("crossOriginIsolated") is True
    page.get_by_role("button", name="Talk to us live").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name=t["start"]).click()
    dialog.get_by_label("11-50").check()
    dialog.get_by_role("button", name=t["next"]).click()
    dialog.get_by_label(t["flow.name"]).fill("Vera Visitor")
    dialog.get_by_label(t["flow.email"]).fill("vera@example.org")
    dialog.get_by_role("button", name=t["next"]).click()
    expect(dialog.get_by_text(t["flow.noCamera"])).to_be_visible()
    expect(dialog.get_by_role("button", name=t["videoCall"])).to_have_count(0)
    dialog.get_by_role("button", name=t["audioCall"]).click()
    expect(dialog.get_by_text(t["waiting"])).to_be_visible()  # call.js loaded and the call rings
    call = wait_status({"requested"})
    assert call.media_type == "audio"
    assert page.evaluate("window.violations") == []
    dialog.get_by_role("button", name=t["call.cancel"]).click()
    wait_status({"canceled"})

    page.goto(customer.page("/no-microphone", html, **HOSTILE,
                            **{"Permissions-Policy": "camera=(), microphone=()"}))
    page.get_by_role("button", name="Talk to us live").click()
    expect(dialog.get_by_text(t["flow.noCall"])).to_be_visible()
    expect(dialog.get_by_role("button", name=t["start"])).to_have_count(0)
    dialog.get_by_role("button", name=t["flow.leaveDetailsButton"]).click()
    dialog.get_by_label(t["flow.email"]).fill("vera@example.org")
    dialog.get_by_role("button", name=t["flow.send"]).click()
    expect(dialog.get_by_role("button", name=t["flow.send"])).to_have_count(0)  # the thanks screen
    callback_stored()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Call)) == 1
    assert page.evaluate("window.violations") == [] and page.violations == []
    page.context.close()
