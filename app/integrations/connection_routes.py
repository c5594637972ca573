"""Settings → Integrations pages of the connections: Google Calendar, Slack, Discord, lead push."""

import functools
from collections.abc import Callable
from dataclasses import dataclass

from authlib.common.errors import AuthlibBaseError
from flask import abort, current_app, flash, request, url_for
from flask_login import current_user, login_required

from app import outbound
from app.htmx import redirect_to, render
from app.integrations import bp, discord, google_calendar, jobs, lead_push, oauth, slack, store
from app.integrations.errors import IntegrationError, Refused
from app.integrations.forms import CalendarForm, ChannelForm, DiscordWebhookForm, LeadPushForm
from app.integrations.service import recent_deliveries, zapier_subscriptions
from app.jobs import enqueue
from app.redis_store import unless_redis_down
from app.tenancy import admin_required

PAGES = {
    "google": "integrations.google_calendar",
    "slack": "integrations.slack_page",
    "discord": "integrations.discord_page",
}


# --- OAuth: one route pair for every provider --------------------------------------------------------


def _provider_or_404(provider: str) -> str:
    if provider not in oauth.PROVIDERS:
        abort(404)
    if oauth.admins_only(provider) and not current_user.is_admin:
        abort(403)
    return provider


@login_required
def oauth_connect(provider):
    """Send the browser to the provider's consent screen."""
    _provider_or_404(provider)
    if not oauth.is_configured(provider):
        flash(
            f"{provider.title()} is not set up on this server: {provider.upper()}_CLIENT_ID and "
            f"{provider.upper()}_CLIENT_SECRET are missing."
        )
        return redirect_to(url_for(PAGES[provider]))
    callback = url_for(f"integrations.{provider}_callback", _external=True)
    return oauth.client(provider).authorize_redirect(callback)


@login_required
def oauth_callback(provider):
    """The provider sends the browser back here with a code: trade it for tokens and keep them."""
    _provider_or_404(provider)
    if request.args.get("error"):
        reason = request.args.get("error_description") or request.args["error"]
        flash(f"{provider.title()} was not connected: {reason}.")
        return redirect_to(url_for(PAGES[provider]))
    try:
        token = oauth.client(provider).authorize_access_token()
        message = _CONNECT[provider](token)
    except (AuthlibBaseError, ValueError, Refused, IntegrationError) as e:
        flash(f"{provider.title()} was not connected: {getattr(e, 'description', None) or e}")
        return redirect_to(url_for(PAGES[provider]))
    flash(message)
    return redirect_to(url_for(PAGES[provider]))


def _bound(view, argument):
    """`view` with its first argument fixed, as a view function of its own."""

    @functools.wraps(view)
    def bound():
        return view(argument)

    bound.__name__ = f"{view.__name__}_{argument}"
    return bound


# one route pair serves every provider, mounted under each provider's page (no id in the URL)
for _provider, _path in (("google", "google-calendar"), ("slack", "slack"), ("discord", "discord")):
    bp.add_url_rule(f"/settings/integrations/{_path}/connect", f"{_provider}_connect",
                    _bound(oauth_connect, _provider))
    bp.add_url_rule(f"/settings/integrations/{_path}/callback", f"{_provider}_callback",
                    _bound(oauth_callback, _provider))


def _connect_google(token) -> str:
    conn = google_calendar.connect(current_user, token)
    listed = google_calendar.calendars(conn)
    chosen = conn.calendar_id if any(c["id"] == conn.calendar_id for c in listed) else None
    primary = next((c["id"] for c in listed if c["primary"]), listed[0]["id"] if listed else None)
    if chosen or primary:
        google_calendar.choose_calendar(conn, chosen or primary, listed)
        with unless_redis_down("syncing the calendar now (cron.py syncs it soon)"):
            enqueue(jobs.sync_calendar, str(conn.id))  # right after connecting
    return "Google Calendar connected. Check the calendar to sync below."


def _connect_slack(token) -> str:
    slack.connect(current_user.organization_id, token)
    return "Slack connected. Pick the channel for alerts."


def _connect_discord(token) -> str:
    row = discord.connect_oauth(current_user.organization_id, token)
    return f"Discord connected: notifications go to the webhook {row.settings.get('webhookName') or ''}."


_CONNECT = {"google": _connect_google, "slack": _connect_slack, "discord": _connect_discord}


# --- Google Calendar (each rep their own) ---------------------------------------------------------------


def _listed(conn, fetch, remember_failure) -> tuple[list, str | None]:
    """What a connected account lists (calendars, channels) and why not: a refusal marks the
    connection broken (its banner says so), an outage is said on the page."""
    if conn is None or conn.status != "connected":
        return [], None
    try:
        return fetch(conn), None
    except Refused as e:
        remember_failure(conn, e)
        return [], None
    except IntegrationError as e:
        return [], str(e)


