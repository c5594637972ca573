"""Settings → Integrations pages of the connections: Google Calendar, Slack, Discord, lead push."""

import functools

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


def _calendar_page(form=None, status=200, error=None):
    conn = google_calendar.connection_of(current_user.id)
    listed = []
    if conn is not None and conn.status == "connected":
        try:
            listed = google_calendar.calendars(conn)
        except Refused as e:
            google_calendar.remember_failure(conn, e)
        except IntegrationError as e:
            error = str(e)
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
    enqueue(jobs.sync_calendar, str(conn.id))
    flash(f"Syncing {conn.calendar_name}: busy time shows within a minute.")
    return redirect_to(url_for("integrations.google_calendar"))


@bp.post("/settings/integrations/google-calendar/refresh")
@login_required
def google_calendar_refresh():
    """Read the calendar's busy time again now."""
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


# --- Slack ------------------------------------------------------------------------------------------------


def _slack_page(form=None, status=200):
    row, listed, error = store.integration_of(current_user.organization_id, "slack"), [], None
    if row is not None and row.status == "connected":
        try:
            listed = slack.channels(row)
        except Refused as e:
            store.remember_failure(row, e)
        except IntegrationError as e:
            error = str(e)
    form = form or ChannelForm(channel_id=(row.settings or {}).get("channelId") if row else None)
    form.channel_id.choices = [(c["id"], f"#{c['name']}") for c in listed]
    return render(
        "integrations/slack.html",
        "integrations/_slack.html",
        status=status,
        row=row,
        form=form,
        error=error,
        configured=oauth.is_configured("slack"),
        recent=_recent(row),
    )


def _recent(row):
    return recent_deliveries(row) if row is not None else []


@bp.get("/settings/integrations/slack")
@admin_required
def slack_page():
    """Slack: install, the alerts channel, what was sent lately."""
    return _slack_page()


@bp.post("/settings/integrations/slack/channel")
@admin_required
def slack_channel():
    """Send alerts to the chosen channel from now on."""
    row, form = _row_or_404("slack"), ChannelForm()
    if not form.validate_on_submit():
        return _slack_page(form, 422)
    try:
        slack.choose_channel(row, form.channel_id.data, slack.channels(row))
    except ValueError as e:
        form.channel_id.errors.append(str(e))
        return _slack_page(form, 422)
    except (Refused, IntegrationError) as e:
        form.channel_id.errors.append(getattr(e, "message", str(e)))
        return _slack_page(form, 422)
    flash(f"Alerts go to #{row.settings['channelName']}.")
    return redirect_to(url_for("integrations.slack_page"))


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
    return redirect_to(
        url_for(
            {
                "slack": "integrations.slack_page",
                "discord": "integrations.discord_page",
                "lead_push": "integrations.lead_push_page",
            }[kind]
        )
    )


for _kind, _path in (("slack", "slack"), ("discord", "discord"), ("lead_push", "lead-push")):
    bp.add_url_rule(f"/settings/integrations/{_path}/disconnect", f"{_kind}_disconnect",
                    _bound(disconnect, _kind), methods=["POST"])


# --- Discord ----------------------------------------------------------------------------------------------


def _discord_page(form=None, status=200):
    row = store.integration_of(current_user.organization_id, "discord")
    return render(
        "integrations/discord.html",
        "integrations/_discord.html",
        status=status,
        row=row,
        form=form or DiscordWebhookForm(),
        configured=oauth.is_configured("discord"),
        recent=_recent(row),
        api_url=current_app.config["DISCORD_API_URL"],
    )


@bp.get("/settings/integrations/discord")
@admin_required
def discord_page():
    """Discord: connect a server and channel, or paste a channel webhook URL."""
    return _discord_page()


@bp.post("/settings/integrations/discord/webhook")
@admin_required
def discord_webhook():
    """Use a pasted channel webhook URL (checked with Discord first)."""
    form = DiscordWebhookForm()
    if not form.validate_on_submit():
        return _discord_page(form, 422)
    try:
        discord.connect_url(current_user.organization_id, form.url.data)
    except ValueError as e:
        form.url.errors.append(str(e))
        return _discord_page(form, 422)
    flash("Discord connected: notifications go to that channel.")
    return redirect_to(url_for("integrations.discord_page"))


# --- Lead push --------------------------------------------------------------------------------------------


def _lead_page(form=None, status=200):
    row = store.integration_of(current_user.organization_id, "lead_push")
    if form is None:
        settings = (row.settings or {}) if row else {}
        form = LeadPushForm(
            url=settings.get("url"),
            username=settings.get("username"),
            client_id=settings.get("clientId"),
            trigger=settings.get("trigger", "call.ended"),
        )
    return render(
        "integrations/lead_push.html",
        "integrations/_lead_push.html",
        status=status,
        row=row,
        form=form,
        recent=_recent(row),
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
        )
    except outbound.UnsafeURL as e:
        form.url.errors.append(str(e))
        return _lead_page(form, 422)
    except ValueError as e:
        form.password.errors.append(str(e))
        return _lead_page(form, 422)
    flash("Lead push saved: each lead is sent " + lead_push.TRIGGERS[form.trigger.data].lower() + ".")
    return redirect_to(url_for("integrations.lead_push_page"))


# --- Zapier -----------------------------------------------------------------------------------------------

@bp.get("/settings/integrations/zapier")
@admin_required
def zapier_page():
    """How to connect Zapier, and the Zaps subscribed right now."""
    return render("integrations/zapier.html", "integrations/_zapier.html",
                  subscriptions=zapier_subscriptions(current_user.organization_id))
