"""What each kind of action does, through the same clients the integrations use.

`perform(action, event, rule)` returns a short detail for the run log, raises `Failed` for what
another try will not fix (shown, not retried) and `Retry` for what it may (a timeout, a 5xx: RQ's
Retry runs the job again with backoff). Every kind is idempotent per (rule, event, action)
because the service records a step before and after it: a succeeded step is never redone.
"""

import json
import smtplib
import uuid

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from app import mail, outbound
from app.automations.rendering import TemplateProblem, render
from app.extensions import db
from app.integrations import discord, lead_push, slack, store
from app.integrations.errors import IntegrationError, RateLimited, Refused, Skipped
from app.models import Callback, Contact, ContactAssignment, ContactTag, Event, Team, User
from app.models.base import utcnow

KINDS = {
    "slack": "Post to Slack",
    "discord": "Post to Discord",
    "email": "Send an email",
    "webhook": "Call a webhook endpoint",
    "lead_push": "Run the lead push",
    "tag": "Tag the contact",
    "assign": "Assign to a rep or team",
    "delay": "Wait",
    # the default rules' actions: today's standard alerts, sent by the Slack / Discord integration
    "slack_alert": "Post the standard alert to Slack",
    "discord_alert": "Post the standard alert to Discord",
}
ALERT_KINDS = ("slack_alert", "discord_alert")
EMAIL_TO = {"teammate": "A teammate", "team": "The whole team", "members": "The members of a team",
            "address": "An email address"}
ASSIGN_TARGETS = {"contact": "The contact", "callback": "The callback"}
# a delay's "only if still …": checked when it is over
UNLESS = {"": "Always continue", "callback_done": "Stop if the callback was done meanwhile",
          "call_answered": "Stop if the call was answered meanwhile"}


class Failed(Exception):
    """Another try will not help: shown in the run log, counted towards pausing the rule."""


class Retry(Exception):
    """Worth another try later (RQ's Retry with backoff); after the last, it fails like Failed."""


class Later(Exception):
    """The service said "not now" (429 with Retry-After): the run waits that long, like a delay."""

    def __init__(self, seconds: float):
        super().__init__(f"Rate limited: trying again in {seconds:g} s")
        self.seconds = seconds


def describe(action: dict, users: dict | None = None) -> str:
    """The action in words, for the rule's page (`users`: teammate and team ids -> names)."""
    kind, users = action.get("kind"), users or {}
    if kind == "slack":
        return f"Post to Slack #{action.get('channel_name') or action.get('channel_id')}"
    if kind == "email":
        to = {"team": "the whole team", "address": action.get("address"),
              "members": f"the members of {users.get(action.get('team_id'), 'a team')}",
              "teammate": users.get(action.get("user_id"), "a teammate")}.get(action.get("to"))
        return f"Send an email to {to}"
    if kind == "webhook":
        return f"Call {action.get('url')}"
    if kind == "tag":
        return f"Tag the contact “{action.get('tag')}”"
    if kind == "assign":
        who = users.get(action.get("team_id") or action.get("user_id"), "a rep")
        return f"Assign the {action.get('target')} to {who}"
    if kind == "delay":
        unless = f" ({UNLESS[action['unless']].lower()})" if action.get("unless") else ""
        return f"Wait {_duration_words(int(action.get('minutes') or 0))}{unless}"
    return KINDS.get(kind, kind)


def _duration_words(minutes: int) -> str:
    if minutes % 1440 == 0:
        return f"{minutes // 1440} day{'s' if minutes != 1440 else ''}"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def _text(action: dict, event: Event, rule) -> str:
    try:
        return render(action.get("template") or "", event.envelope(), rule.name)
    except TemplateProblem as e:
        raise Failed(str(e)) from e


def _integration(event: Event, kind: str, label: str):
    row = store.integration_of(event.organization_id, kind)
    if row is None or row.status != "connected":
        raise Failed(f"{label} is not connected: connect it in Settings → Integrations.")
    return row


def _calling(fn, *args):
    """Map an integration's outcome onto ours."""
    try:
        return fn(*args)
    except RateLimited as e:
        raise Later(e.retry_after) from e
    except IntegrationError as e:
        raise Retry(str(e)) from e
    except (Refused, Skipped) as e:
        raise Failed(e.message) from e


