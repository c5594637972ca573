"""The widget in a real Chromium, on a customer page served from another origin."""

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from app.availability.service import invalidate as invalidate_availability
from app.extensions import db
from app.models.widget import (
    QualificationOption,
    QualificationQuestion,
    flow_for,
    settings_for,
    theme_for,
)
from app.realtime import presence
from app.sites.service import create_site
from tests.browser.conftest import log_in, snippet
from tests.conftest import PASSWORD


@pytest.fixture
def site(admin):
    site = create_site(admin.organization_id, "localhost")
    theme_for(site).primary_color = "#e11d48"
    settings_for(site).calendar_url = "https://cal.example.com/acme"
    db.session.commit()
    return site


def available(user):
    """Available on, with a dashboard open (the real presence entry its socket would make)."""
    user.available = True
    db.session.commit()
    presence.touch(user.id, user.organization_id, f"dashboard-of-{user.id}")
    invalidate_availability(user.organization_id)  # what the toggle and the socket do


def add_question(site, label, type_="single_select", required=True, options=()):
    flow = flow_for(site)
    q = QualificationQuestion(organization_id=site.organization_id, label=label, type=type_,
                              required=required, position=len(flow.questions) + 1)
    for i, (text, disqualifies) in enumerate(options, start=1):
        q.options.append(QualificationOption(organization_id=site.organization_id, label=text,
                                             value=text, position=i, disqualifies=disqualifies))
    flow.questions.append(q)
    db.session.commit()


def console_of(page):
    messages = []
    page.on("console", lambda m: messages.append(m.text))
    return messages


FAKE_CALL_JS = """window.ConvercCall = { start: function (o) {
  window.__opts = o; o.mount.textContent = "CALL UI " + o.mediaType;
  o.emit("call.accepted", { callId: "c1" }); } };"""


def test_badge_flow_required_question_and_ready_to_call(page, live_server, customer, site, admin):
    available(admin)
    add_question(site, "Company size", options=[("1-10", False), ("11-50", False)])
    add_question(site, "Anything else?", "text", required=False)
    url = customer.page("/", snippet(live_server, site.public_key, body=(
        "<script>window.__events=[];['ready','opened','call.accepted'].forEach(function(n){"
        "addEventListener('converc:'+n,function(e){__events.push(n)})})</script>")))
    page.goto(url)
    badge = page.get_by_role("button", name="Talk to us live")
    expect(badge).to_be_visible()
    assert badge.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(225, 29, 72)"
    # nothing is stored before the visitor opens the widget
    assert page.evaluate("localStorage.length + document.cookie.length") == 0

    badge.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Talk to someone on our team right now")).to_be_visible()
    assert page.evaluate("localStorage.getItem('converc_fp')")
    dialog.get_by_role("button", name="Start").click()
    expect(dialog.get_by_text("Question 1 of 2")).to_be_visible()
    dialog.get_by_role("button", name="Next").click()
    expect(dialog.get_by_role("alert")).to_have_text("This question needs an answer.")
    dialog.get_by_label("11-50").check()
    dialog.get_by_role("button", name="Next").click()
    expect(dialog.get_by_label("Anything else?")).to_be_visible()
    dialog.get_by_role("button", name="Back").click()
    expect(dialog.get_by_label("11-50")).to_be_checked()
    dialog.get_by_role("button", name="Next").click()
    dialog.get_by_label("Anything else?").fill("<b>hello</b>")
    dialog.get_by_role("button", name="Next").click()
    dialog.get_by_label("Email").fill("visitor@example.com")
    dialog.get_by_role("button", name="Next").click()
    expect(dialog.get_by_text("You're all set.")).to_be_visible()

    # when call.js cannot be loaded, "Call now" says so clearly
    page.route("**/widget/call.js*", lambda route: route.fulfill(status=404, body="gone"))
    dialog.get_by_role("button", name="Video call").click()
    expect(dialog.get_by_text("Calls can't start from this page right now")).to_be_visible()

    # what the flow hands call.js (the real one is tested end to end in test_calls.py)
    page.unroute("**/widget/call.js*")
    page.route("**/widget/call.js*", lambda route: route.fulfill(
        status=200, content_type="text/javascript", body=FAKE_CALL_JS))
    dialog.get_by_role("button", name="Back").click()
    dialog.get_by_role("button", name="Audio call").click()
    expect(dialog.get_by_text("CALL UI audio")).to_be_visible()
    opts = page.evaluate("""() => { const o = window.__opts; return {
        keys: Object.keys(o).sort(), inShadow: o.shadowRoot.contains(o.mount), fp: o.fingerprint,
        contact: o.contact, token: o.qualificationToken, copy: Object.keys(o.copy),
        page: o.attributes.pageUrl, theme: o.theme.primaryColor, base: o.baseUrl }; }""")
    assert opts["keys"] == sorted(["mount", "shadowRoot", "baseUrl", "publicKey", "fingerprint", "mediaType",
                                   "qualificationToken", "contact", "attributes", "pageUrl", "copy",
                                   "calendarUrl", "nextAvailableAt", "theme", "emit", "onClose",
                                   "recordingPolicy", "recordingConsent", "focus", "announce", "backAt",
                                   "leaveDetails", "rejoin"])
    assert opts["inShadow"] and opts["fp"] == page.evaluate("localStorage.getItem('converc_fp')")
    assert opts["contact"]["email"] == "visitor@example.com" and opts["token"]
    assert {"waiting", "connected", "ended", "unavailable", "missed"} <= set(opts["copy"])
    assert opts["page"] == url and opts["theme"] == "#e11d48" and opts["base"] == live_server
    assert page.evaluate("window.__events") == ["ready", "opened", "call.accepted"]

    from app.widget.tokens import load_qualification

    payload = load_qualification(opts["token"], str(site.id))
    assert [a["answer"]["value"] for a in payload["answers"]] == ["11-50", "<b>hello</b>"]


