"""Bad input gets a 4xx, never a 5xx: body size, JSON depth and types, NUL, and forms with or without htmx.

The table test walks app.url_map, so an endpoint added later is covered without editing this file.
"""

import json
import re
import uuid

import pytest
import sqlalchemy as sa
from flask_wtf import FlaskForm

from app.api.auth import create_key
from app.api.errors import is_api_request
from app.extensions import db
from app.forms import Form
from app.models import ApiKey, Call, Site, WebhookEndpoint
from app.models.webhooks import API_SCOPES
from app.models.widget import flow_for, settings_for, theme_for
from app.recordings.tokens import upload_token
from app.security import _public_blueprints
from app.sites.service import create_site
from app.webhooks import service as webhooks
from tests.calls_support import call_body, make_site
from tests.conftest import LOOPBACK_HOOKS, bearer
from tests.recording_helpers import AUDIO, new_recording
from tests.test_widget import add_question
from tests.test_widget_admin import SETTINGS, THEME

MIB = 1024 * 1024
UNLIMITED = {key: "100000 per minute" for key in ("WIDGET_RATE_LIMIT", "QUALIFY_RATE_LIMIT", "API_RATE_LIMIT",
                                                 "CALL_RATE_LIMIT_PER_IP", "CALL_RATE_LIMIT_PER_SITE")}
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def world(make_app, admin):
    """An app whose 5xx answer as in production, and one of everything its public endpoints name."""
    app = make_app(PROPAGATE_EXCEPTIONS=False, **UNLIMITED, **LOOPBACK_HOOKS)
    with app.app_context():
        site = make_site(admin.organization_id, domain="shop.example.com")
        question = add_question(site, "Company size", options=[("Small", False), ("Large", False)])
        _key, raw = create_key(admin.organization_id, "Tests", list(API_SCOPES))
        endpoint, _ = webhooks.create_endpoint(admin.organization_id, "http://127.0.0.1:9/hook")
        recording = new_recording(admin.organization_id)
        client = app.test_client()
        created = client.post("/widget/calls", json=call_body(site))
        assert created.status_code == 201
        yield {"app": app, "client": client, "site": site, "question": str(question.id), "api_key": raw,
               "endpoint": endpoint, "recording": recording, "call_id": created.get_json()["call"]["id"],
               "visitor_token": created.get_json()["token"]}


# --- the table: every public and API endpoint, every hostile body ------------------------------

HOSTILE_BODIES = {
    "huge": (b'{"a":"' + b"x" * (2 * MIB) + b'"}', "application/json"),
    "deep array": (DEEP.encode(), "application/json"),
    "deep object": (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "text/plain"),
    "invalid utf-8": (b'{"publicKey": "\xff\xfe\xfd", "url": "\xc3\x28"}', "application/json"),
    "not json": (b"this is { not json", "application/json"),
    "form": (b"publicKey=%00&url=x", "application/x-www-form-urlencoded"),
    "empty": (b"", "application/json"),
    "empty, no type": (b"", None),
    "a list": (b"[1, 2, 3]", "application/json"),
    "a string": (b'"hello"', "application/json"),
    "null": (b"null", "application/json"),
    "NUL": (json.dumps({"publicKey": "\u0000", "url": "https://a\u0000.example.com", "name": "\u0000"})
            .encode(), "application/json"),
    "NaN and infinity": (b'{"a": NaN, "b": 1e400, "c": -Infinity}', "application/json"),
    "huge integer": (b'{"a": ' + b"9" * 5000 + b"}", "application/json"),
    "binary": (bytes(range(256)) * 64, "application/octet-stream"),
}
HOSTILE_VALUES = [None, True, 12, -1e308, "", "\u0000", "x\u0000y", "x" * 100_000, [], [1, [2]], {},
                  {"a": {"b": "c"}}, json.loads("[" * 40 + "]" * 40)]


def public_rules(app):
    """Every rule called from customer sites or by API clients (new ones included)."""
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if blueprint in _public_blueprints or _api_path(app, rule.rule):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def _api_path(app, path: str) -> bool:
    with app.test_request_context(path):
        return is_api_request()


