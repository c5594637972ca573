"""Google Calendar, Slack, Discord and lead push, against real HTTP servers that play each service."""

import json
import logging
import re
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from app.calls.payload import event_data
from app.crypto import decrypt
from app.events import record_event
from app.extensions import db
from app.integrations import jobs, store
from app.integrations.google_calendar import SOURCE
from app.models import (
    BusyBlock,
    CalendarConnection,
    Call,
    Contact,
    Integration,
    IntegrationDelivery,
    Recording,
)
from app.models.base import utcnow
from tests.calls_support import ANSWERS
from tests.conftest import LOOPBACK_HOOKS, run_jobs
from tests.providers import LEAD_AUTH, Providers


@pytest.fixture(scope="module")
def providers():
    server = Providers()
    yield server
    server.close()


@pytest.fixture
def app(make_app, providers):
    for state in (
        providers.requests,
        providers.scripts,
        providers.busy,
        providers.revoked_access,
        providers.revoked_refresh,
    ):
        state.clear()
    app = make_app(**LOOPBACK_HOOKS, **providers.config())
    with app.app_context():
        yield app


def login(auth, user):
    assert auth.login(user.email).status_code in (302, 303)
    return auth


def oauth_dance(client, provider: str, code: str, providers):
    """What the browser does: our connect route → the provider's consent page → our callback with a code."""
    path = {"google": "google-calendar"}.get(provider, provider)
    start = client.get(f"/settings/integrations/{path}/connect")
    assert start.status_code == 302
    location = urlsplit(start.headers["Location"])
    assert location.geturl().startswith(providers.config()[f"{provider.upper()}_AUTHORIZE_URL"])
    query = parse_qs(location.query)
    callback = urlsplit(query["redirect_uri"][0])
    return client.get(f"{callback.path}?code={code}&state={query['state'][0]}"), query


def run_scheduled(app) -> int:
    """Run what RQ scheduled for later (Retry-After waits and retries) now, as its scheduler would."""
    from app.jobs import queue

    q = queue()
    registry = ScheduledJobRegistry(queue=q)
    ids = registry.get_job_ids()
    for job_id in ids:
        registry.remove(job_id)
        q.enqueue_job(Job.fetch(job_id, connection=app.extensions["redis"]))
    run_jobs(app)
    return len(ids)


def scheduled_delays(app) -> list[float]:
    from app.jobs import queue

    registry = ScheduledJobRegistry(queue=queue())
    now = utcnow()
    return [(registry.get_scheduled_time(j) - now).total_seconds() for j in registry.get_job_ids()]


def make_call(org_id, user=None, status="requested", name="Vera Visitor", email="vera@example.org") -> Call:
    fingerprint = f"fp-{uuid.uuid4().hex[:8]}"
    contact = Contact(
        organization_id=org_id,
        fingerprint=fingerprint,
        name=name,
        email=email,
        location={"city": "Austin", "region": "TX", "country": "United States"},
    )
    call = Call(
        organization_id=org_id,
        contact=contact,
        visitor_fingerprint=fingerprint,
        answers=ANSWERS,
        status=status,
    )
    if status == "ended" and user is not None:
        call.accepted_by_id = user.id
        call.accepted_at, call.ended_at = utcnow() - timedelta(seconds=125), utcnow()
    db.session.add_all([contact, call])
    db.session.flush()
    return call


def call_event(org_id, type_, user=None, **kwargs):
    call = make_call(org_id, user, "ended" if type_ == "call.ended" else "requested", **kwargs)
    event = record_event(org_id, type_, event_data(call))
    db.session.commit()
    return call, event


# --- Google Calendar ------------------------------------------------------------------------------------