def test_disqualifying_answer_shows_the_calendar_outcome(page, live_server, customer, site, admin):
    available(admin)
    add_question(site, "Budget", options=[("Under $1k", True), ("Over $1k", False)])
    flow_for(site).disqualified_action = "calendar"
    db.session.commit()
    page.goto(customer.page("/", snippet(live_server, site.public_key)))
    page.get_by_role("button", name="Talk to us live").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Start").click()
    dialog.get_by_label("Under $1k").check()
    dialog.get_by_role("button", name="Next").click()
    dialog.get_by_label("Email").fill("visitor@example.com")
    dialog.get_by_role("button", name="Next").click()
    expect(dialog.get_by_text("a live call isn't the best fit")).to_be_visible()
    link = dialog.get_by_role("link", name="Book a time")
    expect(link).to_have_attribute("href", "https://cal.example.com/acme")
    expect(dialog.get_by_role("button", name="Video call")).to_have_count(0)


def test_hide_when_unavailable_hides_it(page, live_server, customer, site):
    settings_for(site).hide_when_unavailable = True
    db.session.commit()
    messages = console_of(page)
    page.goto(customer.page("/", snippet(live_server, site.public_key, body=(
        "<script>addEventListener('converc:ready',function(e){window.__ready=e.detail})</script>"))))
    page.wait_for_function("window.__ready")
    assert page.evaluate("window.__ready") == {"visible": False, "outcome": "hidden", "reason": "unavailable",
                                               "mode": "floating", "publicKey": site.public_key}
    assert page.locator("converc-widget").count() == 0
    assert any("nobody is available" in m for m in messages)