def _arguments(rule, world) -> dict:
    """Real ids where the rule names them (so the request reaches the body), something valid otherwise."""
    known = {"call_id": world["call_id"], "recording_id": world["recording"].id,
             "webhook_id": world["endpoint"].id, "subscription_id": world["endpoint"].id,
             "endpoint_id": world["endpoint"].id, "seq": 0}
    values = {}
    for name in rule.arguments:
        converter = rule._converters.get(name)
        items = getattr(converter, "items", None)
        if name == "call_id" and rule.endpoint.startswith("recordings_public."):
            values[name] = world["recording"].call_id
        elif name in known:
            values[name] = known[name]
        elif items:
            values[name] = sorted(items)[0]
        elif type(converter).__name__ == "UUIDConverter":
            values[name] = uuid.uuid4()
        elif type(converter).__name__ == "IntegerConverter":
            values[name] = 0
        else:
            values[name] = "visitor" if name == "kind" else "x"
    return values


def _headers(rule, world) -> dict:
    """The credentials each kind of public endpoint takes, so bodies get past the door."""
    blueprint = rule.endpoint.rpartition(".")[0]
    if blueprint == "recordings_public":
        recording = world["recording"]
        return bearer(upload_token(recording.call_id, recording.organization_id))
    if blueprint == "call_requests":
        return bearer(world["visitor_token"])
    return bearer(world["api_key"])


def _url(app, rule, method, values) -> str:
    return app.url_map.bind("converc.test").build(rule.endpoint, values, method=method)


def _valid_bodies(world) -> dict:
    """A body each known JSON endpoint accepts; the field-by-field test spoils one field at a time."""
    site = world["site"]
    return {
        "widget.qualify": {"publicKey": site.public_key, "domain": site.domain,
                           "answers": {world["question"]: "small"}, "contact": {"email": "v@example.com"}},
        "call_requests.create": call_body(site, fingerprint=f"fp-{uuid.uuid4().hex}"),
        "call_requests.cancel": {"token": world["visitor_token"]},
        "api.webhooks_create": {"url": "http://127.0.0.1:9/other", "events": ["call.ended"]},
        "api.webhooks_test": {"webhookId": str(world["endpoint"].id)},
        "api.zapier_subscribe": {"event": "call.ended", "targetUrl": "http://127.0.0.1:9/zap"},
    }


def _send(world, rule, method, data, content_type, headers=None):
    client, app = world["client"], world["app"]
    url = _url(app, rule, method, _arguments(rule, world))
    kwargs = {"data": data, "headers": {**_headers(rule, world), **(headers or {})}}
    if content_type:
        kwargs["content_type"] = content_type
    return client.open(url, method=method, **kwargs)


def _problem(response, label) -> str | None:
    if response.status_code >= 500:
        return f"{label}: {response.status_code} {response.get_data(as_text=True)[:200]}"
    return None


def test_no_hostile_body_gets_a_5xx_from_any_public_or_api_endpoint(world):
    rules = list(public_rules(world["app"]))
    assert {r.endpoint for r, _ in rules} >= {"widget.qualify", "call_requests.create", "api.webhooks_create",
                                               "recordings_public.chunk"}
    problems = []
    for name, (data, content_type) in HOSTILE_BODIES.items():
        for rule, method in rules:
            label = f"{name}: {method} {rule.rule}"
            response = _send(world, rule, method, data, content_type)
            problems.append(_problem(response, label))
            if name == "huge" and rule.endpoint != "recordings_public.chunk":  # chunks may be larger
                assert response.status_code == 413, label
            if response.status_code >= 400 and response.mimetype == "application/json":
                error = response.get_json()["error"]
                assert error["code"] and error["message"], label
    assert [p for p in problems if p] == []


