"""Automation rules end to end: real RQ workers, real Redis, and the local Slack, Discord, SMTP and
webhook servers, reached through the same clients and base URLs production uses."""

import json
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.automations import jobs, service
from app.contacts.service import record_updated
from app.events import record_event
from app.extensions import db
from app.integrations import store
from app.models import (
    AutomationRule,
    AutomationRun,
    AutomationStep,
    Callback,
    ContactAssignment,
    ContactTag,
    Event,
)
from app.models.base import utcnow
from tests.conftest import LOOPBACK_HOOKS, free_port, run_jobs
from tests.providers import LEAD_AUTH, Providers
from tests.test_integrations_connections import call_event, make_call
from tests.webhook_receiver import Reply


@pytest.fixture(scope="module")
def providers():
    server = Providers()
    yield server
    server.close()


@pytest.fixture(scope="module")
def smtp():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Collect(Message):
        def __init__(self):
            super().__init__()
            self.received = []

        def handle_message(self, message):
            self.received.append(message)

    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    controller.received = handler.received
    yield controller
    controller.stop()


@pytest.fixture
def app(make_app, providers, smtp):
    providers.requests.clear()
    providers.scripts.clear()
    smtp.received.clear()
    app = make_app(**LOOPBACK_HOOKS, **providers.config(), SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port,
                   SMTP_STARTTLS=False, AUTOMATION_RETRY_INTERVALS=[0], AUTOMATION_PAUSE_AFTER=2)
    with app.app_context():
        yield app


def connect_slack(org_id):
    return store.save(org_id, "slack", {"teamId": "T-acme", "teamName": "Acme", "channelId": "C-acme-sales",
                                        "channelName": "sales-alerts"},
                      {"access_token": "xoxb-acme", "token_type": "Bearer"})


def connect_discord(org_id, providers):
    return store.save(org_id, "discord", {"webhookName": "Alerts"},
                      {"url": f"{providers.url}/discord/api/webhooks/9001/tok-d1"})


def make_rule(org_id, trigger, actions, conditions=(), match="all", name="My rule") -> AutomationRule:
    rule = AutomationRule(organization_id=org_id, name=name, trigger=trigger, match=match,
                          conditions=list(conditions),
                          actions=[{"id": uuid.uuid4().hex, **a} for a in actions])
    db.session.add(rule)
    db.session.commit()
    return rule


def runs(rule) -> list[AutomationRun]:
    db.session.expire_all()  # the worker changed them in its own session
    return db.session.scalars(sa.select(AutomationRun).where(AutomationRun.rule_id == rule.id)
                              .order_by(AutomationRun.created_at)).all()


def steps(run) -> list[AutomationStep]:
    return db.session.scalars(sa.select(AutomationStep).where(AutomationStep.run_id == run.id)
                              .order_by(AutomationStep.position)).all()


def test_slack_action_posts_its_template_to_the_chosen_channel(app, admin, providers):
    connect_slack(admin.organization_id)
    rule = make_rule(admin.organization_id, "call.missed", [{
        "kind": "slack", "channel_id": "C-acme-general", "channel_name": "general",
        "template": "Missed {{ contact.name }} ({{ answers['Company size'] }}) {{ call.mediaType }}"}],
        conditions=[{"field": "answer", "key": "Company size", "op": "is", "value": "11-50"}])
    call_event(admin.organization_id, "call.missed")
    run_jobs(app)
    posts = [p for p in providers.seen("slack.postMessage") if p[3]["channel"] == "C-acme-general"]
    assert [p[3]["text"] for p in posts] == ["Missed Vera Visitor (11-50) video"]
    assert posts[0][2]["Authorization"] == "Bearer xoxb-acme"
    (run,) = runs(rule)
    assert (run.status, run.matched, run.reason) == ("done", True, "Matched all conditions")
    assert [(s.status, s.detail) for s in steps(run)] == [("succeeded", "Posted to #general")]
    # the standard alert still goes to the alerts channel, as before rules existed
    assert any(p[3]["channel"] == "C-acme-sales" for p in providers.seen("slack.postMessage"))


