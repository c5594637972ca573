"""The public side: /widget/config, /widget/qualify and the scripts, as customer pages call them."""

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.widget import QualificationOption, QualificationQuestion, flow_for, settings_for
from app.realtime import presence
from app.sites.service import create_site
from app.widget.scripts import served_source
from app.widget.service import invalidate
from app.widget.tokens import load_qualification

ORIGIN = "https://example.com"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def site(admin):
    return create_site(admin.organization_id, "example.com")


def get_config(client, site, domain="example.com", origin=ORIGIN, **headers):
    if origin:
        headers["Origin"] = origin
    return client.get("/widget/config", query_string={"public_key": site.public_key, "domain": domain},
                      headers=headers)


def add_question(site, label, type_="single_select", required=True, options=(), **extra):
    flow = flow_for(site)
    q = QualificationQuestion(organization_id=site.organization_id, label=label, type=type_,
                              required=required, position=len(flow.questions) + 1, **extra)
    for i, (text, disqualifies) in enumerate(options, start=1):
        q.options.append(QualificationOption(organization_id=site.organization_id, label=text,
                                             value=text.lower(), position=i, disqualifies=disqualifies))
    flow.questions.append(q)
    db.session.commit()
    return q


def test_config_has_everything_the_widget_needs(client, site):
    add_question(site, "Company size", options=[("1-10", False), ("11-50", False)])
    response = get_config(client, site)
    assert response.status_code == 200
    body = response.get_json()
    assert body["site"] == {"id": str(site.id), "domain": "example.com"}
    assert body["settings"]["badgeLabel"] == "Talk to us live"
    assert body["settings"]["callType"] == "choice" and body["settings"]["ringTimeoutSeconds"] == 45
    assert body["theme"]["primaryColor"] == "#4f46e5" and body["theme"]["copy"]["unavailable"]
    assert body["availability"] == {"available": False, "nextAvailableAt": None}
    assert body["show"] is True and body["calendarUrl"] is None
    question = body["flow"]["questions"][0]
    assert question["label"] == "Company size" and question["options"] == [
        {"label": "1-10", "value": "1-10"}, {"label": "11-50", "value": "11-50"}]
    assert "disqualifies" not in json.dumps(body)  # the rules stay on the server
    assert body["assets"]["flow"].startswith("/widget/flow.js?v=")
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in response.headers["Vary"]


