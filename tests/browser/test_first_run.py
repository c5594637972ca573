"""`make run`'s demo page, opened as the banner says: the badge is there to click, nothing errs."""

from playwright.sync_api import expect

from tests.browser.conftest import start_server


def test_the_demo_page_shows_the_badge(make_app, settings, browser):
    app = make_app()
    with app.app_context():
        app.test_cli_runner().invoke(args=["seed-demo"])
    proc, url = start_server(settings, extra_env={"DEMO_PAGE": "1"})
    try:
        page = browser.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(url.replace("127.0.0.1", "localhost") + "/demo")
        expect(page.get_by_role("button", name="Talk to us live")).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert errors == []  # no CSP violation, no 404 (not even /favicon.ico)
    finally:
        proc.terminate()
        proc.wait(10)


def test_every_dashboard_page_loads_without_a_console_error(app, live_server, browser, admin):
    """CSP violations (htmx's indicator <style> was one on every page) and 404s show up as console errors."""
    from app.security import _public_blueprints
    from tests.conftest import PASSWORD

    pages = sorted({rule.rule for rule in app.url_map.iter_rules()
                    if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static"
                    and rule.endpoint.split(".")[0] not in _public_blueprints
                    and not rule.rule.startswith(("/ws", "/demo", "/logout", "/favicon"))})
    page = browser.new_page()
    errors = []
    page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.goto(live_server + "/login")
    page.fill("input[name=email]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_url("**/dashboard")
    for path in pages:
        response = page.goto(live_server + path)
        assert response.status < 500, path
        page.wait_for_load_state("networkidle")
    assert len(pages) > 10
    assert errors == []