def test_no_spoiled_field_gets_a_5xx(world):
    """Each known endpoint's valid body with one field replaced by a wrong type, NUL, a huge or deep value."""
    valid = _valid_bodies(world)
    rules = {rule.endpoint: (rule, method) for rule, method in public_rules(world["app"]) if method == "POST"}
    problems = []
    for endpoint, body in valid.items():
        rule, method = rules[endpoint]
        for key in body:
            for value in HOSTILE_VALUES:
                spoiled = {**body, key: value}
                if endpoint == "call_requests.create":
                    spoiled["fingerprint"] = value if key == "fingerprint" else f"fp-{uuid.uuid4().hex}"
                response = _send(world, rule, method, json.dumps(spoiled), "application/json")
                problems.append(_problem(response, f"{endpoint} {key}={str(value)[:30]!r}"))
                if isinstance(value, str) and "\u0000" in value:
                    assert response.status_code == 400, f"{endpoint} {key}"
    assert [p for p in problems if p] == []


# --- the defects reproduced on main, one by one ------------------------------------------------

def test_json_nested_100000_deep_is_a_400(world):
    for path in ("/widget/qualify", "/widget/calls", "/integrations/webhooks"):
        body = json.dumps({"publicKey": world["site"].public_key})[:-1] + ', "answers": ' + DEEP + "}"
        response = world["client"].post(path, data=body, content_type="application/json",
                                        headers=bearer(world["api_key"]))
        assert response.status_code == 400, path
        assert "nested" in response.get_json()["error"]["message"], path


def test_a_single_select_answer_of_the_wrong_type_is_a_400_next_to_the_question(world):
    for answer in (["small"], {"value": "small"}, 3, True):
        body = {**_valid_bodies(world)["widget.qualify"], "answers": {world["question"]: answer}}
        response = world["client"].post("/widget/qualify", json=body)
        assert response.status_code == 400, answer
        error = response.get_json()["error"]
        assert error["code"] == "invalid_answers"
        assert error["fields"][world["question"]] == "Choose one of the options."


def test_nul_in_a_call_request_is_a_400_and_stores_nothing(world):
    calls = db.session.scalar(sa.select(sa.func.count()).select_from(Call))
    for field in ("name", "email", "phone"):
        body = call_body(world["site"], fingerprint="fp-nul")
        body["contact"] = {"name": "Vera", "email": "vera@example.org", field: "Vera\u0000"}
        response = world["client"].post("/widget/calls", json=body)
        assert response.status_code == 400 and "NUL" in response.get_json()["error"]["message"], field
    for field in ("fingerprint", "pageUrl"):
        response = world["client"].post("/widget/calls", json=call_body(world["site"], **{field: "x\u0000"}))
        assert response.status_code == 400, field
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Call)) == calls


def test_nul_in_a_webhook_url_through_the_api_is_a_400(world):
    # a loopback URL the configuration allows, so only the NUL can refuse it
    response = world["client"].post("/integrations/webhooks", json={"url": "http://127.0.0.1:9/\u0000hook"},
                                    headers=bearer(world["api_key"]))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_request"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 1


def test_nul_in_a_query_string_is_a_400(world):
    response = world["client"].get("/widget/config", query_string={"public_key": "\u0000", "domain": "x"})
    assert response.status_code == 400 and "NUL" in response.get_json()["error"]["message"]


@pytest.fixture
def logged_in(world, auth, admin):
    auth.login(admin.email)
    return auth


NUL_FORMS = [
    ("/widget/settings/{site}", {**SETTINGS, "badge_label": "Talk\u0000 to us"}, "badge_label"),
    ("/widget/theme/{site}", {**THEME, "copy_ready": "Ready\u0000"}, "copy_ready"),
    ("/settings/integrations/api-keys", {"name": "Zap\u0000", "scopes": ["events:read"]}, "name"),
    ("/settings/integrations/webhooks", {"url": "https://hooks.example.com/\u0000"}, "url"),
    ("/sites", {"domain": "shop\u0000.example.org"}, "domain"),
]


def _stored(world):
    db.session.expire_all()
    return (settings_for(world["site"]).badge_label, theme_for(world["site"]).copy,
            db.session.scalar(sa.select(sa.func.count()).select_from(ApiKey)),
            db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Site)))