def test_a_rule_that_does_not_match_says_why(app, admin, providers):
    connect_slack(admin.organization_id)
    rule = make_rule(admin.organization_id, "call.missed", [{"kind": "slack", "channel_id": "C-acme-general",
                                                             "template": "x"}],
                     conditions=[{"field": "media_type", "op": "is", "value": "audio"}])
    call_event(admin.organization_id, "call.missed")
    run_jobs(app)
    (run,) = runs(rule)
    assert (run.status, run.matched) == ("skipped", False)
    assert run.reason == "Not matched: Media type is audio (was “video”)"
    assert steps(run) == []
    assert not [p for p in providers.seen("slack.postMessage") if p[3]["channel"] == "C-acme-general"]


def test_discord_email_webhook_tag_and_assign_actions(app, admin, rep, providers, smtp, receiver):
    connect_discord(admin.organization_id, providers)
    rule = make_rule(admin.organization_id, "call.ended", [
        {"kind": "discord", "template": "{{ contact.name }} talked to us @everyone"},
        {"kind": "email", "to": "address", "address": "sales@acme.example.com",
         "subject": "Call with {{ contact.name }}", "template": "Answers: {{ answers }}"},
        {"kind": "email", "to": "teammate", "user_id": str(rep.id), "subject": "FYI",
         "template": "{{ call.id }}"},
        {"kind": "webhook", "url": receiver.url + "/hook", "template": ""},
        {"kind": "tag", "tag": "talked"},
        {"kind": "assign", "target": "contact", "user_id": str(rep.id)},
    ])
    call, event = call_event(admin.organization_id, "call.ended", user=rep)
    run_jobs(app)
    (run,) = runs(rule)
    assert run.status == "done", [(s.kind, s.error) for s in steps(run)]
    assert [s.status for s in steps(run)] == ["succeeded"] * 6
    discord_posts = [p for p in providers.seen("discord.execute") if "content" in (p[3] or {})]
    assert discord_posts[0][3] == {"content": "Vera Visitor talked to us @everyone",
                                   "allowed_mentions": {"parse": []}}
    sent = {m["To"]: m for m in smtp.received}
    assert sent["sales@acme.example.com"]["Subject"] == "Call with Vera Visitor"
    assert "11-50" in sent["sales@acme.example.com"].get_payload()
    assert sent[rep.email].get_payload().strip() == str(call.id)
    (hook,) = receiver.wait_for("/hook")
    envelope = json.loads(hook.body)
    assert envelope["id"] == str(event.id) and envelope["type"] == "call.ended"
    assert hook.headers["x-ic-automation"] == str(rule.id)
    tags = sa.select(ContactTag.tag).where(ContactTag.contact_id == call.contact_id)
    assert db.session.scalars(tags).all() == ["talked"]
    assert db.session.get(ContactAssignment, call.contact_id).user_id == rep.id


def test_the_contact_page_shows_the_tags_and_the_rep(app, client, auth, admin, rep):
    make_rule(admin.organization_id, "call.ended", [{"kind": "tag", "tag": "hot <lead>"},
                                                    {"kind": "assign", "target": "contact",
                                                     "user_id": str(rep.id)}])
    call, _ = call_event(admin.organization_id, "call.ended", user=rep)
    run_jobs(app)
    auth.login(admin.email)
    html = client.get(f"/contacts/{call.contact_id}").get_data(as_text=True)
    assert "hot &lt;lead&gt;" in html and "Assigned to</dt><dd>Rex Rep" in html


def test_email_to_the_team_and_lead_push(app, admin, rep, providers, smtp):
    store.save(admin.organization_id, "lead_push", {"url": providers.url + "/lead", "username": LEAD_AUTH[0],
                                                    "trigger": "call.ended", "missing": "skip"},
               {"password": LEAD_AUTH[1]})
    make_rule(admin.organization_id, "call.missed", [
        {"kind": "email", "to": "team", "subject": "Missed {{ contact.name }}", "template": "Call them back"},
        {"kind": "lead_push"}])
    call_event(admin.organization_id, "call.missed")
    run_jobs(app)
    assert sorted(m["To"] for m in smtp.received) == sorted([admin.email, rep.email])
    (lead,) = providers.seen("lead")  # the integration's own trigger is call.ended: this is the rule's
    assert lead[3]["email"] == "vera@example.org"


def test_assign_a_callback_to_a_rep(app, admin, rep):
    from app.callbacks.service import callback_data

    make_rule(admin.organization_id, "callback.requested",
              [{"kind": "assign", "target": "callback", "user_id": str(rep.id)}])
    callback = _callback(admin.organization_id)
    record_event(admin.organization_id, "callback.requested", callback_data(callback, None))
    db.session.commit()
    run_jobs(app)
    db.session.refresh(callback)
    assert (callback.status, callback.claimed_by_id) == ("claimed", rep.id)