def test_config_revalidates_on_every_load_so_a_save_shows_on_the_next(app, client, site):
    first = get_config(client, site)
    assert first.headers["Cache-Control"] == "public, no-cache"
    etag = first.headers["ETag"]
    again = get_config(client, site, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["Access-Control-Allow-Origin"] == ORIGIN

    settings_for(site).badge_label = "Ask us anything"
    db.session.commit()
    invalidate(site)  # what the settings page does on save
    saved = get_config(client, site, **{"If-None-Match": etag})
    assert saved.status_code == 200 and saved.get_json()["settings"]["badgeLabel"] == "Ask us anything"

    app.config["WIDGET_CONFIG_MAX_AGE"] = 10  # an operator who prefers fewer requests
    assert "max-age=10, stale-while-revalidate=60" in get_config(client, site).headers["Cache-Control"]


@pytest.mark.parametrize(("query", "status", "code"), [
    ({"public_key": "pk_nope", "domain": "example.com"}, 404, "site_not_found"),
    ({"domain": "example.com"}, 400, "invalid_request"),
])
def test_unknown_or_missing_key(client, site, query, status, code):
    response = client.get("/widget/config", query_string=query, headers={"Origin": ORIGIN})
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_wrong_domain_is_403_naming_the_registered_one(client, site):
    response = get_config(client, site, domain="www.example.com", origin="https://www.example.com")
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "domain_not_allowed"
    assert "registered for example.com, not www.example.com" in error["message"]
    # the page's real origin counts too: a foreign page cannot claim the site's domain
    assert get_config(client, site, origin="https://evil.example.net").status_code == 403


def test_an_alias_is_allowed_exactly(client, site):
    settings_for(site).domain_aliases = ["www.example.com"]
    db.session.commit()
    assert get_config(client, site, "www.example.com", "https://www.example.com").status_code == 200
    assert get_config(client, site, "shop.example.com", "https://shop.example.com").status_code == 403


@pytest.fixture
def uncached_client(make_app, app):
    return make_app(WIDGET_LOCAL_CACHE_SECONDS=0).test_client()


def dashboard_open(user, socket_id="tab-1"):
    """The rep's dashboard socket, as the real presence store records it."""
    presence.touch(user.id, user.organization_id, socket_id)


def test_availability_follows_reps_and_pause(uncached_client, site, rep):
    client = uncached_client
    assert get_config(client, site).get_json()["availability"]["available"] is False
    rep.available = True
    db.session.commit()
    # Available, but no dashboard open: nobody could answer
    assert get_config(client, site).get_json()["availability"]["available"] is False
    dashboard_open(rep)
    from app.availability.service import invalidate as availability_changed

    availability_changed(rep.organization_id)  # what the rep socket does when a rep comes online
    assert get_config(client, site).get_json()["availability"]["available"] is True
    settings_for(site).paused = True
    db.session.commit()
    from app.widget.service import invalidate

    invalidate(site)
    assert get_config(client, site).get_json()["availability"]["available"] is False


def test_availability_says_when_someone_is_next_available(make_app, site, rep):
    from datetime import UTC, datetime, timedelta

    from app.availability.service import save_override

    client = make_app().test_client()
    rep.available = True
    db.session.commit()
    dashboard_open(rep)
    now = datetime.now(UTC)
    tomorrow = (now + timedelta(days=1)).date()
    save_override(rep, now.date(), [])  # a day off today (UTC: the rep's timezone)
    save_override(rep, tomorrow, [[540, 1020]])
    body = get_config(client, site).get_json()
    assert body["availability"] == {"available": False,
                                    "nextAvailableAt": f"{tomorrow.isoformat()}T09:00:00.000Z"}
    # closing the dashboard does not lose "back at 9:00" for visitors at night
    presence.leave(rep.id, rep.organization_id, "tab-1")
    from app.availability.service import invalidate as availability_changed

    availability_changed(rep.organization_id)
    assert get_config(client, site).get_json()["availability"]["nextAvailableAt"] == (
        f"{tomorrow.isoformat()}T09:00:00.000Z")


def test_a_remembered_yes_never_outlives_the_moment_it_ends(make_app, admin, rep):
    """Even a long per-process memory forgets "available" when a busy block begins."""
    import time
    from datetime import UTC, datetime, timedelta

    from app.availability.service import replace_busy_blocks

    client = make_app(WIDGET_LOCAL_CACHE_SECONDS=60).test_client()
    site = create_site(admin.organization_id, "example.com")
    rep.available = True
    db.session.commit()
    dashboard_open(rep)
    now = datetime.now(UTC)
    replace_busy_blocks(rep.id, "google", now - timedelta(hours=1), now + timedelta(days=1),
                        [(now + timedelta(seconds=1.5), now + timedelta(hours=1))])
    assert get_config(client, site).get_json()["availability"]["available"] is True
    time.sleep(max(0.0, (now + timedelta(seconds=1.6) - datetime.now(UTC)).total_seconds()))
    assert get_config(client, site).get_json()["availability"]["available"] is False


def test_config_is_cached_per_site_until_a_commit_changes_its_settings(client, site):
    """Served from the cache with no query; any writer's commit that changes the settings drops it
    (not only the admin pages' explicit invalidate)."""
    from tests.conftest import statements

    assert get_config(client, site).get_json()["settings"]["badgeLabel"] == "Talk to us live"
    page = {"public_key": site.public_key, "domain": "example.com"}
    with statements() as seen:
        response = client.get("/widget/config", query_string=page, headers={"Origin": ORIGIN})
    assert response.get_json()["settings"]["badgeLabel"] == "Talk to us live" and seen == []
    settings_for(site).badge_label = "Changed by any writer"
    db.session.commit()
    assert get_config(client, site).get_json()["settings"]["badgeLabel"] == "Changed by any writer"


@pytest.mark.parametrize(("header", "shown"), [("FR", False), ("US", True), (None, True), ("XX", True)])
def test_countries_from_the_trusted_header(make_app, admin, header, shown):
    app = make_app(COUNTRY_HEADER="CF-IPCountry")
    with app.app_context():
        site = create_site(admin.organization_id, "example.com")
        settings_for(site).countries = ["US", "CA"]
        db.session.commit()
        headers = {"CF-IPCountry": header} if header else {}
        response = get_config(app.test_client(), site, **headers)
        assert response.get_json()["show"] is shown
        assert response.headers["Cache-Control"].startswith("private")


def _mmdb(path):
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=4, database_type="GeoIP2-City", languages=["en"], description="test")
    writer.insert_network(IPSet(["81.2.69.0/24"]), {
        "country": {"iso_code": "GB", "names": {"en": "United Kingdom"}},
        "city": {"names": {"en": "London"}}, "location": {"time_zone": "Europe/London"}})
    writer.insert_network(IPSet(["8.8.8.0/24"]),
                          {"country": {"iso_code": "US", "names": {"en": "United States"}}})
    writer.to_db_file(str(path))
    return str(path)


