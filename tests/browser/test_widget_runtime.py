"""The widget's runtime on hostile host pages (issue 12): one runtime per page, body swaps, live
availability, converc:ready on every outcome, page-initiated calls, COEP and the embed's layout.

The customer's pages come from a small server of the test's own (`customer`), with the headers each
case needs; the widget comes from the real app under gunicorn."""

import html
import re

import pytest
from flask import render_template
from playwright.sync_api import expect

from app.availability import service as availability
from app.extensions import db
from app.models.widget import settings_for
from app.realtime import presence
from app.sites.service import create_site
from tests.browser.conftest import snippet, start_server

READY = ("<script>window.__ready=[];addEventListener('converc:ready',function(e){__ready.push(e.detail)});"
         "window.__availability=[];addEventListener('converc:availability',function(e){"
         "__availability.push(e.detail.available)})</script>")
# the README's stub: calls made before (or without) the loader are queued, never thrown
STUB = ('<script>window.Converc=window.Converc||function(){(Converc.q=Converc.q||[]).push(arguments)};'
        '["open","close","setAttributes"].forEach(function(m){Converc[m]=Converc[m]||function(){'
        'Converc.apply(null,[m].concat([].slice.call(arguments)))}})</script>')
FAKE_CALL_JS = ("window.ConvercCall = { start: function (o) { window.__opts = o; "
                "o.mount.textContent = 'CALL UI ' + o.mediaType; } };")


@pytest.fixture
def site(admin):
    return create_site(admin.organization_id, "localhost")


@pytest.fixture
def fast_server(app, settings):
    """The app with availability polled every second (the default is 10 s)."""
    proc, url = start_server(settings, extra_env={"WIDGET_LIVE_POLL_SECONDS": "1"})
    yield url
    proc.terminate()
    proc.wait(10)


def available(user, on=True):
    """The rep's switch, with a dashboard open (the presence entry its socket would make)."""
    presence.touch(user.id, user.organization_id, f"dashboard-of-{user.id}")
    availability.set_available(user, on)
    availability.invalidate(user.organization_id)


def requests_to(page, path):
    seen = []
    page.on("request", lambda r: seen.append(r.url) if path in r.url else None)
    return seen


def ready_details(page, count=1):
    page.wait_for_function(f"window.__ready && window.__ready.length >= {count}")
    return page.evaluate("window.__ready")


def open_and_reach_call(page, dialog):
    """Through the flow (no questions): email, then the call button, which runs the fake call.js."""
    dialog.get_by_role("button", name="Start").click()
    dialog.get_by_label("Email").fill("visitor@example.com")
    dialog.get_by_role("button", name="Next").click()
    dialog.get_by_role("button", name="Video call").click()
    expect(dialog.get_by_text("CALL UI video")).to_be_visible()
    return page.evaluate("window.__opts.attributes")


def fake_call_js(page):
    page.route("**/widget/call.js*", lambda route: route.fulfill(
        status=200, content_type="text/javascript", body=FAKE_CALL_JS))


# --- (3) one runtime per page ---------------------------------------------------------------

