import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Organization, User
from tests.conftest import PASSWORD


def _signup(auth, **over):
    data = {"organization": "Initech", "name": "Ida", "email": "ida@initech.example.com",
            "password": PASSWORD, **over}
    return auth.post("/signup", data)


def test_signup_creates_org_and_admin_and_logs_in(auth, client):
    response = _signup(auth)
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "ida@initech.example.com"))
    assert user.role == "admin"
    assert user.organization.name == "Initech"
    assert user.password_hash.startswith("$argon2id$")
    assert "Initech" in client.get("/dashboard").get_data(as_text=True)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("password", "short", "at least 10 characters"),
    ("password", "aaaaaaaaaaaa", "too easy to guess"),
    ("password", "ida-initech-2024", "email address in your password"),
    ("email", "not-an-email", "Invalid email address"),
    ("organization", "", "This field is required"),
])
def test_signup_refuses_bad_input_and_writes_nothing(auth, field, value, message):
    response = _signup(auth, **{field: value})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 0


def test_duplicate_signup_email_is_refused(auth, admin):
    response = _signup(auth, email=admin.email.upper())
    assert response.status_code == 422
    assert "An account with this email exists" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 1


def test_login_and_logout(auth, client, admin):
    assert auth.login(admin.email).status_code == 302
    assert client.get("/dashboard").status_code == 200
    auth.logout()
    assert client.get("/dashboard").status_code == 302


def test_wrong_password_shows_message(auth, client, admin):
    response = auth.login(admin.email, "wrong-password-1")
    assert response.status_code == 422
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_login_next_only_follows_local_paths(auth, admin):
    from tests.conftest import csrf_token

    token = csrf_token(auth.client)
    data = {"csrf_token": token, "email": admin.email, "password": PASSWORD}
    evil = auth.client.post("/login?next=//evil.test/x", data=data)
    assert evil.headers["Location"] == "/dashboard"


def test_login_is_rate_limited_per_account(make_app, admin):
    from tests.conftest import Auth

    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    auth = Auth(app.test_client())
    codes = [auth.login(admin.email, "wrong-password-1").status_code for _ in range(4)]
    assert codes == [422, 422, 422, 429]
    # another IP cannot unlock the account either: the per-account limit holds
    other = Auth(app.test_client())
    other.client.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    assert other.login(admin.email).status_code == 429


def test_password_change(auth, client, admin):
    auth.login(admin.email)
    bad = auth.post("/account", {"current": "nope-nope-nope", "password": "new-password-42",
                                 "confirm": "new-password-42"})
    assert "not your current password" in bad.get_data(as_text=True)
    ok = auth.post("/account", {"current": PASSWORD, "password": "new-password-42",
                                "confirm": "new-password-42"})
    assert ok.status_code == 302
    auth.logout()
    assert auth.login(admin.email, "new-password-42").status_code == 302


# --- sessions that really end, redirects that stay home, password reset ---------------------------

def _copy_session(app, client):
    """A second browser holding a copy of the first one's session cookie."""
    thief = app.test_client()
    cookie = client.get_cookie("session", domain="converc.test")
    thief.set_cookie("session", cookie.value, domain="converc.test")
    return thief


def test_a_copied_session_cookie_dies_at_logout(app, auth, client, admin):
    auth.login(admin.email)
    thief = _copy_session(app, client)
    assert thief.get("/dashboard").status_code == 200
    auth.logout()
    assert thief.get("/dashboard").status_code == 302


def test_a_password_change_ends_other_sessions_and_keeps_this_one(app, auth, client, admin):
    auth.login(admin.email)
    thief = _copy_session(app, client)
    auth.post("/account", {"current": PASSWORD, "password": "new-password-42", "confirm": "new-password-42"})
    assert client.get("/dashboard").status_code == 200
    assert thief.get("/dashboard").status_code == 302


@pytest.mark.parametrize("target", [
    "/%09/evil.example/phish", "/\t/evil.example", "/\\evil.example", "/%5Cevil.example",
    "//evil.example", "https://evil.example/", "/%0a/evil.example", "javascript:alert(1)",
])
def test_login_never_redirects_off_site(auth, admin, target):
    from tests.conftest import csrf_token

    data = {"csrf_token": csrf_token(auth.client), "email": admin.email, "password": PASSWORD}
    response = auth.client.post(f"/login?next={target}", data=data)
    assert response.headers["Location"] == "/dashboard"


