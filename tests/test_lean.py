"""The per-request hooks extensions install run only where they act (app.lean): the widget's public
answers skip sessions, logins and Flask-Limiter, and every route that needs them still gets them."""

from tests.conftest import bearer, csrf_token


def test_widget_answers_neither_read_the_session_nor_vary_on_it(client):
    response = client.get("/widget/ping")
    assert response.status_code == 200 and "Cookie" not in response.headers.get("Vary", "")
    assert response.headers["X-Request-Id"] and "X-RateLimit-Limit" not in response.headers


def test_dashboard_pages_still_vary_on_the_session_cookie(auth, admin):
    auth.login(admin.email)
    response = auth.client.get("/dashboard")
    assert response.status_code == 200 and "Cookie" in response.headers["Vary"]


def test_a_route_limit_still_sends_its_headers(client):
    # the login's own @limiter.limit is checked by its decorator; the headers come from the after_request
    response = client.post("/login", data={"csrf_token": csrf_token(client), "email": "x@example.com",
                                           "password": "wrong"})
    assert response.status_code == 422 and int(response.headers["X-RateLimit-Limit"]) > 0


def test_the_api_blueprint_limit_still_applies_with_its_headers(client, api_key):
    _, raw = api_key
    response = client.get("/integrations/webhooks", headers=bearer(raw))
    assert response.status_code == 200 and int(response.headers["X-RateLimit-Remaining"]) >= 0


def test_nul_in_a_query_argument_is_refused_on_public_routes_too(client):
    for query in ("public_key=%00", "a=1&b=x%00y", "c\x00=1"):
        response = client.get(f"/widget/config?{query}")
        assert response.status_code == 400, query
    assert client.get("/widget/config?public_key=%2500").status_code == 404  # "%00" as text is no NUL