def _callback(org_id) -> Callback:
    call = make_call(org_id)
    callback = Callback(organization_id=org_id, contact_id=call.contact_id, reason="chose",
                        name="Vera Visitor",
                        email="vera@example.org", status="open")
    db.session.add(callback)
    db.session.commit()
    return callback


def test_the_same_event_twice_runs_each_action_once(app, admin, providers, receiver):
    connect_slack(admin.organization_id)
    rule = make_rule(admin.organization_id, "call.missed", [
        {"kind": "slack", "channel_id": "C-acme-general", "template": "once"},
        {"kind": "webhook", "url": receiver.url + "/once", "template": "once"}])
    _, event = call_event(admin.organization_id, "call.missed")
    run_jobs(app)
    (run,) = runs(rule)
    # the consumer and the run job again, as a duplicated delivery of the event would
    jobs.automations_for_event(str(event.id))
    jobs.enqueue_run(run.id)
    jobs.queue().enqueue(jobs.automations_for_event, str(event.id))
    run_jobs(app)
    jobs.run_rule(str(run.id))
    assert len([p for p in providers.seen("slack.postMessage") if p[3]["channel"] == "C-acme-general"]) == 1
    assert len(receiver.at("/once")) == 1
    assert len(runs(rule)) == 1 and [s.attempts for s in steps(run)] == [1, 1]


def test_a_delay_is_a_row_the_cron_pass_finishes_even_when_redis_forgot_it(app, admin, providers):
    from app.callbacks.service import callback_data

    connect_slack(admin.organization_id)
    rule = make_rule(admin.organization_id, "callback.requested", [
        {"kind": "delay", "minutes": 120, "unless": "callback_done"},
        {"kind": "slack", "channel_id": "C-acme-general",
         "template": "Nobody called {{ callback.name }} back"}])
    first, second = _callback(admin.organization_id), _callback(admin.organization_id)
    for callback in (first, second):
        record_event(admin.organization_id, "callback.requested", callback_data(callback, None))
    db.session.commit()
    run_jobs(app)
    waiting = runs(rule)
    assert [r.status for r in waiting] == ["waiting", "waiting"]
    due = waiting[0].due_at - utcnow()
    assert timedelta(minutes=119) < due <= timedelta(minutes=120)
    assert not [p for p in providers.seen("slack.postMessage") if p[3]["channel"] == "C-acme-general"]
    # two hours later, with Redis emptied meanwhile; one callback was done in time
    app.extensions["redis"].flushdb()
    second.status = "done"
    for run in waiting:
        run.due_at = utcnow() - timedelta(seconds=1)
        for step in steps(run):
            step.due_at = run.due_at
    db.session.commit()
    jobs.sweep()
    run_jobs(app)
    posts = [p for p in providers.seen("slack.postMessage") if p[3]["channel"] == "C-acme-general"]
    assert [p[3]["text"] for p in posts] == ["Nobody called Vera Visitor back"]
    done = {r.event_id: r for r in runs(rule)}
    assert {r.status for r in done.values()} == {"done"}
    stopped = [r for r in done.values() if r.reason and "callback was done" in r.reason]
    assert len(stopped) == 1


def test_a_failing_action_is_retried_then_the_rule_is_paused_with_the_reason(app, admin, receiver):
    receiver.script("/down", Reply(status=500))
    rule = make_rule(admin.organization_id, "call.missed",
                     [{"kind": "webhook", "url": receiver.url + "/down"}])
    for _ in range(2):
        call_event(admin.organization_id, "call.missed")
        run_jobs(app)
    assert len(receiver.at("/down")) == 4  # each run tried twice (one RQ retry)
    failed = runs(rule)
    assert [r.status for r in failed] == ["failed", "failed"]
    assert "The endpoint answered HTTP 500 (gave up after 2 tries)" in steps(failed[0])[0].error
    db.session.refresh(rule)
    assert rule.paused_reason.startswith("Paused after 2 failed runs in a row. Last error: Call http://")
    call_event(admin.organization_id, "call.missed")
    run_jobs(app)
    assert len(receiver.at("/down")) == 4
    assert runs(rule)[-1].reason.startswith("Not run: the rule is paused")
    service.resume(rule)
    assert rule.paused_reason is None and rule.failures == 0