@pytest.mark.parametrize(("ip", "shown"), [("81.2.69.160", False), ("8.8.8.8", True), ("10.0.0.1", True)])
def test_countries_from_a_geoip2_file(make_app, admin, tmp_path, ip, shown):
    app = make_app(GEOIP_DB_PATH=_mmdb(tmp_path / "city.mmdb"))
    with app.app_context():
        site = create_site(admin.organization_id, "example.com")
        settings_for(site).countries = ["US"]
        db.session.commit()
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = ip
        body = get_config(client, site).get_json()
        assert body["show"] is shown


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_rate_limited_per_ip_with_retry_after(make_app, admin, storage):
    app = make_app(WIDGET_RATE_LIMIT="3 per minute", WIDGET_RATE_LIMIT_STORAGE=storage)
    with app.app_context():
        site = create_site(admin.organization_id, "example.com")
        client = app.test_client()
        statuses = [get_config(client, site).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        response = get_config(client, site)
        assert response.get_json()["error"]["code"] == "rate_limited"
        assert 0 < int(response.headers["Retry-After"]) <= 60
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN  # the page can read why
        client.environ_base["REMOTE_ADDR"] = "10.9.9.9"  # another visitor is not affected
        assert get_config(client, site).status_code == 200


@pytest.mark.parametrize("path", ["/widget.js", "/embed.js"])
def test_loader_scripts(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "max-age=300" in response.headers["Cache-Control"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert b"data-ic-public-key" in response.data and b"innerHTML" not in response.data


def script_urls(client, site):
    assets = get_config(client, site).get_json()["assets"]
    return ["/widget.js", "/embed.js", assets["flow"], assets["call"]]


@pytest.mark.parametrize(("accept", "encoding"), [("gzip, deflate, br", "br"), ("gzip", "gzip"),
                                                  ("br;q=0.5, gzip", "gzip"), ("", None)])
def test_scripts_are_served_compressed(client, site, accept, encoding):
    import gzip

    import brotli

    for url in script_urls(client, site):
        response = client.get(url, headers={"Accept-Encoding": accept} if accept else {})
        assert response.status_code == 200, url
        assert response.headers.get("Content-Encoding") == encoding, url
        assert "Accept-Encoding" in response.headers["Vary"]
        raw = {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[encoding](response.data)
        name = url.split("?")[0].rsplit("/", 1)[1]
        source = "loader.js" if name in ("widget.js", "embed.js") else name
        assert raw == served_source((ROOT / "static" / "widget" / source).read_text()).encode()
        if encoding:
            assert len(response.data) < len(raw) / 2.5, url


def test_scripts_are_served_without_whole_line_comments(client, site):
    for url in script_urls(client, site):
        served = client.get(url).get_data(as_text=True)
        name = url.split("?")[0].rsplit("/", 1)[1]
        source = (ROOT / "static" / "widget" / ("loader.js" if name in ("widget.js", "embed.js") else name))
        lines = source.read_text().splitlines()
        # what stripping line by line relies on: no string or template literal spans lines
        assert "`" not in served and not any(line.endswith("\\") for line in lines), url
        assert len(served) < 0.85 * len(source.read_text()) and "\n//" not in served and "\n/*" not in served
    loader = client.get("/widget.js").get_data(as_text=True)
    assert "Converc widget loader" not in loader and "/* storage blocked */" in loader  # after code: kept
    # V8's compile hint: the loader's functions are compiled off the main thread, while it downloads
    assert loader.startswith("//# allFunctionsCalledOnLoad\n")


def test_every_script_can_be_loaded_by_coep_pages_and_timed(client, site):
    for url in [*script_urls(client, site), "/static/widget/call.js", "/static/widget/flow.js"]:
        response = client.get(url)
        assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin", url
        assert response.headers["Timing-Allow-Origin"] == "*", url
        assert response.headers["Access-Control-Allow-Origin"] == "*", url


def test_a_script_revalidates_to_a_304_per_encoding(client):
    first = client.get("/widget.js", headers={"Accept-Encoding": "br"})
    etag = first.headers["ETag"]
    again = client.get("/widget.js", headers={"Accept-Encoding": "br", "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    gzipped = client.get("/widget.js", headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert gzipped.status_code == 200 and gzipped.headers["Content-Encoding"] == "gzip"


@pytest.mark.parametrize("name", ["flow", "call"])
def test_flow_and_call_scripts_are_immutable_at_their_version(client, site, name):
    url = get_config(client, site).get_json()["assets"][name]
    assert url.startswith(f"/widget/{name}.js?v=")
    response = client.get(url)
    assert response.status_code == 200
    assert {"flow": b"window.ConvercFlow", "call": b"window.ConvercCall"}[name] in response.data
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    stale = client.get(f"/widget/{name}.js?v=old")
    assert "immutable" not in stale.headers["Cache-Control"]


def get_live(client, site, domain="example.com", **headers):
    return client.get("/widget/availability", query_string={"public_key": site.public_key, "domain": domain},
                      headers={"Origin": ORIGIN, **headers})


def test_live_availability_is_a_conditional_poll(uncached_client, site, rep):
    client = uncached_client
    first = get_live(client, site)
    assert first.status_code == 200
    assert first.get_json() == {"available": False, "nextAvailableAt": None, "pollSeconds": 10}
    assert first.headers["Cache-Control"] == "no-cache"  # the browser asks again each time, with the ETag
    assert first.headers["Access-Control-Allow-Origin"] == ORIGIN
    unchanged = get_live(client, site, **{"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304 and unchanged.data == b""
    assert unchanged.headers["Access-Control-Allow-Origin"] == ORIGIN
    rep.available = True
    db.session.commit()
    dashboard_open(rep)
    from app.availability.service import invalidate as availability_changed

    availability_changed(rep.organization_id)
    changed = get_live(client, site, **{"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.get_json()["available"] is True
    assert get_config(client, site).get_json()["pollSeconds"] == 10


def test_live_availability_refuses_what_the_config_refuses(client, site):
    assert get_live(client, site, domain="evil.example").status_code == 403
    assert get_live(client, site, domain="evil.example").get_json()["error"]["code"] == "domain_not_allowed"
    response = client.get("/widget/availability", query_string={"public_key": "pk_nope", "domain": "x.com"})
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "site_not_found"
    assert client.get("/widget/availability").status_code == 400


def test_live_poll_interval_is_configuration(make_app, admin):
    app = make_app(WIDGET_LIVE_POLL_SECONDS=30)
    with app.app_context():
        site = create_site(admin.organization_id, "example.com")
        assert get_live(app.test_client(), site).get_json()["pollSeconds"] == 30


def qualify(client, site, answers=None, contact=None, domain="example.com", **kwargs):
    body = {"publicKey": site.public_key, "domain": domain, "answers": answers or {},
            "contact": contact if contact is not None else {"email": "visitor@example.com"}}
    # the widget sends text/plain to spare a CORS preflight
    return client.post("/widget/qualify", data=json.dumps(body), headers={"Origin": ORIGIN, **kwargs},
                       content_type="text/plain;charset=UTF-8")


@pytest.fixture
def flow(site):
    size = add_question(site, "Company size", options=[("1-10", True), ("11-50", False), ("51+", False)])
    tools = add_question(site, "Tools", "multi_select", required=False,
                         options=[("Slack", False), ("Teams", False), ("Fax", True)])
    seats = add_question(site, "Seats", "number", min_value=1, max_value=500)
    note = add_question(site, "Anything else?", "text", required=False)
    return {"size": str(size.id), "tools": str(tools.id), "seats": str(seats.id), "note": str(note.id)}


def test_qualified_answers_come_back_signed_in_the_seed_shape(client, site, flow):
    response = qualify(client, site, {flow["size"]: "11-50", flow["tools"]: ["teams", "slack"],
                                      flow["seats"]: "12", flow["note"]: "  hi  "})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["outcome"] == "qualified" and body["action"] == "call"
    payload = load_qualification(body["qualificationToken"], str(site.id))
    assert payload["outcome"] == "qualified" and payload["flowId"] == str(flow_for(site).id)
    answers = payload["answers"]
    assert [a["answer"]["value"] for a in answers] == ["11-50", ["slack", "teams"], 12, "hi"]
    first = answers[0]
    assert set(first) == {"id", "questionId", "position", "question", "answer", "createdAt"}
    assert first["question"] == {"id": flow["size"], "label": "Company size", "type": "single_select",
                                 "required": True, "position": 1, "options": [
                                     {"label": "1-10", "value": "1-10"}, {"label": "11-50", "value": "11-50"},
                                     {"label": "51+", "value": "51+"}]}
    assert first["questionId"] == flow["size"] and first["createdAt"].endswith("Z")
    assert body["contact"] == {"name": None, "email": "visitor@example.com", "phone": None}


@pytest.mark.parametrize(("action", "calendar", "expected"), [
    ("message", None, "message"), ("calendar", "https://cal.example.com/acme", "calendar"),
    ("calendar", None, "message"), ("call_anyway", None, "call_anyway"),
])
def test_disqualifying_answer_gives_the_configured_outcome(client, site, flow, action, calendar, expected):
    flow_for(site).disqualified_action = action
    settings_for(site).calendar_url = calendar
    db.session.commit()
    response = qualify(client, site, {flow["size"]: "1-10", flow["seats"]: 3})
    body = response.get_json()
    assert body["outcome"] == "disqualified" and body["action"] == expected
    assert body["message"].startswith("Thanks! Based on your answers")
    assert load_qualification(body["qualificationToken"], str(site.id))["outcome"] == "disqualified"


def test_a_disqualifying_option_among_several_disqualifies(client, site, flow):
    answers = {flow["size"]: "51+", flow["tools"]: ["slack", "fax"], flow["seats"]: 9}
    body = qualify(client, site, answers).get_json()
    assert body["outcome"] == "disqualified"


@pytest.mark.parametrize(("answers", "field", "message"), [
    ({}, "size", "needs an answer"),
    ({"size": "huge"}, "size", "Choose one of the options"),
    ({"tools": "slack"}, "tools", "Choose from the options"),
    ({"seats": "many"}, "seats", "Enter a number"),
    ({"seats": 0}, "seats", "at least 1"),
    ({"seats": 501}, "seats", "no greater than 500"),
    ({"note": "x" * 1001}, "note", "under 1000"),
])
def test_bad_answers_are_refused_per_question(client, site, flow, answers, field, message):
    good = {flow["size"]: "11-50", flow["seats"]: 5}
    good.update({flow[k]: v for k, v in answers.items()})
    if not answers:
        del good[flow["size"]]
    response = qualify(client, site, good)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_answers" and message in error["fields"][flow[field]]


@pytest.mark.parametrize(("contact", "key", "message"), [
    ({}, "contact.email", "Enter your email"),
    ({"email": "not-an-email"}, "contact.email", "valid email"),
    ({"email": "a@example.com", "phone": "call me"}, "contact.phone", "valid phone"),
])
def test_contact_details_are_checked(client, site, contact, key, message):
    response = qualify(client, site, contact=contact)
    assert response.status_code == 400
    assert message in response.get_json()["error"]["fields"][key]


def test_qualify_refuses_another_domain_and_garbage(client, site):
    assert qualify(client, site, domain="evil.example.net").status_code == 403
    response = client.post("/widget/qualify", data="{not json", content_type="text/plain")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_request"
    preflight = client.options("/widget/qualify", headers={"Origin": ORIGIN,
                                                           "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]


def test_no_questions_still_qualifies_with_no_flow_id(client, site):
    body = qualify(client, site).get_json()
    assert body["outcome"] == "qualified"
    payload = load_qualification(body["qualificationToken"], str(site.id))
    assert payload["flowId"] is None and payload["outcome"] == "qualified" and payload["answers"] == []
    assert payload["action"] == "call" and payload["contact"]["email"] == "visitor@example.com"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(QualificationQuestion)) == 0


def test_deleting_a_site_stops_its_widget_at_once(client, auth, admin, site):
    query = {"public_key": site.public_key, "domain": "example.com"}
    assert client.get("/widget/config", query_string=query).status_code == 200  # cached now
    auth.login(admin.email)
    assert auth.post(f"/sites/{site.id}/delete").status_code == 303
    assert client.get("/widget/config", query_string=query).status_code == 404