def test_every_way_of_loading_it_twice_gives_one_runtime(page, live_server, customer, site, admin):
    available(admin)
    fake_call_js(page)
    tag = f'<script src="{live_server}/widget.js" data-ic-public-key="{site.public_key}" async></script>'
    embed = (f'<div id="ic-embed"></div><script src="{live_server}/embed.js" '
             f'data-ic-public-key="{site.public_key}" data-ic-container="ic-embed" async></script>')
    # the stub queues calls made before the loader; the tag manager adds a third copy after load
    gtm = ("<script>addEventListener('load',function(){var s=document.createElement('script');"
           f"s.src='{live_server}/widget.js';s.setAttribute('data-ic-public-key','{site.public_key}');"
           "document.body.appendChild(s)})</script>")
    queued = "<script>Converc.setAttributes({plan:'pro'});Converc('setAttributes',{seats:12})</script>"
    configs = requests_to(page, "/widget/config")
    page.goto(customer.page("/", "<!doctype html><html><head>" + STUB + READY + queued + "</head><body>"
                            "<h1>Acme</h1>" + tag + tag + embed + gtm + "</body></html>"))
    expect(page.locator("#ic-embed").get_by_role("button", name="Start")).to_be_visible()
    expect(page.get_by_role("button", name="Talk to us live")).to_be_visible()
    # the tag manager's copy ran too (its tag is marked) and changed nothing
    page.wait_for_function("document.querySelectorAll('script[data-ic-started]').length === 4")
    # an SPA re-running the snippet on navigation
    page.evaluate(f"""() => {{ const s = document.createElement('script'); s.src = '{live_server}/widget.js';
        s.setAttribute('data-ic-public-key', '{site.public_key}'); document.body.appendChild(s); }}""")
    page.wait_for_function("document.querySelectorAll('script[data-ic-started]').length === 5")
    assert page.locator("converc-widget").count() == 1
    assert page.locator("converc-embed").count() == 1
    assert len(configs) == 1
    details = ready_details(page, 2)
    assert sorted(d["mode"] for d in details) == ["embed", "floating"]
    assert all(d["visible"] and d["outcome"] == "shown" for d in details)

    # the JS API reaches the one runtime, with the attributes set before it loaded
    page.evaluate("Converc.setAttributes({accountId: '42'})")
    page.get_by_role("button", name="Talk to us live").click()
    attributes = open_and_reach_call(page, page.get_by_role("dialog"))
    assert {"plan": "pro", "seats": 12, "accountId": "42"}.items() <= attributes.items()


def test_calls_queued_by_the_stub_run_when_the_loader_arrives(page, live_server, customer, site, admin):
    available(admin)
    body = ('<input id="search">' + STUB + "<script>Converc.open()</script>")
    page.goto(customer.page("/", snippet(live_server, site.public_key, head=READY, body=body)))
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("button", name="Start")).to_be_visible()
    expect(page.get_by_role("button", name="Talk to us live")).to_have_attribute("aria-expanded", "true")
    # the page opened it, not the visitor: nothing stored
    assert page.evaluate("localStorage.length + document.cookie.length") == 0


# --- (5) body swaps -------------------------------------------------------------------------

@pytest.mark.parametrize("swap", [
    "document.body.innerHTML = '<h1>Next page</h1>'",
    # Turbo-style: a new <body> element replaces the old one; the snippet stays in <head>
    "() => { const b = document.createElement('body'); b.innerHTML = '<h1>Next page</h1>';"
    " document.documentElement.replaceChild(b, document.body); }",
])
def test_the_badge_comes_back_after_a_body_swap(page, live_server, customer, site, admin, swap):
    available(admin)
    head = f'<script src="{live_server}/widget.js" data-ic-public-key="{site.public_key}" defer></script>'
    page.goto(customer.page(
        "/", f"<!doctype html><html><head>{head}</head><body><h1>Home</h1></body></html>"))
    badge = page.get_by_role("button", name="Talk to us live")
    expect(badge).to_be_visible()
    page.evaluate(swap)
    expect(page.get_by_role("heading", name="Next page")).to_be_visible()
    expect(badge).to_be_visible()
    assert page.locator("converc-widget").count() == 1
    page.evaluate("Converc.open()")
    expect(page.get_by_role("dialog").get_by_role("button", name="Start")).to_be_visible()
    page.evaluate(swap)  # and again, with the panel open
    expect(page.get_by_role("dialog").get_by_role("button", name="Start")).to_be_visible()