def test_an_action_that_cannot_work_fails_without_retrying(app, admin):
    rule = make_rule(admin.organization_id, "call.missed", [
        {"kind": "slack", "channel_id": "C-x", "template": "{{ contact.name"}])
    call_event(admin.organization_id, "call.missed")
    run_jobs(app)
    (run,) = runs(rule)
    (step,) = steps(run)
    assert (run.status, step.attempts) == ("failed", 1)
    assert step.error == "Slack is not connected: connect it in Settings → Integrations."


def test_a_rule_never_runs_on_its_own_actions_event(app, admin):
    rule = make_rule(admin.organization_id, "contact.updated", [{"kind": "tag", "tag": "vip"}])
    call = make_call(admin.organization_id)
    call.contact.name = "Vera V."
    record_updated(call.contact, ["name"])
    db.session.commit()
    run_jobs(app)
    found = runs(rule)
    assert [r.status for r in found] == ["done", "skipped"]
    assert found[1].reason == "Loop stopped: this event was caused by this rule's own action."
    caused = db.session.get(Event, found[1].event_id)
    assert caused.data["changes"] == ["tags"]


def test_the_cron_pass_decides_events_whose_dispatch_was_lost(app, admin, receiver):
    rule = make_rule(admin.organization_id, "call.missed",
                     [{"kind": "webhook", "url": receiver.url + "/late"}])
    _, event = call_event(admin.organization_id, "call.missed")
    app.extensions["redis"].flushdb()  # the dispatch job is gone
    from app.webhooks.service import fan_out

    fan_out(event.id)  # dispatched, but its consumers' jobs were never enqueued
    event.created_at = utcnow() - timedelta(seconds=30)
    rule.created_at = utcnow() - timedelta(seconds=60)  # rules only decide events after their creation
    db.session.commit()
    assert jobs.sweep()["events"] == 1
    run_jobs(app)
    assert len(receiver.at("/late")) == 1 and runs(rule)[0].status == "done"
    assert jobs.sweep() == {"events": 0, "runs": 0, "purged": 0}


def test_rules_and_runs_stay_in_their_organization(app, admin, other_admin, receiver):
    make_rule(other_admin.organization_id, "call.missed",
              [{"kind": "webhook", "url": receiver.url + "/other"}])
    call_event(admin.organization_id, "call.missed")
    run_jobs(app)
    assert receiver.at("/other") == [] and db.session.scalar(sa.select(sa.func.count(AutomationRun.id))) == 0


def test_default_rules_keep_the_alerts_and_can_turn_them_off(app, admin, providers):
    connect_slack(admin.organization_id)
    service.ensure_defaults(admin.organization_id)
    missed = db.session.scalar(
        sa.select(AutomationRule).where(AutomationRule.builtin == "alerts:call.missed"))
    assert missed.name == "Missed call alert" and [a["kind"] for a in missed.actions] == [
        "slack_alert", "discord_alert"]
    call_event(admin.organization_id, "call.missed")
    run_jobs(app)
    assert len(providers.seen("slack.postMessage")) == 1
    assert [s.detail for s in steps(runs(missed)[0])] == [
        "Sent by the Slack integration (its page shows the delivery)",
        "Discord is not connected: nothing to send"]
    missed.conditions = [{"field": "media_type", "op": "is", "value": "audio"}]
    db.session.commit()
    call_event(admin.organization_id, "call.missed")
    run_jobs(app)
    assert len(providers.seen("slack.postMessage")) == 1
    missed.conditions, missed.enabled = [], False
    db.session.commit()
    call_event(admin.organization_id, "call.missed")
    run_jobs(app)
    assert len(providers.seen("slack.postMessage")) == 1
    missed.enabled, missed.actions = True, [{"id": "discord-alert", "kind": "discord_alert"}]
    db.session.commit()
    call_event(admin.organization_id, "call.missed")
    run_jobs(app)
    assert len(providers.seen("slack.postMessage")) == 1


