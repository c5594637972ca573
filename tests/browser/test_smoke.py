"""A person signs up, adds a site and copies its snippet, in a real Chromium."""

import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Site
from tests.conftest import PASSWORD


def test_sign_up_add_site_copy_snippet(page):
    page.goto("/signup")
    page.get_by_label("Company name").fill("Initech")
    page.get_by_label("Your name").fill("Ida")
    page.get_by_label("Work email").fill("ida@initech.example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", name="Sites", exact=True)).to_be_visible()
    page.get_by_label("Website domain").fill("not a domain")
    page.get_by_role("button", name="Add site").click()
    expect(page.get_by_text("This is not a valid domain")).to_be_visible()

    page.get_by_label("Website domain").fill("https://WWW.Initech.example.com/about")
    page.get_by_role("button", name="Add site").click()
    expect(page.get_by_role("heading", name="www.initech.example.com")).to_be_visible()

    site = db.session.scalar(sa.select(Site))
    page.locator("#snippets .snippet").first.get_by_role("button", name="Copy").click()
    expect(page.locator("#snippets .snippet").first.get_by_role("button")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert f'data-ic-public-key="{site.public_key}"' in copied
    assert copied.startswith("<script") and "/widget.js" in copied