def test_an_embed_comes_back_when_its_container_is_rendered_anew(page, live_server, customer, site, admin):
    available(admin)
    html_ = snippet(live_server, site.public_key, body='<main><div id="talk"></div></main>',
                    script="embed.js", attrs='data-ic-container="talk" async')
    page.goto(customer.page("/", html_))
    expect(page.locator("#talk").get_by_role("button", name="Start")).to_be_visible()
    page.evaluate("document.querySelector('main').innerHTML = '<div id=\"talk\"></div>'")
    expect(page.locator("#talk").get_by_role("button", name="Start")).to_be_visible()


# --- (4) live availability ------------------------------------------------------------------

def test_a_rep_switching_on_and_off_is_seen_by_an_open_page(page, fast_server, customer, site, admin):
    polls = requests_to(page, "/widget/availability")
    page.goto(customer.page("/", snippet(fast_server, site.public_key, head=READY)))
    badge = page.get_by_role("button", name="Talk to us live")
    expect(badge).to_have_class(re.compile(r"\boff\b"))
    available(admin)
    expect(badge).not_to_have_class(re.compile(r"\boff\b"), timeout=15000)
    available(admin, on=False)
    expect(badge).to_have_class(re.compile(r"\boff\b"), timeout=15000)
    assert page.evaluate("window.__availability") == [True, False]
    # hidden pages do not poll
    page.evaluate("""() => { Object.defineProperty(document, 'hidden', {value: true, configurable: true});
        document.dispatchEvent(new Event('visibilitychange')); }""")
    page.wait_for_timeout(300)  # a poll already on the wire may still land
    before = len(polls)
    page.wait_for_timeout(2500)
    assert len(polls) == before
    page.evaluate("""() => { Object.defineProperty(document, 'hidden', {value: false, configurable: true});
        document.dispatchEvent(new Event('visibilitychange')); }""")
    page.wait_for_function(f"performance.getEntriesByType('resource').filter(e => "
                           f"e.name.includes('/widget/availability')).length > {before}")


def test_a_hidden_badge_appears_when_a_rep_comes_online(page, fast_server, customer, site, admin):
    settings_for(site).hide_when_unavailable = True
    db.session.commit()
    availability.set_available(admin, False)
    page.goto(customer.page("/", snippet(fast_server, site.public_key, head=READY)))
    assert ready_details(page)[0]["reason"] == "unavailable"
    available(admin)
    expect(page.get_by_role("button", name="Talk to us live")).to_be_visible(timeout=15000)
    assert ready_details(page, 2)[1]["visible"] is True


def test_it_asks_again_when_the_visitor_opens_it_and_before_the_call(page, live_server, customer, site,
                                                                    admin):
    # the default poll (10 s) is too slow to have noticed: the re-checks must
    available(admin)
    fake_call_js(page)
    page.goto(customer.page("/", snippet(live_server, site.public_key)))
    badge = page.get_by_role("button", name="Talk to us live")
    expect(badge).to_be_visible()
    available(admin, on=False)
    page.wait_for_timeout(2500)  # the server's own 2 s memory of the answer
    badge.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Nobody can take a call right now.")).to_be_visible()

    available(admin)
    page.wait_for_timeout(2500)
    page.reload()
    badge.click()
    dialog.get_by_role("button", name="Start").click()
    dialog.get_by_label("Email").fill("visitor@example.com")
    dialog.get_by_role("button", name="Next").click()
    expect(dialog.get_by_role("button", name="Video call")).to_be_visible()
    available(admin, on=False)
    page.wait_for_timeout(2500)
    dialog.get_by_role("button", name="Video call").click()
    expect(dialog.get_by_text("Nobody can take a call right now.")).to_be_visible()
    assert page.evaluate("window.__opts") is None  # no call was started


# --- (9) converc:ready on every outcome -----------------------------------------------------