def test_unavailable_shows_calendar_and_when_someone_is_back(browser, live_server, customer, site, admin):
    from app.availability import service as availability

    # the rep works in New York; today is their day off, tomorrow they start at 9:00
    available(admin)
    availability.save_schedule(admin, "America/New_York", [], follows_default=True)
    today = datetime.now(ZoneInfo("America/New_York")).date()
    availability.save_override(admin, today, [])
    availability.save_override(admin, today + timedelta(days=1), [[540, 1020]])
    context = browser.new_context(timezone_id="America/New_York", locale="en-US")
    page = context.new_page()
    page.goto(customer.page("/", snippet(live_server, site.public_key)))
    page.get_by_role("button", name="Talk to us live").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Nobody can take a call right now.")).to_be_visible()
    # /widget/config's nextAvailableAt, in the visitor's own time
    expect(dialog.get_by_text("Back tomorrow at 9:00 AM")).to_be_visible()
    expect(dialog.get_by_role("link", name="Book a time")).to_be_visible()
    nine = datetime(today.year, today.month, today.day, 9, tzinfo=ZoneInfo("America/New_York"))
    assert page.evaluate("d => ConvercFlow.backAt(d)", nine.isoformat()) == "Back at 9:00 AM"
    context.close()


def test_inline_embed_renders_in_its_container(page, live_server, customer, site, admin):
    add_question(site, "Company size", options=[("1-10", False), ("11-50", False)])
    html = snippet(live_server, site.public_key, body='<div id="talk-here"></div>', script="embed.js",
                   attrs='data-ic-container="talk-here" data-ic-embed-style="0" async')
    url = customer.page("/", html)
    page.goto(url)
    container = page.locator("#talk-here")
    # nobody there: the card does not promise someone "right now" (the badge tells the truth too)
    expect(container.get_by_text("Nobody can take a call right now.")).to_be_visible()
    expect(container.get_by_text("Talk to someone on our team right now")).to_have_count(0)

    available(admin)
    promise = container.get_by_text("Talk to someone on our team right now")
    either = promise.or_(container.get_by_text("Nobody can take a call right now."))
    deadline = time.monotonic() + 30  # other web processes forget their copy within seconds
    while True:
        page.goto(url)  # the config revalidates on every load (no-cache): no browser copy in the way
        expect(either).to_be_visible()
        if promise.count():
            break
        assert time.monotonic() < deadline, "the embed still says nobody is available"
        time.sleep(0.5)
    assert page.locator("converc-widget").count() == 0  # no floating badge
    container.get_by_role("button", name="Start").click()
    expect(container.get_by_text("Company size")).to_be_visible()
    box = container.bounding_box()
    assert box["height"] > 100


def test_page_opens_it_with_its_own_button_and_attributes(page, live_server, customer, site, admin):
    available(admin)
    body = ('<button id="talk">Talk to sales</button><script>window.__events=[];'
            "['opened','closed'].forEach(function(n){addEventListener('converc:'+n,function(){__events.push(n)})});"
            "document.getElementById('talk').onclick=function(){Converc.setAttributes({plan:'pro'});Converc.open()};"
            "</script>")
    page.goto(customer.page("/pricing", snippet(live_server, site.public_key, body=body)) + "?utm_source=ads")
    expect(page.get_by_role("button", name="Talk to us live")).to_be_visible()
    page.locator("#talk").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Start")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate("window.__events") == ["opened", "closed"]
    # focus returns to what opened the dialog: the page's own button
    expect(page.locator("#talk")).to_be_focused()


def test_strict_csp_page_still_shows_it(page, live_server, customer, site, admin):
    available(admin)
    csp = (f"default-src 'self'; script-src 'nonce-r4nd0m' {live_server}; connect-src {live_server}; "
           "style-src 'self'; img-src 'self'")
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    url = customer.page("/", snippet(live_server, site.public_key, attrs='nonce="r4nd0m" defer'),
                        **{"Content-Security-Policy": csp})
    page.goto(url)
    badge = page.get_by_role("button", name="Talk to us live")
    expect(badge).to_be_visible()
    assert badge.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(225, 29, 72)"
    badge.click()
    page.get_by_role("dialog").get_by_role("button", name="Start").click()
    expect(page.get_by_role("dialog").get_by_label("Email")).to_be_visible()
    assert violations == []