def test_time_of_day_is_read_in_the_organizations_timezone(app, admin, receiver):
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from app.models import Organization

    org = db.session.get(Organization, admin.organization_id)
    org.timezone = "Asia/Tokyo"
    db.session.commit()
    tokyo_hour = datetime.now(UTC).astimezone(ZoneInfo("Asia/Tokyo")).hour
    # an hour either side of Tokyo's hour now (the clock may tick meanwhile), and the UTC hours now
    window = f"{(tokyo_hour - 1) % 24:02d}:00-{(tokyo_hour + 2) % 24:02d}:00"
    utc_hour = datetime.now(UTC).hour  # nine hours from Tokyo's: outside the window there
    elsewhere = f"{(utc_hour - 1) % 24:02d}:00-{(utc_hour + 2) % 24:02d}:00"
    inside = make_rule(admin.organization_id, "call.missed",
                       [{"kind": "webhook", "url": receiver.url + "/in"}],
                       conditions=[{"field": "time", "op": "between", "value": window}])
    outside = make_rule(admin.organization_id, "call.missed",
                        [{"kind": "webhook", "url": receiver.url + "/out"}],
                        conditions=[{"field": "time", "op": "between", "value": elsewhere}])
    call_event(admin.organization_id, "call.missed")
    run_jobs(app)
    assert runs(inside)[0].status == "done" and runs(outside)[0].status == "skipped"
    assert "Time of day (organization's timezone) is between" in runs(outside)[0].reason


def test_slack_429_waits_its_retry_after_then_posts_once(app, admin, providers):
    # no alerts channel: the standard alert stays quiet, only the rule posts
    store.save(admin.organization_id, "slack", {"teamId": "T-acme"},
               {"access_token": "xoxb-acme", "token_type": "Bearer"})
    rule = make_rule(admin.organization_id, "call.missed", [
        {"kind": "slack", "channel_id": "C-acme-general", "template": "later"}])
    providers.script("slack.postMessage", (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "60"}))
    call_event(admin.organization_id, "call.missed")
    run_jobs(app)
    (run,) = runs(rule)
    assert run.status == "waiting" and timedelta(seconds=45) < run.due_at - utcnow() <= timedelta(seconds=60)
    assert steps(run)[0].error == "Rate limited: trying again in 60 s"
    assert jobs.sweep()["runs"] == 0  # not due yet
    run.due_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    jobs.sweep()
    run_jobs(app)
    posted = [p for p in providers.seen("slack.postMessage") if p[3]["channel"] == "C-acme-general"]
    assert len(posted) == 2  # the refused one and the one after the wait
    assert runs(rule)[0].status == "done" and steps(run)[0].attempts == 2


def test_sites_by_domain_and_old_runs_are_purged(app, admin, receiver):
    from app.models import Site
    from tests.calls_support import make_site

    site = make_site(admin.organization_id, "shop.example.com")
    rule = make_rule(admin.organization_id, "call.missed",
                     [{"kind": "webhook", "url": receiver.url + "/site"}],
                     conditions=[{"field": "site", "op": "is", "value": "shop.example.com"}])
    call = make_call(admin.organization_id)
    call.site_id = site.id
    from app.calls.payload import event_data

    record_event(admin.organization_id, "call.missed", event_data(call))
    call_event(admin.organization_id, "call.missed")  # no site
    db.session.commit()
    run_jobs(app)
    assert sorted(r.status for r in runs(rule)) == ["done", "skipped"]
    assert db.session.get(Site, site.id).domain == "shop.example.com"
    for run in runs(rule):
        run.created_at = utcnow() - timedelta(days=31)
    db.session.commit()
    assert jobs.sweep()["purged"] == 2 and runs(rule) == []


def test_assign_to_a_team_and_email_its_members(app, admin, rep, smtp):
    from app.callbacks.service import callback_data
    from app.models import Team

    team = Team(organization_id=admin.organization_id, name="Enterprise", members=[rep])
    db.session.add(team)
    db.session.commit()
    make_rule(admin.organization_id, "callback.requested", [
        {"kind": "assign", "target": "callback", "team_id": str(team.id)},
        {"kind": "assign", "target": "contact", "team_id": str(team.id)},
        {"kind": "email", "to": "members", "team_id": str(team.id), "subject": "New lead",
         "template": "{{ callback.name }}"}])
    callback = _callback(admin.organization_id)
    record_event(admin.organization_id, "callback.requested", callback_data(callback, None))
    db.session.commit()
    run_jobs(app)
    db.session.refresh(callback)
    assert callback.team_id == team.id
    assert db.session.get(ContactAssignment, callback.contact_id).team_id == team.id
    assert [m["To"] for m in smtp.received] == [rep.email]