def _calendar_page(form=None, status=200, error=None):
    conn = google_calendar.connection_of(current_user.id)
    listed, outage = _listed(conn, google_calendar.calendars, google_calendar.remember_failure)
    error = error or outage
    form = form or CalendarForm(calendar_id=conn.calendar_id if conn else None)
    form.calendar_id.choices = [(c["id"], c["name"] + (" (primary)" if c["primary"] else "")) for c in listed]
    return render(
        "integrations/google_calendar.html",
        "integrations/_google_calendar.html",
        status=status,
        conn=conn,
        form=form,
        error=error,
        configured=oauth.is_configured("google"),
    )


@bp.get("/settings/integrations/google-calendar", endpoint="google_calendar")
@login_required
def calendar_page():
    """The rep's own calendar connection: connect, choose the calendar, refresh, disconnect."""
    return _calendar_page()


def _own_connection():
    conn = google_calendar.connection_of(current_user.id)
    if conn is None:
        abort(404)
    return conn


@bp.post("/settings/integrations/google-calendar/calendar")
@login_required
def google_calendar_choose():
    """Sync the chosen calendar (and read its busy time now)."""
    conn, form = _own_connection(), CalendarForm()
    if not form.validate_on_submit():
        return _calendar_page(form, 422)
    try:
        google_calendar.choose_calendar(conn, form.calendar_id.data, google_calendar.calendars(conn))
    except ValueError as e:
        form.calendar_id.errors.append(str(e))
        return _calendar_page(form, 422)
    except Refused as e:
        google_calendar.remember_failure(conn, e)
        return _calendar_page(form, 422)
    with unless_redis_down("syncing the calendar now (cron.py syncs it soon)"):
        enqueue(jobs.sync_calendar, str(conn.id))
    flash(f"Syncing {conn.calendar_name}: busy time shows within a minute.")
    return redirect_to(url_for("integrations.google_calendar"))


@bp.post("/settings/integrations/google-calendar/refresh")
@login_required
def google_calendar_refresh():
    """Read the calendar's busy time again now."""
    with unless_redis_down("syncing the calendar now (cron.py syncs it soon)"):
        enqueue(jobs.sync_calendar, str(_own_connection().id))
    flash("Refreshing your busy time: it is up to date within a few seconds.")
    return redirect_to(url_for("integrations.google_calendar"))


@bp.post("/settings/integrations/google-calendar/disconnect")
@login_required
def google_calendar_disconnect():
    """Forget the tokens and the busy time from Google."""
    google_calendar.disconnect(_own_connection())
    flash("Google Calendar disconnected: only your schedule decides your availability now.")
    return redirect_to(url_for("integrations.google_calendar"))


def _row_or_404(kind):
    row = store.integration_of(current_user.organization_id, kind)
    if row is None:
        abort(404)
    return row


@admin_required
def disconnect(kind):
    """Remove the integration and its stored secret."""
    store.remove(_row_or_404(kind))
    flash({"slack": "Slack", "discord": "Discord", "lead_push": "Lead push"}[kind] + " disconnected.")
    return redirect_to(url_for(f"integrations.{kind}_page"))


for _kind, _path in (("slack", "slack"), ("discord", "discord"), ("lead_push", "lead-push")):
    bp.add_url_rule(f"/settings/integrations/{_path}/disconnect", f"{_kind}_disconnect",
                    _bound(disconnect, _kind), methods=["POST"])


# --- Slack and Discord: one page and one save each, driven by CHATS ------------------------------------


@dataclass(frozen=True)
class Chat:
    """A chat app the call notifications go to, and what its page differs in."""

    kind: str
    name: str
    intro: str
    action: str  # the save's path, /settings/integrations/<kind>/<action>
    field: str  # the form's field that carries a refused save's reason
    form: Callable  # (saved row or None) -> the form as the page first shows it
    context: Callable  # (row, form) -> the page's own template values
    save: Callable  # (validated form) -> the flash; raises ValueError, Refused or IntegrationError


def _slack_context(row, form) -> dict:
    listed, error = _listed(row, slack.channels, store.remember_failure)
    form.channel_id.choices = [(c["id"], f"#{c['name']}") for c in listed]
    return {"error": error}


def _slack_save(form) -> str:
    row = _row_or_404("slack")
    slack.choose_channel(row, form.channel_id.data, slack.channels(row))
    return f"Alerts go to #{row.settings['channelName']}."


def _discord_save(form) -> str:
    discord.connect_url(current_user.organization_id, form.url.data)
    return "Discord connected: notifications go to that channel."