def test_hostile_css_does_not_break_it(page, live_server, customer, site, admin):
    available(admin)
    head = ("<style>* { all: unset !important; } div { display: none !important; } "
            "button { color: red; }</style>")
    page.set_viewport_size({"width": 1200, "height": 800})
    page.goto(customer.page("/", snippet(live_server, site.public_key, head=head)))
    badge = page.get_by_role("button", name="Talk to us live")
    expect(badge).to_be_visible()
    box = badge.bounding_box()
    assert box["x"] > 800 and box["y"] > 600  # still fixed at the bottom right
    assert badge.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(225, 29, 72)"
    badge.click()
    expect(page.get_by_role("dialog").get_by_role("button", name="Start")).to_be_visible()


def test_wrong_domain_shows_nothing_and_says_why(page, live_server, customer, site):
    # the site is registered for localhost; this page is on 127.0.0.1
    with page.expect_console_message(lambda m: "[Converc]" in m.text) as message:
        page.goto(customer.page("/", snippet(live_server, site.public_key), host="127.0.0.1"))
    assert message.value.type == "error"
    assert message.value.text.startswith("[Converc] widget not shown: This widget's public key is "
                                         "registered for localhost, not 127.0.0.1.")
    expect(page.locator("converc-widget")).to_have_count(0)


