"""Redis down, in the real widget: the badge still comes (its config from the database), and a
visitor who calls is told to try again (the server's 503) instead of a broken screen."""

import pytest
from playwright.sync_api import expect

from app.extensions import db
from tests.browser.conftest import call_through_the_widget, start_server
from tests.browser.test_calls import customer_site  # noqa: F401
from tests.redis_process import RedisProcess


@pytest.fixture
def redis_server():
    server = RedisProcess()
    yield server
    server.stop()


@pytest.fixture
def live_server(app, settings, redis_server):
    """The app under gunicorn on a redis-server of its own, which the test stops."""
    proc, url = start_server({**settings, "REDIS_URL": redis_server.url})
    yield url
    proc.terminate()
    proc.wait(10)


def test_with_redis_down_the_badge_shows_and_a_call_request_says_try_again(
        live_server, redis_server, visitor, customer_site, rep):  # noqa: F811
    site, url = customer_site
    rep.available = True  # no dashboard open: without Redis presence is unknown, and not held against them
    db.session.commit()
    redis_server.stop()
    dialog = call_through_the_widget(visitor, url)
    expect(dialog.get_by_text("We could not start the call")).to_be_visible(timeout=15000)
    expect(dialog.get_by_text("We could not reach our team just now. Please try again in a few seconds.")) \
        .to_be_visible()
    assert visitor.evaluate("window.widgetEvents")[-1] == "call.failed"