def test_calendar_connect_picks_primary_syncs_busy_time_and_encrypts_tokens(
    app, client, auth, rep, providers
):
    login(auth, rep)
    start = utcnow().replace(microsecond=0) + timedelta(hours=1)
    providers.busy["rex@example.com"] = [
        (
            start.isoformat().replace("+00:00", "Z"),
            (start + timedelta(minutes=30)).isoformat().replace("+00:00", "Z"),
        )
    ]
    response, query = oauth_dance(client, "google", "rex", providers)
    assert response.status_code in (302, 303)
    assert query["access_type"] == ["offline"] and "calendar.readonly" in query["scope"][0]
    conn = db.session.scalar(sa.select(CalendarConnection))
    assert (
        conn.user_id == rep.id
        and conn.calendar_id == "rex@example.com"
        and conn.account_email == conn.calendar_id
    )
    assert "ya29" not in conn.access_token_encrypted and decrypt(conn.access_token_encrypted).startswith(
        "ya29.rex"
    )
    assert decrypt(conn.refresh_token_encrypted) == "1//refresh-rex"
    run_jobs(app)  # the sync right after connecting
    blocks = db.session.scalars(sa.select(BusyBlock).where(BusyBlock.user_id == rep.id)).all()
    assert [(b.source, b.starts_at, b.ends_at) for b in blocks] == [
        (SOURCE, start, start + timedelta(minutes=30))
    ]
    page = client.get("/settings/integrations/google-calendar").get_data(as_text=True)
    assert "Sales team" in page and "rex@example.com" in page and "Last read" in page