def test_admin_sees_the_live_preview_change_as_they_type(page, live_server, admin, site):
    page.goto("/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto("/widget/settings")
    preview = page.locator("#widget-preview")
    expect(preview.get_by_role("button", name="Talk to us live")).to_be_visible()
    page.get_by_label("Badge label").fill("Chat with Sales")
    expect(preview.get_by_role("button", name="Chat with Sales")).to_be_visible()
    page.get_by_label("Welcome copy").fill("Hello from the preview")
    expect(preview.get_by_text("Hello from the preview")).to_be_visible()
    assert settings_for(site).badge_label == "Talk to us live"  # not saved until Save
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Widget settings saved")).to_be_visible()
    db.session.expire_all()
    assert settings_for(site).badge_label == "Chat with Sales"

    page.goto("/widget/theme")
    states = page.get_by_role("group", name="Show the widget at")
    states.get_by_role("button", name="Nobody available").click()
    expect(preview.get_by_text("Nobody can take a call right now.")).to_be_visible()
    page.get_by_role("textbox", name="Nobody available").fill("Out to lunch")
    expect(preview.get_by_text("Out to lunch")).to_be_visible()
    # the call's states, drawn by the real call.js with the unsaved theme, and no call made
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method != "GET" else None)
    page.get_by_label("Widget colour (badge and header)").fill("#0f766e")
    page.get_by_role("textbox", name="Waiting for a rep").fill("Ringing the team now")
    states.get_by_role("button", name="Ringing").click()
    expect(preview.get_by_text("Ringing the team now")).to_be_visible()
    expect(preview.locator(".cc-pulse")).to_have_css("background-color", "rgb(15, 118, 110)")
    expect(states.get_by_role("button", name="Ringing")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("textbox", name="Connected").fill("You are live")
    states.get_by_role("button", name="In call").click()
    expect(preview.get_by_text("You are live")).to_be_visible()
    expect(preview.get_by_role("button", name="Hang up")).to_be_visible()
    page.get_by_role("textbox", name="Call ended").fill("Bye for now")
    states.get_by_role("button", name="Ended", exact=True).click()
    expect(preview.get_by_text("Bye for now")).to_be_visible()
    page.get_by_role("textbox", name="Nobody picked up").fill("We missed you")
    states.get_by_role("button", name="Nobody picked up").click()
    expect(preview.get_by_text("We missed you")).to_be_visible()
    preview.get_by_role("button", name="Leave your details").click()  # the callback screen, not sent
    expect(preview.get_by_label("Email")).to_be_visible()
    states.get_by_role("button", name="Callback").click()
    expect(preview.get_by_role("button", name="Send")).to_be_visible()
    assert [url for url in posts if not url.endswith("/preview")] == []  # no call, no callback created
    assert theme_for(site).primary_color != "#0f766e"  # still unsaved

    page.goto("/widget/qualifications")
    page.get_by_role("textbox", name="Question").fill("How big is your team?")
    expect(page.get_by_label("Option 1 label")).to_be_hidden()  # options are for selects only
    page.get_by_label("Answer type").select_option("single_select")
    page.get_by_label("Option 1 label").fill("Just me")
    page.get_by_label("Option 2 label").fill("A team")
    expect(preview.get_by_text("How big is your team?")).to_be_visible()  # before it is saved
    expect(preview.get_by_label("Just me")).to_be_visible()
    page.get_by_role("button", name="Add question").click()
    expect(page.get_by_role("heading", name="1. How big is your team?")).to_be_visible()


def test_add_and_remove_option_rows_before_saving(page, live_server, admin, site):
    """Add option gives the new question one more row (no save, the other forms keep their edits);
    Remove drops a row; the question saves what is shown."""
    add_question(site, "Budget", type_="text")
    db.session.commit()
    log_in(page, admin.email)
    page.goto("/widget/qualifications")
    page.get_by_role("textbox", name="Question").first.fill("Budget per month")  # unsaved, elsewhere
    new = page.locator("#new-form")
    new.get_by_role("textbox", name="Question").fill("Which plan?")
    new.get_by_label("Answer type").select_option("single_select")
    for i, label in enumerate(["Free", "Pro"], start=1):
        new.get_by_label(f"Option {i} label").fill(label)
    expect(new.get_by_label("Option 3 label")).to_be_hidden()
    new.get_by_role("button", name="+ Add option").click()
    expect(new.get_by_label("Option 3 label")).to_be_focused()
    page.keyboard.type("Team")
    expect(new.get_by_label("Option 1 label")).to_have_value("Free")
    expect(page.get_by_role("textbox", name="Question").first).to_have_value("Budget per month")
    new.get_by_role("button", name="Remove option 2").click()
    expect(new.get_by_label("Option 2 label")).to_have_value("Team")
    assert [q.label for q in flow_for(site).questions] == ["Budget"]  # nothing saved yet
    new.get_by_role("button", name="Add question").click()
    expect(page.get_by_role("heading", name="2. Which plan?")).to_be_visible()
    db.session.expire_all()
    assert [o.label for o in flow_for(site).questions[1].options] == ["Free", "Team"]


def test_injected_by_a_tag_manager_and_opened_before_ready(page, live_server, customer, site, admin):
    available(admin)
    # a tag manager inserts the tag with script after load: no document.currentScript to rely on
    body = ("<script>window.addEventListener('load', function () {"
            "var s = document.createElement('script'); s.async = true;"
            f"s.src = '{live_server}/widget.js'; s.setAttribute('data-ic-public-key', '{site.public_key}');"
            "document.body.appendChild(s); s.onload = function () { Converc.open(); }; });</script>")
    page.goto(customer.page("/", "<!doctype html><html><body><h1>GTM page</h1>" + body + "</body></html>"))
    expect(page.get_by_role("dialog").get_by_role("button", name="Start")).to_be_visible()
    expect(page.get_by_role("button", name="Talk to us live")).to_have_attribute("aria-expanded", "true")


def test_open_on_load_neither_stores_nor_steals_focus(page, live_server, customer, site, admin):
    available(admin)
    settings_for(site).open_on_load = True
    db.session.commit()
    page.goto(customer.page("/", snippet(live_server, site.public_key, body='<input id="search">')))
    page.locator("#search").focus()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("button", name="Start")).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "search"
    assert page.evaluate("localStorage.length + document.cookie.length") == 0
    dialog.get_by_role("button", name="Start").click()
    assert page.evaluate("localStorage.getItem('converc_fp')")