def _slack(action, event, rule) -> str:
    row = _integration(event, "slack", "Slack")
    _calling(slack.post_text, row, action["channel_id"], _text(action, event, rule) or rule.name)
    return f"Posted to #{action.get('channel_name') or action['channel_id']}"


def _discord(action, event, rule) -> str:
    row = _integration(event, "discord", "Discord")
    _calling(discord.post_text, row, _text(action, event, rule) or rule.name)
    return "Posted to Discord"


def _recipients(action, event) -> list[str]:
    members = sa.select(User).where(User.organization_id == event.organization_id)
    if action.get("to") == "address":
        return [action["address"]]
    if action.get("to") == "team":
        return [u.email for u in db.session.scalars(members.order_by(User.email))]
    if action.get("to") == "members":
        team = _team(action, event)
        if not team.members:
            raise Failed(f"The team {team.name} has no members to email.")
        return [u.email for u in team.members]
    user = db.session.scalar(members.where(User.id == _uuid(action.get("user_id"))))
    if user is None:
        raise Failed("The teammate to email is no longer in the organization.")
    return [user.email]


def _email(action, event, rule) -> str:
    if not mail.can_send():
        raise Failed("Email is not set up on this server (whoever runs Converc sets SMTP_HOST).")
    subject = render_or_fail(action.get("subject") or rule.name, event, rule).replace("\n", " ")[:200]
    body = _text(action, event, rule)
    recipients = _recipients(action, event)
    try:
        for to in recipients:
            mail.send(to, subject, body)
    except (smtplib.SMTPException, OSError) as e:
        raise Retry(f"The mail server did not take the email: {e}") from e
    return f"Emailed {', '.join(recipients)}"


def render_or_fail(source: str, event: Event, rule) -> str:
    return _text({"template": source}, event, rule)


def _webhook(action, event, rule) -> str:
    body = _text(action, event, rule) if action.get("template") else json.dumps(event.envelope())
    content_type = "text/plain; charset=utf-8" if action.get("template") else "application/json"
    headers = {"Content-Type": content_type,
               "X-IC-Event": event.type, "X-IC-Id": str(event.id), "X-IC-Automation": str(rule.id)}
    timeout = current_app.config["WEBHOOK_TIMEOUT_SECONDS"]
    response = outbound.post(action["url"], body.encode(), headers, timeout)
    if response.status is None:
        if (response.error or "").startswith("Refused"):
            raise Failed(response.error)
        raise Retry(response.error)
    if response.status >= 500 or response.status == 429:
        raise Retry(f"The endpoint answered HTTP {response.status}")
    if not response.ok:
        raise Failed(f"The endpoint answered HTTP {response.status}")
    return f"HTTP {response.status}"


def _lead_push(action, event, rule) -> str:
    row = _integration(event, "lead_push", "Lead push")
    status = _calling(lead_push.send, row, event)
    return "Pushed the lead" if status else "Nothing to push for this event"


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def contact_of(event: Event) -> Contact | None:
    """The contact an event is about, only within the event's organization."""
    data = event.data or {}
    found = (data.get("contact") or {}).get("identityId") or (data.get("contact") or {}).get("id")
    if not found and (data.get("callback") or {}).get("id"):
        callback = callback_of(event)
        found = callback.contact_id if callback else None
    if _uuid(found) is None:
        return None
    return db.session.scalar(sa.select(Contact).where(
        Contact.id == _uuid(found), Contact.organization_id == event.organization_id))


def callback_of(event: Event) -> Callback | None:
    callback_id = _uuid(((event.data or {}).get("callback") or {}).get("id"))
    if callback_id is None:
        return None
    return db.session.scalar(sa.select(Callback).where(
        Callback.id == callback_id, Callback.organization_id == event.organization_id))


def _tag(action, event, rule) -> str:
    from app.contacts.service import record_updated

    contact = contact_of(event)
    if contact is None:
        raise Failed("This event has no contact to tag.")
    tag = action["tag"]
    exists = sa.select(ContactTag).where(ContactTag.contact_id == contact.id, ContactTag.tag == tag)
    if db.session.scalar(exists) is not None:
        return f"Already tagged “{tag}”"
    try:
        db.session.add(ContactTag(organization_id=contact.organization_id, contact_id=contact.id, tag=tag))
        record_updated(contact, ["tags"])
        db.session.commit()
    except IntegrityError:  # tagged by a concurrent run
        db.session.rollback()
    return f"Tagged “{tag}”"


