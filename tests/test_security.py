import sqlalchemy as sa

from app.extensions import db
from app.models import Site


def test_missing_csrf_token_is_a_400_and_writes_nothing(auth, admin):
    auth.login(admin.email)
    response = auth.client.post("/sites", data={"domain": "example.com"})
    assert response.status_code == 400
    assert "reload" in response.get_data(as_text=True).lower()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Site)) == 0


def test_cross_site_write_is_refused(auth, admin):
    auth.login(admin.email)
    response = auth.post("/sites", {"domain": "example.com"}, headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Site)) == 0


def test_htmx_request_with_token_header_is_accepted(auth, admin):
    from tests.conftest import csrf_token

    auth.login(admin.email)
    response = auth.client.post("/sites", data={"domain": "example.com"},
                                headers={"HX-Request": "true", "X-CSRFToken": csrf_token(auth.client)})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/sites/")


def test_dashboard_pages_send_csp_and_request_id(auth, admin):
    auth.login(admin.email)
    response = auth.client.get("/dashboard")
    csp = response.headers["Content-Security-Policy"]
    for directive in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'self'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert len(response.headers["X-Request-Id"]) == 32


def test_user_text_is_escaped(auth, client):
    from tests.conftest import PASSWORD

    auth.post("/signup", {"organization": "<script>alert(1)</script>", "name": "<b>x</b>",
                          "email": "x@evil.example.com", "password": PASSWORD})
    html = client.get("/dashboard").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_sidebar_shows_only_existing_pages_for_the_role(auth, admin, rep):
    auth.login(rep.email)
    html = auth.client.get("/dashboard").get_data(as_text=True)
    assert 'href="/team"' not in html and 'href="/sites"' not in html
    auth.logout()
    auth.login(admin.email)
    html = auth.client.get("/dashboard").get_data(as_text=True)
    assert 'href="/team"' in html and 'href="/sites"' in html
