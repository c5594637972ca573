"""Callbacks instead of dead ends, in Chromium through the real widget on a customer page: a
disqualified visitor leaves their details; a call nobody answers becomes a callback a rep claims
in the dashboard's Callbacks queue."""


import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Callback, Event
from app.models.widget import flow_for
from tests.browser.conftest import snippet
from tests.browser.test_widget import add_question
from tests.calls_support import make_site


@pytest.fixture
def customer_site(admin, live_server, customer):
    site = make_site(admin.organization_id, "localhost", ring_timeout_seconds=2)
    add_question(site, "Company size", options=[("1-10", True), ("11-50", False)])
    flow_for(site).disqualified_action = "leave_details"
    db.session.commit()
    return site, customer.page("/pricing", snippet(live_server, site.public_key))


def answer(visitor, url, size):
    visitor.goto(url)
    visitor.get_by_role("button", name="Talk to us live").click()
    dialog = visitor.get_by_role("dialog")
    dialog.get_by_role("button", name="Start").click()
    dialog.get_by_label(size).check()
    dialog.get_by_role("button", name="Next").click()
    dialog.get_by_label("Name").fill("Lena Lead")
    dialog.get_by_label("Email").fill("lena@example.org")
    dialog.get_by_role("button", name="Next").click()
    return dialog


def callbacks() -> list[Callback]:
    db.session.expire_all()
    return db.session.scalars(sa.select(Callback)).all()


def test_a_disqualified_visitor_leaves_details(rep_page, visitor, customer_site):
    _, url = customer_site
    dialog = answer(visitor, url, "1-10")

    expect(dialog.get_by_text("Leave your details and we will call you back.").first).to_be_visible()
    expect(dialog.get_by_label("Email")).to_have_value("lena@example.org")  # asked once, not twice
    dialog.get_by_label("Phone").fill("+49 30 1234567")
    dialog.get_by_label("When should we call?").select_option("tomorrow")
    dialog.get_by_label("Anything we should know?").fill("Only mornings")
    dialog.get_by_role("button", name="Send").click()

    expect(dialog.get_by_text("Thanks! We have your details and will call you back.")).to_be_visible()
    next_step = "Someone from our team will contact you at +49 30 1234567, tomorrow."
    expect(dialog.get_by_text(next_step)).to_be_visible()
    [callback] = callbacks()
    assert callback.reason == "disqualified" and callback.note == "Only mornings"
    assert callback.email == "lena@example.org" and callback.answers[0]["answer"]["value"] == "1-10"
    types = set(db.session.scalars(sa.select(Event.type)))
    assert {"contact.disqualified", "callback.requested"} <= types and "call.requested" not in types


def test_a_missed_call_becomes_a_callback_a_rep_claims(rep_page, visitor, customer_site, worker):
    _, url = customer_site
    dialog = answer(visitor, url, "11-50")
    dialog.get_by_role("button", name="Video call").click()
    expect(rep_page.get_by_role("alertdialog", name="Incoming call")).to_be_visible()
    expect(dialog.get_by_text("Leave your details and we will call you back.")).to_be_visible(timeout=20000)

    dialog.get_by_role("button", name="Leave your details").click()
    expect(dialog.get_by_label("Email")).to_have_value("lena@example.org")
    dialog.get_by_role("button", name="Send").click()
    expect(dialog.get_by_text("Someone from our team will contact you at lena@example.org, "
                              "as soon as possible.")).to_be_visible()
    [callback] = callbacks()
    assert callback.reason == "missed" and callback.call_id is not None

    rep_page.goto("/callbacks")
    row = rep_page.locator(".callback-row", has_text="Lena Lead")
    expect(row).to_contain_text("Nobody answered")
    row.get_by_role("button", name="Claim").click()
    expect(rep_page.locator(".callback-row", has_text="Lena Lead")).to_contain_text("Claimed by Rex Rep")
    db.session.expire_all()
    assert callbacks()[0].status == "claimed" and callbacks()[0].claimed_by.email == "rex@acme.example.com"