def test_nul_in_a_dashboard_form_is_shown_next_to_the_field(world, logged_in):
    before = _stored(world)
    for url, data, field in NUL_FORMS:
        for headers in ({}, {"HX-Request": "true"}):
            label = f"{url} {headers}"
            response = logged_in.post(url.format(site=world["site"].id), data, headers=headers)
            assert response.status_code == 422, label
            html = response.get_data(as_text=True)
            assert "\u0000" not in html, label
            # the message sits with the field: after its input, before the next field's
            after_field = html[html.index(f'name="{field}"'):]
            assert "NUL" in after_field[:after_field.find('name="', 10)], label
    assert _stored(world) == before


def test_nul_in_the_login_form_is_refused_not_queried(world, auth, admin):
    response = auth.post("/login", {"email": admin.email + "\u0000", "password": "x"})
    assert response.status_code == 422 and "NUL" in response.get_data(as_text=True)


def test_every_dashboard_form_refuses_nul():
    """A new form that inherits FlaskForm directly would store NUL: every form inherits app.forms.Form."""
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    import app.forms  # noqa: F401  (every feature's forms are imported by create_app)

    strays = [f"{c.__module__}.{c.__name__}" for c in subclasses(FlaskForm)
              if c.__module__.startswith("app.") and not issubclass(c, Form)]
    assert strays == []


# --- size ----------------------------------------------------------------------------------------

def test_a_body_over_the_limit_is_a_413_in_json(world):
    body = json.dumps({"publicKey": world["site"].public_key, "pad": "x" * (MIB + 1)})
    for path in ("/widget/qualify", "/widget/calls", "/integrations/webhooks", "/integrations/webhooks/test"):
        response = world["client"].post(path, data=body, content_type="application/json",
                                        headers={**bearer(world["api_key"]), "Origin": "https://shop.example.com"})
        assert response.status_code == 413, path
        assert response.get_json()["error"]["code"] == "payload_too_large", path
        if path.startswith("/widget"):
            assert "Access-Control-Allow-Origin" in response.headers, path  # the widget can read it


def test_the_limit_is_configurable_and_dashboard_forms_get_a_page(make_app, admin):
    app = make_app(MAX_CONTENT_LENGTH=2000)
    with app.app_context():
        client = app.test_client()
        response = client.post("/login", data={"email": "a" * 3000})
        assert response.status_code == 413 and "Too large" in response.get_data(as_text=True)
        assert client.post("/login", data={"email": "a" * 100}).status_code != 413


def test_recording_chunks_larger_than_the_json_limit_still_fit(world):
    from tests.speech import encode_webm, silence

    recording = world["recording"]
    chunk = encode_webm(silence(1.0))
    chunk += b"\0" * (MIB + 1024 - len(chunk))  # a 1 MiB+ chunk of a real WebM stream
    response = world["client"].post(
        f"/recordings/calls/{recording.call_id}/tracks/visitor/chunks/0", data=chunk,
        headers={**bearer(upload_token(recording.call_id, recording.organization_id)), "Content-Type": AUDIO})
    assert response.status_code == 201, response.get_json()


# --- every form with and without htmx ---------------------------------------------------------

def test_widget_forms_save_with_two_sites_with_and_without_htmx(world, logged_in, admin):
    create_site(admin.organization_id, "second.example.org")
    site = world["site"]
    forms = [("/widget/settings/{site}", SETTINGS, lambda: settings_for(site).badge_label == "Talk to sales"),
             ("/widget/theme/{site}", THEME, lambda: theme_for(site).primary_color == "#ff0000"),
             ("/widget/qualifications/{site}/flow", {"disqualified_action": "call_anyway"},
              lambda: flow_for(site).disqualified_action == "call_anyway")]
    for url, data, saved in forms:
        for htmx in (False, True):
            headers = {"HX-Request": "true"} if htmx else {}
            response = logged_in.post(url.format(site=site.id), data, headers=headers)
            assert response.status_code == 200, (url, htmx)
            if not htmx:  # the full page, whose site picker points at the page itself
                assert re.search(r'<form method="get" action="/widget/(settings|theme|qualifications)"',
                                 response.get_data(as_text=True)), url
            db.session.expire_all()
            assert saved(), (url, htmx)
