"""Every dashboard page, with real data in its tables, on a desktop and a 390 px phone: axe finds
nothing, nothing scrolls sideways, and the browser reports no console error nor CSP violation.

The walk is built from the app's url_map: a GET route of a dashboard blueprint is a page unless
NOT_PAGES says why not, so a page added later is walked without editing this file (a route whose
id this test cannot fill fails, naming it)."""

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe

from app.extensions import db
from app.integrations import store
from app.models import Call
from app.models.base import utcnow
from app.security import _public_blueprints
from app.sites import seen
from tests.browser.test_dashboard_pages import _login
from tests.calls_support import ANSWERS
from tests.test_tenancy import victim  # noqa: F401  (a fixture: one object of each kind)

AXE = Axe()
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

# what sticks out of the page (not what scrolls inside a box of its own), to name it in the failure
WIDEST = """() => [...document.querySelectorAll('body *')].filter(e => {
    if (e.getBoundingClientRect().right <= document.documentElement.clientWidth + 1) return false;
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement)
        if (getComputedStyle(a).overflowX !== 'visible') return false;
    return true;
}).slice(0, 5).map(e => e.outerHTML.slice(0, 120))"""

NOT_PAGES = {
    "static": "files", "favicon": "an icon", "dashboard.root": "redirects to the dashboard or login",
    "auth.login": "public", "auth.signup": "public", "auth.forgot_password": "public",
    "auth.reset_password": "public", "team.join": "public",
    "demo.index": "the demo customer page (public, only with DEMO_PAGE; test_first_run opens it)",
    "analytics.export": "a CSV file",
    "availability.toggle_show": "a fragment the header polls",
    "availability.home": "a fragment the home polls",
    "recordings.card": "a fragment the recording panel polls",
    "qualifications.preview": "JSON for the live preview",
    "custom_script_files.file": "a script file",
    "integrations.slack_connect": "a redirect to Slack", "integrations.slack_callback": "OAuth return",
    "integrations.discord_connect": "a redirect to Discord", "integrations.discord_callback": "OAuth return",
    "integrations.google_connect": "a redirect to Google", "integrations.google_callback": "OAuth return",
    "routing.routing_test": "a fragment of the routing test (its form is on the status page)",
}


def dashboard_pages(app, ids: dict) -> list[str]:
    urls = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if ("GET" not in rule.methods or rule.endpoint in NOT_PAGES or rule.endpoint.endswith(".favicon")
                or rule.endpoint.split(".")[0] in _public_blueprints):
            continue
        objects = {**ids, **ids.get(rule.endpoint.split(".")[0], {})}
        missing = [a for a in rule.arguments if a not in objects]
        assert not missing, f"{rule.rule}: give the walk an object for {missing} or say in NOT_PAGES why not"
        urls.append(rule.build({a: objects[a] for a in rule.arguments})[1])
    return urls


@pytest.fixture
def full_tables(admin, rep, victim):  # noqa: F811
    """Lists with rows in them: calls of each outcome, a lead push; and a call the admin is in (the
    call screen, and the call page's answers and timeline)."""
    site_id = victim["site_id"]
    now = utcnow()
    for i, status in enumerate(("ended", "missed", "canceled")):
        db.session.add(Call(organization_id=admin.organization_id, site_id=site_id, status=status,
                            visitor_fingerprint=f"fp-walk-{i}", requested_at=now - timedelta(hours=i + 1),
                            accepted_at=now - timedelta(hours=i + 1), ended_at=now - timedelta(hours=i),
                            accepted_by_id=rep.id))
    live = Call(organization_id=admin.organization_id, site_id=site_id, status="accepted", answers=ANSWERS,
                visitor_fingerprint="fp-live", requested_at=now, accepted_at=now, accepted_by_id=admin.id)
    store.save(admin.organization_id, "lead_push", {"url": "https://crm.example.com/leads", "username": "u",
                                                    "trigger": "call.ended"}, {"password": "p"})
    db.session.add(live)
    db.session.commit()
    seen.note(str(site_id), "www.walk.example.com")  # the site page's "we saw your widget load on …"
    return {**victim, "calls": {"call_id": live.id}}


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_every_dashboard_page_passes_axe_fits_and_logs_no_error(app, browser, live_server, admin, full_tables,
                                                                device):
    context = browser.new_context(viewport=VIEWPORTS[device], is_mobile=device == "phone",
                                  has_touch=device == "phone")
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    _login(page, live_server, admin.email)
    found = []
    for url in dashboard_pages(app, full_tables):
        errors.clear()
        response = page.goto(live_server + url)
        page.wait_for_load_state("networkidle")
        if response.status != 200:
            found.append(f"{url}: HTTP {response.status}")
            continue
        results = AXE.run(page)
        if results.violations_count:
            found.append(f"{url}: {results.generate_report()}")
        if page.evaluate("() => document.documentElement.scrollWidth > document.documentElement.clientWidth"):
            wide = page.evaluate(WIDEST)
            found.append(f"{url}: scrolls sideways ({wide})")
        found += [f"{url}: console: {e}" for e in errors]
    context.close()
    assert not found, "\n".join(found)