def test_login_follows_a_local_next(auth, admin):
    from tests.conftest import csrf_token

    data = {"csrf_token": csrf_token(auth.client), "email": admin.email, "password": PASSWORD}
    assert auth.client.post("/login?next=/calls?status=missed", data=data).headers["Location"] == \
        "/calls?status=missed"


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    from tests.conftest import free_port

    received = []

    class Collect(Message):
        def handle_message(self, message):
            received.append(message)

    controller = Controller(Collect(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, received
    controller.stop()


def _reset_link(received) -> str:
    import re

    body = received[-1].get_payload(decode=True).decode()
    return re.search(r"http://converc\.test(/password/reset/\S+)", body).group(1)


def test_forgot_password_mails_a_single_use_link(make_app, admin, smtp):
    from tests.conftest import Auth, run_jobs

    port, received = smtp
    app = make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False)
    auth = Auth(app.test_client())
    response = auth.post("/password/forgot", {"email": admin.email.upper()})
    assert "If an account exists for" in response.get_data(as_text=True)
    run_jobs(app)
    assert received[-1]["To"] == admin.email
    link = _reset_link(received)
    assert "Choose a new password" in auth.client.get(link).get_data(as_text=True)
    weak = auth.post(link, {"password": "short", "confirm": "short"})
    assert weak.status_code == 422 and "at least 10 characters" in weak.get_data(as_text=True)
    done = auth.post(link, {"password": "brand-new-pass-77", "confirm": "brand-new-pass-77"})
    assert done.status_code == 302
    # used once: the same link now says so and changes nothing
    again = auth.post(link, {"password": "another-pass-8888", "confirm": "another-pass-8888"})
    assert again.status_code == 400 and "expired or was already used" in again.get_data(as_text=True)
    auth.logout()
    assert auth.login(admin.email, "brand-new-pass-77").status_code == 302


def test_forgot_password_reveals_nothing_and_mails_nobody_for_an_unknown_address(make_app, smtp):
    from tests.conftest import Auth, run_jobs

    port, received = smtp
    app = make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False)
    with app.app_context():
        auth = Auth(app.test_client())
        response = auth.post("/password/forgot", {"email": "nobody@nowhere.example.com"})
        assert response.status_code == 200 and "If an account exists for" in response.get_data(as_text=True)
        run_jobs(app)
    assert received == []


def test_a_reset_link_expires(make_app, admin, smtp):
    from tests.conftest import Auth, run_jobs

    port, received = smtp
    app = make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False, PASSWORD_RESET_SECONDS=-1)
    auth = Auth(app.test_client())
    auth.post("/password/forgot", {"email": admin.email})
    run_jobs(app)
    response = auth.client.get(_reset_link(received))
    assert response.status_code == 400 and "expired or was already used" in response.get_data(as_text=True)


def test_forgot_password_is_rate_limited_per_address(make_app, admin):
    from tests.conftest import Auth

    app = make_app(PASSWORD_RESET_RATE_LIMIT="2 per hour")
    codes = []
    for ip in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        auth = Auth(app.test_client())
        auth.client.environ_base["REMOTE_ADDR"] = ip
        codes.append(auth.post("/password/forgot", {"email": admin.email}).status_code)
    assert codes == [200, 200, 429]


def test_forgot_password_says_when_this_server_cannot_send_email(auth):
    response = auth.client.get("/password/forgot")
    assert "cannot send email" in response.get_data(as_text=True)


def test_the_login_page_links_to_forgot_password(client):
    assert "/password/forgot" in client.get("/login").get_data(as_text=True)


def test_the_rep_socket_refuses_origin_null_when_base_url_is_unset(make_app):
    from app.realtime.routes import _same_origin

    app = make_app(BASE_URL="")
    with app.test_request_context("/ws/rep", headers={"Origin": "null"}):
        assert _same_origin() is False
    with app.test_request_context("/ws/rep", headers={"Origin": "http://converc.test"}):
        assert _same_origin() is True


def test_invite_and_reset_emails_survive_redis_losing_their_jobs(make_app, admin, smtp):
    """#11: account emails are owed rows; Redis restarted empty before the worker ran, and the
    cron pass enqueues them again (under their fixed job ids), and they arrive."""
    from datetime import timedelta

    import sqlalchemy as sa

    from app import owed_mail
    from app.extensions import db
    from app.models import OwedEmail
    from tests.conftest import Auth, run_jobs

    port, received = smtp
    app = make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False)
    with app.app_context():
        auth = Auth(app.test_client())
        auth.post("/password/forgot", {"email": admin.email})
        auth.login(admin.email)
        auth.post("/team/invites", {"email": "newbie@acme.example.com", "role": "rep"})
        rows = db.session.scalars(sa.select(OwedEmail)).all()
        assert sorted(r.kind for r in rows) == ["invite", "password_reset"]
        assert all("converc.test" not in r.link_encrypted for r in rows)  # the links are secrets
        app.extensions["redis"].flushdb()  # Redis restarted empty: both jobs are gone
        run_jobs(app)
        assert received == []
        assert owed_mail.resend_lost() == 0  # too fresh: the job may still be on its way
        for row in rows:  # the pass runs later
            row.created_at -= timedelta(minutes=5)
        db.session.commit()
        assert owed_mail.resend_lost() == 2
        assert owed_mail.resend_lost() == 0  # their jobs are queued: never twice
        run_jobs(app)
        assert sorted(m["To"] for m in received) == sorted([admin.email, "newbie@acme.example.com"])
        db.session.expire_all()
        assert db.session.scalars(sa.select(OwedEmail)).all() == []  # sent: nothing owed, no link kept