def test_calendar_picker_refresh_and_disconnect(app, client, auth, rep, providers):
    login(auth, rep)
    oauth_dance(client, "google", "rex", providers)
    run_jobs(app)
    providers.busy["team@group.calendar.google.com"] = [("2099-01-01T10:00:00Z", "2099-01-01T11:00:00Z")]
    bad = auth.post("/settings/integrations/google-calendar/calendar", {"calendar_id": "nope@example.com"})
    assert bad.status_code == 422 and "Choose one of your calendars." in bad.get_data(as_text=True)
    now = utcnow()
    providers.busy["team@group.calendar.google.com"] = [
        (
            (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            (now + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
    ]
    ok = auth.post(
        "/settings/integrations/google-calendar/calendar", {"calendar_id": "team@group.calendar.google.com"}
    )
    assert ok.status_code == 303
    run_jobs(app)
    assert db.session.scalar(sa.select(CalendarConnection)).calendar_name == "Sales team"
    assert len(db.session.scalars(sa.select(BusyBlock)).all()) == 1
    assert auth.post("/settings/integrations/google-calendar/refresh").status_code == 303
    before = len(providers.seen("google.freeBusy"))
    run_jobs(app)
    assert len(providers.seen("google.freeBusy")) == before + 1
    assert auth.post("/settings/integrations/google-calendar/disconnect").status_code == 303
    assert db.session.scalar(sa.select(CalendarConnection)) is None
    assert db.session.scalars(sa.select(BusyBlock)).all() == []


def test_expired_token_is_refreshed_and_stored(app, client, auth, rep, providers):
    login(auth, rep)
    oauth_dance(client, "google", "rex", providers)
    run_jobs(app)
    conn = db.session.scalar(sa.select(CalendarConnection))
    old = decrypt(conn.access_token_encrypted)
    conn.expires_at = int(utcnow().timestamp()) - 10
    db.session.commit()
    assert jobs.sync_calendar(str(conn.id)) == 0  # synced fine, just no busy time
    db.session.expire_all()
    conn = db.session.get(CalendarConnection, conn.id)
    refreshes = [r for r in providers.seen("google.token") if r[3]["grant_type"] == "refresh_token"]
    assert len(refreshes) == 1 and refreshes[0][3]["refresh_token"] == "1//refresh-rex"
    assert decrypt(conn.access_token_encrypted) != old and conn.expires_at > utcnow().timestamp()
    assert decrypt(conn.refresh_token_encrypted) == "1//refresh-rex"  # Google does not resend it
    assert conn.status == "connected" and conn.last_synced_at is not None


def test_revoked_calendar_shows_reconnect(app, client, auth, rep, providers, caplog):
    login(auth, rep)
    oauth_dance(client, "google", "rex", providers)
    run_jobs(app)
    conn = db.session.scalar(sa.select(CalendarConnection))
    providers.revoked_refresh.add("1//refresh-rex")
    conn.expires_at = int(utcnow().timestamp()) - 10
    db.session.commit()
    with caplog.at_level(logging.INFO):
        jobs.sync_calendar(str(conn.id))
    assert [r.levelname for r in caplog.records if "Google Calendar sync" in r.getMessage()] == ["WARNING"]
    db.session.expire_all()
    assert db.session.get(CalendarConnection, conn.id).status == "broken"
    page = client.get("/settings/integrations/google-calendar").get_data(as_text=True)
    assert "needs reconnecting" in page and "Reconnect Google Calendar" in page
    # the periodic job leaves a broken connection alone until the rep reconnects, and says nothing
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        assert jobs.sync_all_calendars() == 0
    assert caplog.records == []
    oauth_dance(client, "google", "rex2", providers)
    assert db.session.get(CalendarConnection, conn.id).status == "connected"


def test_revoked_access_token_without_refresh_is_broken(app, client, auth, rep, providers):
    login(auth, rep)
    oauth_dance(client, "google", "rex", providers)
    conn = db.session.scalar(sa.select(CalendarConnection))
    providers.revoked_access.add(decrypt(conn.access_token_encrypted))
    jobs.sync_calendar(str(conn.id))
    db.session.expire_all()
    assert db.session.get(CalendarConnection, conn.id).status == "broken"


def test_calendar_pages_are_each_reps_own(app, client, auth, admin, rep, providers):
    login(auth, rep)
    oauth_dance(client, "google", "rex", providers)
    auth.logout()
    login(auth, admin)
    page = client.get("/settings/integrations/google-calendar").get_data(as_text=True)
    assert "Connect Google Calendar" in page and "rex@example.com" not in page
    assert auth.post("/settings/integrations/google-calendar/refresh").status_code == 404


# --- Slack ----------------------------------------------------------------------------------------------


def connect_slack(client, auth, admin, providers, team="acme"):
    login(auth, admin)
    oauth_dance(client, "slack", team, providers)
    response = auth.post("/settings/integrations/slack/channel", {"channel_id": f"C-{team}-sales"})
    assert response.status_code == 303
    return db.session.scalar(
        sa.select(Integration).where(Integration.organization_id == admin.organization_id)
    )


def test_slack_install_channel_picker_and_messages(app, client, auth, admin, rep, providers):
    row = connect_slack(client, auth, admin, providers)
    assert row.settings["teamName"] == "Acme" and row.settings["channelName"] == "sales-alerts"
    assert "xoxb" not in row.secret_encrypted and store.secret_of(row)["access_token"] == "xoxb-acme"
    access = providers.seen("slack.access")[0][3]
    assert access["client_id"] == "slack-client" and access["code"] == "acme"
    call, _ = call_event(admin.organization_id, "call.requested")
    call_event(admin.organization_id, "call.ended", user=rep)
    run_jobs(app)
    posts = providers.seen("slack.postMessage")
    assert len(posts) == 2
    incoming = next(p for p in posts if p[3]["text"].startswith("Incoming"))
    assert incoming[2]["Authorization"] == "Bearer xoxb-acme" and incoming[3]["channel"] == "C-acme-sales"
    text = json.dumps(incoming[3]["blocks"])
    assert "Vera Visitor" in text and "Company size" in text and "11-50" in text and "Accept the call" in text
    ended = next(p for p in posts if p[3]["text"].startswith("Call with"))
    assert "Rex Rep" in json.dumps(ended[3]["blocks"]) and "2 min 05 s" in json.dumps(ended[3]["blocks"])
    page = client.get("/settings/integrations/slack").get_data(as_text=True)
    assert "#sales-alerts" in page and "succeeded" in page


def test_slack_429_waits_retry_after_then_sends_once(app, client, auth, admin, providers):
    connect_slack(client, auth, admin, providers)
    providers.script("slack.postMessage", (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "60"}))
    call_event(admin.organization_id, "call.requested")
    run_jobs(app)
    assert len(providers.seen("slack.postMessage")) == 1
    (delay,) = scheduled_delays(app)
    assert 45 < delay <= 60  # Retry-After, less the time the worker took since
    assert run_scheduled(app) == 1
    assert len(providers.seen("slack.postMessage")) == 2
    delivery = db.session.scalar(sa.select(IntegrationDelivery))
    assert delivery.status == "succeeded" and delivery.attempts == 2
    run_scheduled(app)
    assert len(providers.seen("slack.postMessage")) == 2


def test_slack_5xx_is_retried_by_rq(app, client, auth, admin, providers):
    connect_slack(client, auth, admin, providers)
    providers.script("slack.postMessage", (503, {"ok": False}, {}))
    call_event(admin.organization_id, "call.requested")
    run_jobs(app)
    assert db.session.scalar(sa.select(IntegrationDelivery)).status == "pending"
    assert run_scheduled(app) == 1
    assert db.session.scalar(sa.select(IntegrationDelivery)).status == "succeeded"


def test_revoked_slack_token_shows_reconnect(app, client, auth, admin, providers):
    connect_slack(client, auth, admin, providers)
    providers.revoked_access.add("xoxb-acme")
    call_event(admin.organization_id, "call.requested")
    run_jobs(app)
    row = db.session.scalar(sa.select(Integration))
    assert row.status == "broken" and "token_revoked" in row.last_error
    html = client.get("/settings/integrations/slack").get_data(as_text=True)
    assert "Slack needs reconnecting" in html and "Reconnect Slack" in html
    assert "Needs reconnecting" in client.get("/settings/integrations").get_data(as_text=True)
    providers.revoked_access.discard("xoxb-acme")


def test_one_organizations_slack_never_serves_another(app, client, auth, admin, other_admin, providers):
    connect_slack(client, auth, admin, providers, team="acme")
    auth.logout()
    connect_slack(client, auth, other_admin, providers, team="globex")
    call_event(other_admin.organization_id, "call.requested", name="Gina Globex")
    run_jobs(app)
    posts = providers.seen("slack.postMessage")
    assert len(posts) == 1
    assert posts[0][2]["Authorization"] == "Bearer xoxb-globex" and posts[0][3]["channel"] == "C-globex-sales"
    # and another organization's channel cannot be chosen
    bad = auth.post("/settings/integrations/slack/channel", {"channel_id": "C-acme-sales"})
    assert bad.status_code == 422


def test_slack_pages_are_for_admins(app, client, auth, rep):
    login(auth, rep)
    assert client.get("/settings/integrations/slack").status_code == 403
    assert client.get("/settings/integrations/slack/connect").status_code == 403


# --- Discord --------------------------------------------------------------------------------------------


def test_discord_oauth_webhook_and_embeds(app, client, auth, admin, providers):
    login(auth, admin)
    response, query = oauth_dance(client, "discord", "d1", providers)
    assert query["scope"] == ["webhook.incoming"]
    row = db.session.scalar(sa.select(Integration))
    assert row.kind == "discord" and store.secret_of(row)["url"].endswith("/webhooks/9001/tok-d1")
    assert "tok-d1" not in row.secret_encrypted
    call_event(admin.organization_id, "call.missed")
    run_jobs(app)
    (execute,) = providers.seen("discord.execute")
    embed = execute[3]["embeds"][0]
    assert embed["title"] == "Missed call from Vera Visitor <vera@example.org>"
    assert {"name": "Company size", "value": "11-50", "inline": False} in embed["fields"]
    assert execute[3]["allowed_mentions"] == {"parse": []}


def test_discord_pasted_url_is_checked(app, client, auth, admin, providers):
    login(auth, admin)
    bad = auth.post("/settings/integrations/discord/webhook", {"url": "https://example.com/hook"})
    assert bad.status_code == 422 and "Paste a channel webhook URL" in bad.get_data(as_text=True)
    unknown = auth.post(
        "/settings/integrations/discord/webhook", {"url": providers.url + "/discord/api/webhooks/1/deleted"}
    )
    assert unknown.status_code == 422 and "does not know this webhook" in unknown.get_data(as_text=True)
    ok = auth.post(
        "/settings/integrations/discord/webhook", {"url": providers.url + "/discord/api/webhooks/5/tok-x"}
    )
    assert ok.status_code == 303
    assert db.session.scalar(sa.select(Integration)).settings["webhookName"] == "Alerts hook"


def test_discord_429_uses_retry_after_from_the_body(app, client, auth, admin, providers):
    login(auth, admin)
    oauth_dance(client, "discord", "d1", providers)
    providers.script(
        "discord.execute",
        (
            429,
            {"message": "You are being rate limited.", "retry_after": 2.5, "global": False},
            {"Retry-After": "3"},
        ),
    )
    call_event(admin.organization_id, "call.requested")
    run_jobs(app)
    assert 0.5 < scheduled_delays(app)[0] <= 2.5  # 2.5 s, not the header's 3
    run_scheduled(app)
    assert len(providers.seen("discord.execute")) == 2
    assert db.session.scalar(sa.select(IntegrationDelivery)).status == "succeeded"


def test_discord_failure_says_recheck_channel_permissions(app, client, auth, admin, providers):
    login(auth, admin)
    oauth_dance(client, "discord", "d1", providers)
    providers.script("discord.execute", (403, {"message": "Missing Permissions", "code": 50013}, {}))
    call_event(admin.organization_id, "call.requested")
    run_jobs(app)
    html = client.get("/settings/integrations/discord").get_data(as_text=True)
    assert "Recheck channel permissions" in html and "Reconnect Discord" in html
    assert db.session.scalar(sa.select(IntegrationDelivery)).status == "failed"


# --- lead push ------------------------------------------------------------------------------------------


def save_lead_push(auth, providers, trigger="call.ended", password=LEAD_AUTH[1], client_id="acme-42"):
    return auth.post(
        "/settings/integrations/lead-push",
        {
            "url": providers.url + "/lead",
            "username": LEAD_AUTH[0],
            "password": password,
            "client_id": client_id,
            "trigger": trigger,
        },
    )


def test_lead_push_sends_the_documented_fields_with_basic_auth(app, client, auth, admin, rep, providers):
    login(auth, admin)
    assert save_lead_push(auth, providers).status_code == 303
    row = db.session.scalar(sa.select(Integration))
    assert LEAD_AUTH[1] not in row.secret_encrypted
    call, _ = call_event(admin.organization_id, "call.ended", user=rep)
    run_jobs(app)
    (lead,) = providers.seen("lead")
    body = lead[3]
    assert set(body) == {"firstName", "lastName", "email", "conversationHistory", "clientId"}
    assert (body["firstName"], body["lastName"], body["email"], body["clientId"]) == (
        "Vera",
        "Visitor",
        "vera@example.org",
        "acme-42",
    )
    moment = call.requested_at.strftime("%Y-%m-%dT%H:%M:%S")
    assert body["conversationHistory"] == f"{moment} Vera Visitor: Company size 11-50"
    assert db.session.scalar(sa.select(IntegrationDelivery)).status == "succeeded"


def test_lead_push_form_validation(app, client, auth, admin, providers):
    login(auth, admin)
    no_password = save_lead_push(auth, providers, password="")
    assert no_password.status_code == 422 and "basic authentication is mandatory" in no_password.get_data(
        as_text=True
    )
    http = auth.post(
        "/settings/integrations/lead-push",
        {"url": "ftp://x.example.com/", "username": "u", "password": "p", "trigger": "call.ended"},
    )
    assert http.status_code == 422 and "The URL must start with" in http.get_data(as_text=True)
    no_user = auth.post(
        "/settings/integrations/lead-push",
        {"url": providers.url + "/lead", "password": "p", "trigger": "call.ended"},
    )
    assert no_user.status_code == 422 and "enter the username" in no_user.get_data(as_text=True)


def test_lead_push_requires_https_unless_configured(make_app, providers):
    from app.integrations import lead_push
    from app.outbound import UnsafeURL

    app = make_app(**providers.config())
    with app.app_context():
        with pytest.raises(UnsafeURL, match="https"):
            lead_push.configure(None, "http://leads.example.com/", "u", "p", None, "call.ended")


@pytest.mark.parametrize(
    ("reply", "status", "retried", "shown"),
    [
        (
            (400, {"status": "400", "message": "Missing required field: phone"}, {}),
            "failed",
            False,
            "400: Missing required field: phone",
        ),
        ((500, {"status": "500", "message": "Database down"}, {}), "pending", True, None),
        ((200, {"status": "200", "message": "Lead received successfully"}, {}), "succeeded", False, None),
    ],
)
def test_lead_push_response_handling(app, client, auth, admin, rep, providers, reply, status, retried, shown):
    login(auth, admin)
    save_lead_push(auth, providers)
    providers.script("lead", reply)
    call_event(admin.organization_id, "call.ended", user=rep)
    run_jobs(app)
    assert db.session.scalar(sa.select(IntegrationDelivery)).status == status
    assert bool(scheduled_delays(app)) is retried
    if shown:
        assert shown in client.get("/settings/integrations/lead-push").get_data(as_text=True)


def test_lead_push_wrong_credentials_are_shown_not_retried(app, client, auth, admin, rep, providers):
    login(auth, admin)
    save_lead_push(auth, providers, password="wrong")
    call_event(admin.organization_id, "call.ended", user=rep)
    run_jobs(app)
    assert db.session.scalar(sa.select(IntegrationDelivery)).status == "failed" and not scheduled_delays(app)
    assert "401: Invalid credentials" in client.get("/settings/integrations/lead-push").get_data(as_text=True)


def test_lead_push_on_transcript_uses_the_transcript(app, client, auth, admin, rep, providers):
    from app.models import Recording

    login(auth, admin)
    save_lead_push(auth, providers, trigger="call.transcript_ready", client_id="")
    call, _ = call_event(admin.organization_id, "call.ended", user=rep)
    run_jobs(app)
    assert providers.seen("lead") == []  # waits for the transcript
    started = utcnow().replace(microsecond=0)
    recording = Recording(
        organization_id=admin.organization_id,
        call_id=call.id,
        policy="always",
        status="ready",
        transcript_status="ready",
        started_at=started,
        transcript={
            "language": "en",
            "text": "Hi. Hello.",
            "segments": [
                {"start": 0.0, "end": 1.0, "speaker": "visitor", "name": "Vera Visitor", "text": "Hi."},
                {"start": 2.0, "end": 3.0, "speaker": "rep", "name": "Rex Rep", "text": "Hello."},
            ],
        },
    )
    db.session.add(recording)
    record_event(admin.organization_id, "call.transcript_ready", {"call": {"id": str(call.id)}})
    db.session.commit()
    run_jobs(app)
    (lead,) = providers.seen("lead")
    stamp = started.strftime("%Y-%m-%dT%H:%M:%S")
    later = (started + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    assert lead[3]["conversationHistory"] == f"{stamp} Vera Visitor: Hi.\n{later} Rex Rep: Hello."
    assert "clientId" not in lead[3]
    assert stamp  # the transcript's own times


def test_timeout_is_retried(app, client, auth, admin, rep, providers, monkeypatch):
    from app import outbound

    login(auth, admin)
    save_lead_push(auth, providers)
    monkeypatch.setattr(
        outbound, "post", lambda *a, **k: outbound.Response(None, None, {}, 1000, "Timed out after 1 s")
    )
    call_event(admin.organization_id, "call.ended", user=rep)
    run_jobs(app)
    delivery = db.session.scalar(sa.select(IntegrationDelivery))
    assert delivery.status == "pending" and "Timed out" in delivery.message and scheduled_delays(app)


def test_another_organizations_integration_pages_and_rows_stay_apart(
    app, client, auth, admin, other_admin, providers
):
    login(auth, admin)
    save_lead_push(auth, providers)
    auth.logout()
    login(auth, other_admin)
    html = client.get("/settings/integrations/lead-push").get_data(as_text=True)
    assert providers.url + "/lead" not in html and "acme-42" not in html
    assert auth.post("/settings/integrations/lead-push/disconnect").status_code == 404
    call_event(other_admin.organization_id, "call.ended", user=other_admin)
    run_jobs(app)
    assert providers.seen("lead") == []


def test_hub_shows_every_connection_card(app, client, auth, admin):
    login(auth, admin)
    html = client.get("/settings/integrations").get_data(as_text=True)
    for title in ("Google Calendar", "Slack", "Discord", "Lead push", "Zapier"):
        assert f"<h2>{title}</h2>" in html
    assert html.count("Not connected") >= 3


def test_oauth_not_configured_says_so(make_app):
    app = make_app()
    with app.app_context():
        from app.auth.service import sign_up
        from tests.conftest import PASSWORD, Auth

        user = sign_up("Solo", "Sam Solo", "sam@solo.example.com", PASSWORD)
        client = app.test_client()
        Auth(client).login(user.email)
        response = client.get("/settings/integrations/slack/connect", follow_redirects=True)
        assert "SLACK_CLIENT_ID" in response.get_data(as_text=True)


def test_denied_consent_is_explained(app, client, auth, admin):
    login(auth, admin)
    response = client.get("/settings/integrations/slack/callback?error=access_denied", follow_redirects=True)
    assert "Slack was not connected: access_denied." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(Integration)) is None


# --- lead push per seed 003: required fields, "with the transcript when it exists" -------------------------


def save_lead_settings(auth, providers, missing="skip", trigger="call.ended"):
    return auth.post("/settings/integrations/lead-push", {
        "url": providers.url + "/lead", "username": "converc", "password": "lead-secret",
        "client_id": "", "trigger": trigger, "missing": missing})


def deliveries():
    db.session.expire_all()
    return db.session.scalars(sa.select(IntegrationDelivery)).all()


@pytest.mark.parametrize("name, email, missing, sent, shown", [
    (None, "vera@example.org", "skip", None, "Not sent: firstName, lastName unknown"),
    ("Vera", None, "skip", None, "Not sent: lastName, email unknown"),
    ("Vera", None, "fill", None, "Not sent: email unknown"),
    (None, "vera@example.org", "fill", ("vera", "Unknown", "vera@example.org"), None),
    ("Vera", "vera@example.org", "fill", ("Vera", "Unknown", "vera@example.org"), None),
])
def test_a_required_field_is_never_sent_empty(app, client, auth, admin, rep, providers, name, email, missing,
                                              sent, shown):
    login(auth, admin)
    assert save_lead_settings(auth, providers, missing).status_code == 303
    call_event(admin.organization_id, "call.ended", user=rep, name=name, email=email)
    run_jobs(app)
    seen = providers.seen("lead")
    if sent:
        (lead,) = seen
        body = lead[3]
        assert (body["firstName"], body["lastName"], body["email"]) == sent
        assert all(body[k] for k in ("firstName", "lastName", "email", "conversationHistory"))
    else:
        assert seen == []
        (delivery,) = deliveries()
        assert delivery.status == "skipped" and delivery.message.startswith(shown)
        assert shown in client.get("/settings/integrations/lead-push").get_data(as_text=True)


def test_with_the_transcript_when_it_exists(app, client, auth, admin, rep, providers):
    login(auth, admin)
    save_lead_settings(auth, providers, trigger="call.ended_with_transcript")
    # an unrecorded call: pushed at its end
    call_event(admin.organization_id, "call.ended", user=rep)
    run_jobs(app)
    assert len(providers.seen("lead")) == 1
    # a recorded one: waits for its transcript, then pushes it
    recorded = make_call(admin.organization_id, rep, "ended")
    recording = Recording(organization_id=admin.organization_id, call_id=recorded.id, policy="notice",
                          status="ready", transcript_status="running", started_at=utcnow())
    db.session.add(recording)
    record_event(admin.organization_id, "call.ended", event_data(recorded))
    db.session.commit()
    run_jobs(app)
    assert len(providers.seen("lead")) == 1
    page = client.get("/settings/integrations/lead-push").get_data(as_text=True)
    assert "Waiting for the transcript" in page
    recording.transcript_status = "ready"
    recording.transcript = {"language": "en", "text": "Hi.", "segments": [
        {"start": 0.0, "end": 1.0, "speaker": "visitor", "name": "Vera Visitor", "text": "Hi."}]}
    record_event(admin.organization_id, "call.transcript_ready", {"call": {"id": str(recorded.id)}})
    db.session.commit()
    run_jobs(app)
    leads = providers.seen("lead")
    assert len(leads) == 2 and leads[1][3]["conversationHistory"].endswith("Vera Visitor: Hi.")


def test_the_transcript_trigger_says_which_calls_it_never_pushes(app, client, auth, admin, rep, providers):
    login(auth, admin)
    save_lead_settings(auth, providers, trigger="call.transcript_ready")
    make_call(admin.organization_id, rep, "ended")
    make_call(admin.organization_id, None, "missed")
    db.session.commit()
    html = client.get("/settings/integrations/lead-push").get_data(as_text=True)
    assert "never pushes" in html
    assert "1 call without a recording and 1 missed or canceled call in the last 30 days" in html
    assert "When a call ends, with the transcript when there is one" in html


def test_a_send_lost_with_redis_is_sent_again_by_the_owed_work_pass(app, client, auth, admin, rep, providers):
    """The fan-out wrote a pending delivery row before it enqueued the send: when Redis restarts
    empty and the job is gone, cron's pass finds the row and sends it, once."""
    login(auth, admin)
    save_lead_push(auth, providers)
    _, event = call_event(admin.organization_id, "call.ended", user=rep)
    jobs.integrations_for_event(str(event.id))
    app.extensions["redis"].flushdb()  # Redis restarted empty: the queued send is gone
    run_jobs(app)
    assert providers.seen("lead") == []
    delivery = db.session.scalar(sa.select(IntegrationDelivery))
    assert delivery.status == "pending"
    assert jobs.resend_lost_integration_deliveries() == 0  # not overdue yet: its job may still run
    delivery.updated_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert jobs.resend_lost_integration_deliveries() == 1
    assert jobs.resend_lost_integration_deliveries() == 0  # its job is queued now: not sent twice
    run_jobs(app)
    assert len(providers.seen("lead")) == 1
    db.session.refresh(delivery)
    assert delivery.status == "succeeded"


def test_lead_push_send_test_pushes_a_sample_lead_with_the_saved_basic_auth(app, auth, admin, providers):
    login(auth, admin)
    save_lead_push(auth, providers)
    response = auth.post("/settings/integrations/lead-push/test", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and '<div id="lead-push"' in html and "<!doctype" not in html.lower()
    assert "Test lead delivered: HTTP 200 in " in html
    (lead,) = providers.seen("lead")  # the endpoint checked the basic auth before answering 200
    _, _, headers, body = lead
    assert headers["X-Ic-Event"] == "lead_push.test"
    assert (body["firstName"], body["lastName"], body["email"], body["clientId"]) == (
        "Sam", "Sample", "sam.sample@example.com", "acme-42")
    assert body["conversationHistory"].endswith("Sam: This is a test lead sent from Converc (Send test).")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationDelivery)) == 0


def test_lead_push_send_test_shows_a_refusal_and_a_dead_endpoint(app, auth, admin, providers):
    from tests.conftest import free_port

    login(auth, admin)
    save_lead_push(auth, providers, password="wrong")
    html = auth.post("/settings/integrations/lead-push/test").get_data(as_text=True)
    assert "Test lead failed: HTTP 401 in " in html and "401: Invalid credentials" in html
    saved = auth.post("/settings/integrations/lead-push", {
        "url": f"http://127.0.0.1:{free_port()}/lead", "username": "u", "trigger": "call.ended"})
    assert saved.status_code == 303, saved.get_data(as_text=True)
    html = auth.post("/settings/integrations/lead-push/test").get_data(as_text=True)
    # nothing listens there: refused or timed out, depending on the machine's network
    assert re.search(r"Test lead failed — (Connection failed|Timed out)", html)


def test_lead_push_send_test_runs_once_at_a_time_and_needs_a_saved_endpoint(app, client, auth, admin,
                                                                          providers):
    from app.redis_store import get_redis

    login(auth, admin)
    assert auth.post("/settings/integrations/lead-push/test").status_code == 404
    save_lead_push(auth, providers)
    assert client.post("/settings/integrations/lead-push/test").status_code == 400  # no CSRF token
    get_redis().set(f"lead_push:test:{admin.organization_id}", 1)  # another click's test is running
    html = auth.post("/settings/integrations/lead-push/test").get_data(as_text=True)
    assert "A test is already running" in html and providers.seen("lead") == []
