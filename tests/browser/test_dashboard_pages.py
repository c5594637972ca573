"""Dashboard pages as a person uses them: unsaved changes are not lost silently; phones fit."""

import pytest

from app.sites.service import create_site
from tests.conftest import PASSWORD


def _login(page, live_server, email):
    page.goto(live_server + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_url("**/dashboard")


@pytest.mark.parametrize(("path", "field"), [("/widget/settings", "badge_label"),
                                           ("/widget/theme", "font_family")])
def test_leaving_with_unsaved_changes_asks_first(browser, live_server, admin, path, field):
    create_site(admin.organization_id, "shop.example.com")
    page = browser.new_page()
    _login(page, live_server, admin.email)
    page.goto(live_server + path)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.type), d.dismiss()))
    page.goto(live_server + "/calls")  # nothing typed: leaves without a question
    assert dialogs == [] and page.url.endswith("/calls")
    page.goto(live_server + path)
    target = page.locator(f"[name={field}]")
    if target.evaluate("e => e.tagName") == "SELECT":
        target.select_option(index=1)
        target.dispatch_event("input")
    else:
        target.fill("Changed, not saved")
    page.click("body")  # a real user gesture: browsers ask only after one
    page.evaluate("() => { location.href = '/calls'; }")
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]


@pytest.mark.parametrize("path", ["/team", "/calls", "/widget/settings", "/widget/theme",
                                  "/widget/qualifications", "/settings/availability/status", "/sites",
                                  "/teams"])
def test_pages_fit_a_phone(browser, live_server, admin, rep, path):
    create_site(admin.organization_id, "shop.example.com")
    page = browser.new_page(viewport={"width": 390, "height": 700})
    _login(page, live_server, admin.email)
    page.goto(live_server + path)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    # every sidebar entry can be reached (scrolled to, whole, on top) on a short phone and a short laptop
    page.click("label.menu-button")
    page.wait_for_function("() => document.querySelector('.sidebar').getBoundingClientRect().left >= 0")
    assert _unreachable_entries(page) == []
    page.set_viewport_size({"width": 1280, "height": 600})
    assert _unreachable_entries(page) == []


def _unreachable_entries(page) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll('.sidebar a')].filter(a => {
        a.scrollIntoView({block: 'nearest'});
        const r = a.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        // 1 px of slack: sub-pixel layout
        return r.top < -1 || r.bottom > innerHeight + 1 || !(hit && a.contains(hit));
    }).map(a => a.textContent.trim())""")
