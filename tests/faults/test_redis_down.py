"""With Redis down the product degrades instead of crashing: a real redis-server, stopped mid-test.

The dashboard (login, pages, a rep's hang-up) works without it, rate limits fail open, the
widget's config comes from the database, and a visitor asking for a call is told to try again
(503 in the JSON error shape) rather than getting a 500.
"""

import logging
import re
import uuid

import pytest
import sqlalchemy as sa

from app.auth.service import sign_up
from app.extensions import db
from app.models import Call, Event
from tests.calls_support import call_body, go_online, make_site
from tests.conftest import PASSWORD, Auth
from tests.redis_process import RedisProcess

DASHBOARD_PAGES = ["/dashboard", "/calls", "/contacts", "/sites", "/team", "/widget/settings",
                   "/widget/theme", "/widget/qualifications", "/settings/availability",
                   "/settings/availability/status", "/settings/integrations",
                   "/settings/integrations/webhooks", "/account"]


@pytest.fixture
def redis_server():
    server = RedisProcess()
    yield server
    server.stop()


@pytest.fixture
def down(redis_server, make_app):
    """An app on its own redis-server (started; the test stops it), with an admin, a site, a call."""
    # errors answer as in production (a 500 page), not raised into the test
    app = make_app(REDIS_URL=redis_server.url, PROPAGATE_EXCEPTIONS=False)
    with app.app_context():
        admin = sign_up("Acme", "Ada Admin", "ada@acme.example.com", PASSWORD)
        site = make_site(admin.organization_id)
        go_online(admin)
        yield app, admin, site, redis_server
        if not redis_server.running:
            redis_server.start()  # make_app's teardown empties it


def accepted_call(app, site) -> str:
    """A visitor's call, accepted by the logged-in admin, while Redis is up."""
    client = app.test_client()
    created = client.post("/widget/calls", json=call_body(site))
    assert created.status_code == 201, created.get_data(as_text=True)
    return uuid.UUID(created.get_json()["call"]["id"])


def test_login_works_while_redis_is_down_and_the_rate_limit_says_it_failed_open(down, caplog):
    app, admin, _site, redis_server = down
    auth = Auth(app.test_client())
    auth.client.get("/login")
    redis_server.stop()
    # the migrations' logging.config.fileConfig disabled loggers that existed before it ran
    logging.getLogger("flask-limiter").disabled = False
    with caplog.at_level(logging.WARNING):
        login = auth.login(admin.email)
    assert login.status_code == 302 and login.headers["Location"].endswith("/dashboard")
    assert "rate limit" in caplog.text.lower()
    assert auth.client.get("/dashboard").status_code == 200


def test_pages_and_a_reps_hang_up_work_while_redis_is_down(down):
    app, admin, site, redis_server = down
    auth = Auth(app.test_client())
    call_id = accepted_call(app, site)
    assert auth.login(admin.email).status_code == 302
    assert auth.post(f"/calls/{call_id}/accept").status_code == 303

    redis_server.stop()
    for page in DASHBOARD_PAGES:
        assert auth.client.get(page).status_code == 200, page
    hangup = auth.post(f"/calls/{call_id}/hangup")
    assert hangup.status_code == 303
    assert db.session.scalar(sa.select(Call.status).where(Call.id == call_id)) == "ended"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(
        Event.type == "call.ended")) == 1


def test_the_widget_config_answers_from_the_database_while_redis_is_down(down):
    app, _admin, site, redis_server = down
    client = app.test_client()
    redis_server.stop()
    response = client.get("/widget/config", query_string={"public_key": site.public_key,
                                                          "domain": site.domain})
    assert response.status_code == 200
    assert response.get_json()["site"]["domain"] == site.domain


def test_a_call_request_while_redis_is_down_is_told_to_try_again(down):
    app, _admin, site, redis_server = down
    client = app.test_client()
    redis_server.stop()
    response = client.post("/widget/calls", json=call_body(site), headers={"Origin": "https://shop.example.com"})
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "service_unavailable" and re.search(r"try again", error["message"], re.I)
    assert response.headers["Retry-After"].isdigit()
    assert response.headers["Access-Control-Allow-Origin"] == "*"  # the widget can read it
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Call)) == 0

    redis_server.start()
    assert client.post("/widget/calls", json=call_body(site)).status_code == 201


def test_the_api_answers_503_not_500_while_redis_is_down(down, api_key_for):
    app, admin, _site, redis_server = down
    raw = api_key_for(admin)
    client = app.test_client()
    redis_server.stop()
    listed = client.get("/integrations/webhooks", headers={"Authorization": f"Bearer {raw}"})
    assert listed.status_code == 200  # the rate limit failed open; the rest needs only the database
    tested = client.post("/integrations/webhooks/test", json={"webhookId": "not-a-uuid"},
                         headers={"Authorization": f"Bearer {raw}"})
    assert tested.status_code == 404


@pytest.fixture
def api_key_for():
    from app.api.auth import create_key
    from app.models.webhooks import API_SCOPES

    return lambda user: create_key(user.organization_id, "Tests", list(API_SCOPES))[1]