@pytest.mark.parametrize(("answer", "expected"), [
    ("abort", {"outcome": "error", "reason": "network"}),
    ("502", {"outcome": "error", "reason": "bad_response", "status": 502}),
])
def test_ready_fires_when_the_config_request_fails(page, live_server, customer, site, answer, expected):
    def fail(route):
        if answer == "abort":
            return route.abort()
        route.fulfill(status=502, content_type="text/html", body="<html><h1>502 Bad Gateway</h1></html>")

    page.route("**/widget/config*", fail)
    messages = []
    page.on("console", lambda m: messages.append(m.text))
    page.goto(customer.page("/", snippet(live_server, site.public_key, head=READY)))
    [detail] = ready_details(page)
    assert detail == {"visible": False, "mode": "floating", "publicKey": site.public_key, **expected}
    assert any(m.startswith("[Converc] widget not shown") for m in messages)
    page.evaluate("Converc.open(); Converc.close(); Converc.setAttributes({a: 1})")  # never throws


def test_ready_fires_when_refused_or_hidden(page, live_server, customer, site):
    settings_for(site).hide_when_unavailable = True
    db.session.commit()
    page.goto(customer.page("/", snippet(live_server, site.public_key, head=READY)))
    [detail] = ready_details(page)
    assert detail == {"visible": False, "outcome": "hidden", "reason": "unavailable", "mode": "floating",
                      "publicKey": site.public_key}
    page.goto(customer.page("/", snippet(live_server, site.public_key, head=READY), host="127.0.0.1"))
    [detail] = ready_details(page)
    assert detail == {"visible": False, "outcome": "error", "reason": "domain_not_allowed", "status": 403,
                      "mode": "floating", "publicKey": site.public_key}


def test_a_dead_server_leaves_a_stub_that_does_not_throw(page, customer, site):
    from tests.conftest import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    page.goto(customer.page("/", STUB + snippet(dead, site.public_key)))
    page.wait_for_load_state("load")
    calls = "Converc.open(); Converc.close(); Converc.setAttributes({a: 1}); Converc.q.length"
    assert page.evaluate(calls) == 3


# --- (12) page-initiated calls are not the visitor's ----------------------------------------

def test_the_page_opening_and_closing_it_takes_neither_focus_nor_keystrokes(page, live_server, customer,
                                                                            site, admin):
    available(admin)
    page.goto(customer.page("/", snippet(live_server, site.public_key, body='<input id="search">')))
    expect(page.get_by_role("button", name="Talk to us live")).to_be_visible()
    search = page.locator("#search")
    search.click()
    page.keyboard.type("sho")
    page.evaluate("Converc.open()")
    expect(page.get_by_role("dialog").get_by_role("button", name="Start")).to_be_visible()
    page.keyboard.type("e")
    page.evaluate("Converc.close()")
    expect(page.get_by_role("dialog")).to_be_hidden()
    page.keyboard.type("s")
    expect(search).to_have_value("shoes")
    assert page.evaluate("document.activeElement.id") == "search"
    assert page.evaluate("localStorage.length + document.cookie.length") == 0


# --- (#19) what a page that never opens it pays for --------------------------------------------

# every read of the page's storage, by whom it happens (the widget's first read blocks the page)
COUNT_STORAGE_READS = """window.__storageReads = [];
["sessionStorage", "localStorage"].forEach(function (name) {
  var owner = Object.getOwnPropertyDescriptor(window, name) ? window : Window.prototype;
  var get = Object.getOwnPropertyDescriptor(owner, name).get;
  Object.defineProperty(window, name, { configurable: true,
    get: function () { __storageReads.push(name); return get.call(window); } });
});"""
PANEL_RULES = """() => [...document.querySelector('converc-widget').shadowRoot.adoptedStyleSheets]
  .flatMap(sheet => [...sheet.cssRules]).filter(rule => /\\.panel\\b/.test(rule.cssText)).length"""


def test_a_first_visit_reads_no_storage(page, live_server, customer, site, admin):
    """Only a page reached from the same site (or reloaded) can have a call to rejoin: a visitor
    arriving from elsewhere costs the page no storage read (test_calls.py covers the rejoin)."""
    available(admin)
    page.add_init_script(COUNT_STORAGE_READS)
    page.goto(customer.page("/", snippet(live_server, site.public_key, head=READY)))
    [detail] = ready_details(page)
    assert detail["visible"]
    page.wait_for_load_state("load")
    assert page.evaluate("window.__storageReads") == []


