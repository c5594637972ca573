"""A new callback is emailed to the team routing picks for it, through the project's mail code, to
a real SMTP server on loopback, sent by a real RQ worker."""

import pytest
from rq import SimpleWorker

from app.extensions import db
from app.routing import teams
from tests.calls_support import make_site
from tests.conftest import make_member
from tests.test_auth import smtp  # noqa: F401  (the loopback SMTP server fixture)
from tests.test_callbacks import leave_details


@pytest.fixture
def mail_app(make_app, admin, smtp):  # noqa: F811
    """Pushed after `admin` (whose app context has no SMTP): the jobs run in this one."""
    port, received = smtp
    app = make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False, COUNTRY_HEADER="CF-IPCountry")
    with app.app_context():
        yield app, received


def mailed(app, received) -> dict:
    SimpleWorker(["default"], connection=app.extensions["redis"]).work(burst=True)
    got = {m["To"]: m for m in received}
    received.clear()
    return got


def test_callbacks_are_mailed_to_their_team_or_the_admins(mail_app, admin):
    app, received = mail_app
    org = admin.organization_id
    site = make_site(org, "shop.example.com")
    anna = make_member(org, "anna@acme.example.com", "rep", "Anna")
    ben = make_member(org, "ben@acme.example.com", "rep", "Ben")
    gone = make_member(org, "gone@acme.example.com", "rep", "Gone")
    gone.is_active_member = False
    make_member(org, "carla@acme.example.com", "rep", "Carla")  # in no team
    dach = teams.save_team(org, None, name="DACH", strategy="ring_all", overflow_seconds=None,
                           overflow_team_id=None, member_ids=[anna.id, ben.id, gone.id])
    quiet = teams.save_team(org, None, name="Quiet", strategy="ring_all", overflow_seconds=None,
                            overflow_team_id=None, member_ids=[anna.id], email_callbacks=False)
    teams.add_routing_rule(org, [{"source": "country", "op": "any_of", "value": ["DE"]}], dach)
    teams.add_routing_rule(org, [{"source": "country", "op": "any_of", "value": ["SE"]}], quiet)
    db.session.commit()
    client = app.test_client()

    response = client.post("/widget/callbacks", data=_body(site, "fp-de"), content_type="text/plain",
                           headers={"Origin": "https://shop.example.com", "CF-IPCountry": "DE"})
    assert response.status_code == 201, response.get_json()
    got = mailed(app, received)
    assert sorted(got) == ["anna@acme.example.com", "ben@acme.example.com"]  # not the inactive member
    message = got["anna@acme.example.com"]
    assert message["Subject"] == "Callback requested: Lena Lead (shop.example.com)"
    body = message.get_payload(decode=True).decode()
    for line in ("Email: lena@example.org", "Phone: +49 30 1234567", "When: Later today", "Team: DACH",
                 "Ask about the enterprise plan", "Claim it: http://converc.test/callbacks/"):
        assert line in body, body

    assert leave_details(client, site, "fp-us").status_code == 201  # no rule matches: the admins
    assert sorted(mailed(app, received)) == [admin.email]
    response = client.post("/widget/callbacks", data=_body(site, "fp-se"), content_type="text/plain",
                           headers={"Origin": "https://shop.example.com", "CF-IPCountry": "SE"})
    assert response.status_code == 201
    assert mailed(app, received) == {}  # the team asked for no callback emails


def _body(site, fingerprint) -> str:
    import json

    contact = {"name": "Lena Lead", "email": "lena@example.org", "phone": "+49 30 1234567"}
    return json.dumps({"publicKey": site.public_key, "fingerprint": fingerprint, "contact": contact,
                       "window": "today", "note": "Ask about the enterprise plan"})


def test_a_callback_email_lost_with_redis_is_still_sent(mail_app, admin):
    """#11's owed work for #13's emails: Redis restarted empty before the worker ran; the cron pass
    enqueues the callback's email again, and the team gets it once."""
    from datetime import timedelta

    import sqlalchemy as sa

    from app import owed_mail
    from app.models import OwedEmail

    app, received = mail_app
    site = make_site(admin.organization_id, "shop.example.com")
    client = app.test_client()
    assert leave_details(client, site, "fp-lost").status_code == 201
    app.extensions["redis"].flushdb()  # the job is gone
    assert mailed(app, received) == {}
    for row in db.session.scalars(sa.select(OwedEmail)):
        row.created_at -= timedelta(minutes=5)
    db.session.commit()
    assert owed_mail.resend_lost() == 1
    assert owed_mail.resend_lost() == 0  # its job is queued: never twice
    assert sorted(mailed(app, received)) == [admin.email]
    db.session.expire_all()
    assert db.session.scalars(sa.select(OwedEmail)).all() == []