CHATS = {chat.kind: chat for chat in (
    Chat("slack", "Slack", "Send call notifications to your team's Slack channel so you never miss an "
         "incoming request.", "channel", "channel_id",
         lambda row: ChannelForm(channel_id=(row.settings or {}).get("channelId") if row else None),
         _slack_context, _slack_save),
    Chat("discord", "Discord", "Route call notifications to a Discord channel for quick visibility. Use a "
         "private channel for internal call routing.", "webhook", "url",
         lambda row: DiscordWebhookForm(),
         lambda row, form: {"api_url": current_app.config["DISCORD_API_URL"]}, _discord_save),
)}


def _chat_page(chat: Chat, form=None, status=200):
    row = store.integration_of(current_user.organization_id, chat.kind)
    form = form or chat.form(row)
    return render("integrations/chat.html", "integrations/_chat.html", status=status, chat=chat,
                  row=row, form=form, configured=oauth.is_configured(chat.kind), recent=_recent(row),
                  **chat.context(row, form))


def _recent(row):
    return recent_deliveries(row) if row is not None else []


@admin_required
def chat_page(kind):
    """Slack or Discord: connect, where the notifications go, what was sent lately."""
    return _chat_page(CHATS[kind])


@admin_required
def chat_save(kind):
    """Slack's channel for alerts, or a pasted Discord channel webhook URL (checked with Discord first)."""
    chat = CHATS[kind]
    form = chat.form(None)  # bound to what was posted
    if not form.validate_on_submit():
        return _chat_page(chat, form, 422)
    try:
        message = chat.save(form)
    except (ValueError, Refused, IntegrationError) as e:
        form[chat.field].errors.append(getattr(e, "message", None) or str(e))
        return _chat_page(chat, form, 422)
    flash(message)
    return redirect_to(url_for(f"integrations.{kind}_page"))


for _kind, _chat in CHATS.items():
    bp.add_url_rule(f"/settings/integrations/{_kind}", f"{_kind}_page", _bound(chat_page, _kind))
    bp.add_url_rule(f"/settings/integrations/{_kind}/{_chat.action}", f"{_kind}_{_chat.action}",
                    _bound(chat_save, _kind), methods=["POST"])


# --- Lead push --------------------------------------------------------------------------------------------


def _lead_page(form=None, status=200, tested=None):
    row = store.integration_of(current_user.organization_id, "lead_push")
    if form is None:
        settings = (row.settings or {}) if row else {}
        form = LeadPushForm(
            url=settings.get("url"),
            username=settings.get("username"),
            client_id=settings.get("clientId"),
            trigger=settings.get("trigger", "call.ended"),
            missing=settings.get("missing", "skip"),
        )
    return render(
        "integrations/lead_push.html",
        "integrations/_lead_push.html",
        status=status,
        row=row,
        form=form,
        recent=_recent(row),
        never_pushed=lead_push.never_pushed(current_user.organization_id),
        tested=tested,
    )


@bp.get("/settings/integrations/lead-push")
@admin_required
def lead_push_page():
    """Lead push: the endpoint each lead is POSTed to, with basic auth."""
    return _lead_page()


@bp.post("/settings/integrations/lead-push")
@admin_required
def lead_push_save():
    """Save the endpoint and its credentials (the password is stored encrypted)."""
    form = LeadPushForm()
    if not form.validate_on_submit():
        return _lead_page(form, 422)
    try:
        lead_push.configure(
            current_user.organization_id,
            form.url.data,
            form.username.data,
            form.password.data,
            form.client_id.data,
            form.trigger.data,
            form.missing.data,
        )
    except outbound.UnsafeURL as e:
        form.url.errors.append(str(e))
        return _lead_page(form, 422)
    except ValueError as e:
        form.password.errors.append(str(e))
        return _lead_page(form, 422)
    flash("Lead push saved: each lead is sent " + lead_push.TRIGGERS[form.trigger.data].lower() + ".")
    return redirect_to(url_for("integrations.lead_push_page"))


@bp.post("/settings/integrations/lead-push/test")
@admin_required
def lead_push_test():
    """Send a sample lead to the saved endpoint now and show how it answered."""
    row = store.integration_of(current_user.organization_id, "lead_push")
    if row is None:
        abort(404)
    return _lead_page(tested=lead_push.send_test(row))


# --- Zapier -----------------------------------------------------------------------------------------------

@bp.get("/settings/integrations/zapier")
@admin_required
def zapier_page():
    """How to connect Zapier, and the Zaps subscribed right now."""
    return render("integrations/zapier.html", "integrations/_zapier.html",
                  subscriptions=zapier_subscriptions(current_user.organization_id))