def test_the_panels_styles_come_with_the_panel(page, live_server, customer, site, admin):
    available(admin)
    page.goto(customer.page("/", snippet(live_server, site.public_key)))
    badge = page.get_by_role("button", name="Talk to us live")
    expect(badge).to_be_visible()
    assert page.evaluate(PANEL_RULES) == 0
    badge.click()
    expect(page.get_by_role("dialog").get_by_role("button", name="Start")).to_be_visible()
    assert page.evaluate(PANEL_RULES) > 0


# --- (6, 13) delivery: COEP pages, the embed snippet's layout --------------------------------

def test_a_require_corp_page_loads_every_script(page, live_server, customer, site, admin):
    available(admin)
    isolated = {"Cross-Origin-Embedder-Policy": "require-corp", "Cross-Origin-Opener-Policy": "same-origin"}
    url = customer.page("/", snippet(live_server, site.public_key, head=READY), **isolated)
    page.goto(url)
    assert page.evaluate("crossOriginIsolated") is True
    page.get_by_role("button", name="Talk to us live").click()
    expect(page.get_by_role("dialog").get_by_role("button", name="Start")).to_be_visible()  # flow.js loaded
    loaded = page.evaluate("""async (base) => {
        const key = document.querySelector('script[data-ic-public-key]').dataset.icPublicKey;
        const config = await (await fetch(base + '/widget/config?public_key=' + encodeURIComponent(key)
            + '&domain=localhost')).json();
        return await new Promise((resolve) => { const s = document.createElement('script');
            s.src = new URL(config.assets.call, base).href; s.onload = () => resolve(!!window.ConvercCall);
            s.onerror = () => resolve(false); document.head.appendChild(s); }); }""", live_server)
    assert loaded is True


def dashboard_embed_snippet(app, site, base_url):
    with app.test_request_context():
        rendered = render_template("sites/_snippets.html", site=site, base_url=base_url)
    return html.unescape(re.search(r'<pre id="snippet-embed">(.*?)</pre>', rendered, re.S).group(1))


CLS = ("<script>window.__cls=0;new PerformanceObserver(function(l){l.getEntries().forEach(function(e){"
       "if(!e.hadRecentInput)__cls+=e.value})}).observe({type:'layout-shift',buffered:true})</script>")


def test_the_dashboards_embed_snippet_does_not_shift_the_page(page, app, live_server, customer, site, admin):
    available(admin)
    embed = dashboard_embed_snippet(app, site, live_server)
    assert "min-height" in embed
    below = "<p id='below'>" + "Content under the widget. " * 40 + "</p>"
    held = []  # embed.js waits until the page has painted, as it does on a slow network
    page.route("**/embed.js*", lambda route: held.append(route))
    for name, markup in (("dashboard", embed), ("bare", re.sub(r'\s*style="[^"]*"', "", embed))):
        url = customer.page(f"/{name}", "<!doctype html><html><head>" + CLS + READY + "</head><body>"
                            "<h1>Contact us</h1>" + markup + below + "</body></html>")
        page.goto(url, wait_until="commit")
        page.wait_for_function("performance.getEntriesByType('paint').length && !!document.all.below")
        for _ in range(200):  # the handler runs while Playwright is waiting
            if held:
                break
            page.wait_for_timeout(50)
        held.pop().continue_()
        expect(page.locator("#ic-embed").get_by_role("button", name="Start")).to_be_visible()
        page.wait_for_timeout(500)
        shift = page.evaluate("window.__cls")
        if name == "dashboard":
            assert shift == 0
        else:
            assert shift > 0  # the same snippet without its min-height moves the text below