def _named(model, row_id, event, gone: str):
    """The rule's rep or team, only within the event's organization; `gone` if it was removed."""
    row = db.session.scalar(sa.select(model).where(
        model.id == _uuid(row_id), model.organization_id == event.organization_id))
    if row is None:
        raise Failed(gone)
    return row


def _assignee(action, event) -> User:
    return _named(User, action.get("user_id"), event,
                  "The rep to assign to is no longer in the organization.")


def _team(action, event) -> Team:
    return _named(Team, action.get("team_id"), event, "The team is no longer in the organization.")


def _assign_to_team(action, event) -> str:
    team = _team(action, event)
    if action.get("target") == "callback":
        callback = callback_of(event)
        if callback is None:
            raise Failed("This event has no callback to assign.")
        callback.team_id = team.id
        db.session.commit()
        return f"Assigned the callback to the team {team.name}"
    contact = contact_of(event)
    if contact is None:
        raise Failed("This event has no contact to assign.")
    row = db.session.get(ContactAssignment, contact.id) or ContactAssignment(
        contact_id=contact.id, organization_id=contact.organization_id)
    row.user_id, row.team_id, row.assigned_at = None, team.id, utcnow()
    db.session.add(row)
    db.session.commit()
    return f"Assigned the contact to the team {team.name}"


def _assign(action, event, rule) -> str:
    if action.get("team_id"):
        return _assign_to_team(action, event)
    user = _assignee(action, event)
    if action.get("target") == "callback":
        callback = callback_of(event)
        if callback is None:
            raise Failed("This event has no callback to assign.")
        from app.callbacks.service import claim

        if callback.status == "done":
            return "The callback was already done"
        if callback.status == "claimed":
            who = callback.claimed_by.name if callback.claimed_by else "someone"
            return f"Left as it is: {who} claimed it"
        if not claim(callback, user):  # claimed by a rep in between
            return "Left as it is: a rep claimed it meanwhile"
        return f"Assigned the callback to {user.name}"
    contact = contact_of(event)
    if contact is None:
        raise Failed("This event has no contact to assign.")
    row = db.session.get(ContactAssignment, contact.id) or ContactAssignment(
        contact_id=contact.id, organization_id=contact.organization_id)
    row.user_id, row.team_id, row.assigned_at = user.id, None, utcnow()
    db.session.add(row)
    db.session.commit()
    return f"Assigned the contact to {user.name}"


def stop_reason(action: dict, event: Event) -> str | None:
    """After a delay: why the rest of the actions should not run any more, or None."""
    if action.get("unless") == "callback_done":
        callback = callback_of(event)
        if callback is not None and callback.status == "done":
            return "Stopped after the wait: the callback was done meanwhile."
    if action.get("unless") == "call_answered":
        from app.integrations.messages import call_of

        call = call_of(event)
        if call is not None and call.accepted_at is not None:
            return "Stopped after the wait: the call was answered meanwhile."
    return None


PERFORM = {"slack": _slack, "discord": _discord, "email": _email, "webhook": _webhook,
           "lead_push": _lead_push, "tag": _tag, "assign": _assign}


def perform(action: dict, event: Event, rule) -> str:
    if action["kind"] in ALERT_KINDS:
        kind = action["kind"].removesuffix("_alert")
        row = store.integration_of(event.organization_id, kind)
        if row is None or not (slack.ready(row) if kind == "slack" else discord.ready(row)):
            return f"{kind.title()} is not connected: nothing to send"
        return f"Sent by the {kind.title()} integration (its page shows the delivery)"
    handler = PERFORM.get(action["kind"])
    if handler is None:
        raise Failed(f"Unknown action {action['kind']}.")
    return handler(action, event, rule)


def preview(action: dict, event: Event, rule) -> str | None:
    """What the action would write for this event (its template rendered), or None."""
    if action.get("kind") not in ("slack", "discord", "email", "webhook") or not action.get("template"):
        if action.get("kind") == "webhook":
            return json.dumps(event.envelope(), indent=2)[:4000]
        return None
    try:
        return render(action["template"], event.envelope(), rule.name)
    except TemplateProblem as e:
        return str(e)
