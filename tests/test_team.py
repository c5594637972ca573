import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Invite, User
from app.models.base import utcnow
from tests.conftest import PASSWORD, Auth, free_port


def _invite(auth, email="newbie@acme.example.com", role="rep"):
    response = auth.post("/team/invites", {"email": email, "role": role})
    html = response.get_data(as_text=True)
    match = re.search(r'value="(http://converc.test/invite/[^"]+)"', html)
    return response, match.group(1) if match else None


def test_admin_invites_and_teammate_joins_as_rep(app, auth, admin):
    auth.login(admin.email)
    response, link = _invite(auth)
    assert response.status_code == 200 and link
    invite = db.session.scalar(sa.select(Invite))
    assert invite.token_hash not in link  # only the hash is stored
    joiner = Auth(app.test_client())
    page = joiner.client.get(link)
    assert "newbie@acme.example.com" in page.get_data(as_text=True)
    path = link.removeprefix("http://converc.test")
    joined = joiner.post(path, {"name": "Nia New", "password": PASSWORD, "confirm": PASSWORD})
    assert joined.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "newbie@acme.example.com"))
    assert (user.role, user.organization_id) == ("rep", admin.organization_id)
    # the link works once
    assert Auth(app.test_client()).client.get(link).status_code == 410


def test_expired_invite_is_refused(app, auth, admin):
    auth.login(admin.email)
    _, link = _invite(auth)
    invite = db.session.scalar(sa.select(Invite))
    invite.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    joiner = Auth(app.test_client())
    response = joiner.post(link, {"name": "Late", "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 410
    assert "no longer valid" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_invite_of_existing_account_is_refused(auth, admin, other_admin):
    auth.login(admin.email)
    response, link = _invite(auth, email=other_admin.email)
    assert response.status_code == 422 and link is None
    assert "already has a Converc account" in response.get_data(as_text=True)


def test_invite_email_is_sent_through_smtp(make_app, admin):
    """A real SMTP server on loopback receives the invite, sent by a real RQ worker."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message
    from rq import SimpleWorker

    received = []

    class Collect(Message):
        def handle_message(self, message):
            received.append(message)

    controller = Controller(Collect(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        app = make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port,
                       SMTP_STARTTLS=False)
        with app.app_context():
            auth = Auth(app.test_client())
            auth.login(admin.email)
            _, link = _invite(auth)
            SimpleWorker(["default"], connection=app.extensions["redis"]).work(burst=True)
    finally:
        controller.stop()
    assert len(received) == 1
    assert received[0]["To"] == "newbie@acme.example.com"
    assert link in received[0].get_payload(decode=True).decode()


def test_admin_changes_role_and_removes_teammate(auth, admin, rep):
    rep_id = rep.id
    auth.login(admin.email)
    assert auth.post(f"/team/{rep.id}/role", {"role": "admin"}).status_code == 200
    db.session.refresh(rep)
    assert rep.role == "admin"
    assert auth.post(f"/team/{rep.id}/delete").status_code == 200
    assert db.session.get(User, rep_id) is None


def test_last_admin_cannot_be_demoted(auth, admin):
    auth.login(admin.email)
    response = auth.post(f"/team/{admin.id}/role", {"role": "rep"})
    assert response.status_code == 422
    assert "at least one admin" in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.role == "admin"


@pytest.mark.parametrize("url", ["/team", "/sites"])
def test_rep_gets_403_page_on_admin_pages(auth, rep, url):
    auth.login(rep.email)
    response = auth.client.get(url)
    assert response.status_code == 403
    assert "Not allowed" in response.get_data(as_text=True)


def test_rep_cannot_post_admin_actions(auth, admin, rep):
    auth.login(rep.email)
    assert auth.post(f"/team/{admin.id}/role", {"role": "rep"}).status_code == 403
    db.session.refresh(admin)
    assert admin.role == "admin"
