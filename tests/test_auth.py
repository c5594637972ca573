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
