"""Slack, per organization: OAuth v2 install, the alerts channel, chat.postMessage."""

import requests
from authlib.common.errors import AuthlibBaseError
from flask import current_app

from app.integrations import oauth, store
from app.integrations.errors import IntegrationError, RateLimited, Refused, retry_after_seconds
from app.integrations.messages import Message
from app.models import Integration

# Slack's errors that mean the token no longer works: the admin has to reinstall
REVOKED_ERRORS = {
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "no_permission",
    "missing_scope",
    "team_access_not_granted",
}
CHANNEL_ERRORS = {
    "channel_not_found": "The alerts channel no longer exists. Pick another channel.",
    "not_in_channel": "The Converc app is not in the alerts channel: invite it (/invite @Converc) "
    "or pick another channel.",
    "is_archived": "The alerts channel is archived. Pick another channel.",
}


def connect(organization_id, token: dict) -> Integration:
    """Keep the bot token of a finished install; the channel is picked next."""
    team = token.get("team") or {}
    secret = _token_secret(token)
    previous = store.integration_of(organization_id, "slack")
    settings = {"teamId": team.get("id"), "teamName": team.get("name"), "botUserId": token.get("bot_user_id")}
    if previous and (previous.settings or {}).get("teamId") == team.get("id"):
        # reinstalling into the same workspace keeps the channel
        settings.update({k: previous.settings.get(k) for k in ("channelId", "channelName")})
    return store.save(organization_id, "slack", settings, secret)


def _token_secret(token: dict) -> dict:
    # Slack says token_type "bot"; the token is sent as a Bearer token all the same
    kept = {k: token[k] for k in ("access_token", "refresh_token", "expires_at") if token.get(k)}
    return {**kept, "token_type": "Bearer"}


def _call(row: Integration, method: str, http: str = "POST", **kwargs) -> dict:
    """One Web API method with the organization's own token (refreshed if Slack rotates tokens)."""

    def update_token(token, refresh_token=None, access_token=None):
        store.save_secret(row, _token_secret(token))

    session = oauth.session("slack", store.secret_of(row), update_token)
    url = f"{current_app.config['SLACK_API_URL']}/{method}"
    try:
        resp = session.request(http, url, timeout=current_app.config["INTEGRATION_TIMEOUT_SECONDS"], **kwargs)
    except AuthlibBaseError as e:
        raise Refused("Slack refused to renew access. Reconnect Slack.", broken=True) from e
    except requests.RequestException as e:
        raise IntegrationError(f"Slack did not answer: {e}") from e
    if resp.status_code == 429:
        raise RateLimited(retry_after_seconds(resp.headers.get("Retry-After")))
    if resp.status_code >= 500:
        raise IntegrationError(f"Slack answered HTTP {resp.status_code}")
    body = resp.json()
    if not body.get("ok"):
        error = body.get("error", "unknown_error")
        if error in REVOKED_ERRORS:
            raise Refused(f"Slack refused the token ({error}). Reconnect Slack.", broken=True)
        if error == "ratelimited":
            raise RateLimited(retry_after_seconds(resp.headers.get("Retry-After")))
        raise Refused(CHANNEL_ERRORS.get(error, f"Slack answered {error}."))
    return body


def channels(row: Integration) -> list[dict]:
    """Channels the app can post to, by name."""
    found, cursor = [], None
    while True:
        params = {"types": "public_channel,private_channel", "exclude_archived": "true", "limit": 200}
        body = _call(
            row, "conversations.list", "GET", params={**params, **({"cursor": cursor} if cursor else {})}
        )
        found += [{"id": c["id"], "name": c["name"]} for c in body.get("channels", [])]
        cursor = (body.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return sorted(found, key=lambda c: c["name"])


def choose_channel(row: Integration, channel_id: str, listed: list[dict]) -> None:
    chosen = next((c for c in listed if c["id"] == channel_id), None)
    if chosen is None:
        raise ValueError("Pick one of the workspace's channels.")
    store.update_settings(row, channelId=chosen["id"], channelName=chosen["name"])
    store.remember_success(row)


def ready(row: Integration) -> bool:
    return row.status == "connected" and bool((row.settings or {}).get("channelId"))


def _escape(text: str) -> str:
    # Slack's mrkdwn: only these three must be escaped
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(message: Message) -> dict:
    """chat.postMessage's text (notifications, fallback) and blocks."""
    lines = [f"*{_escape(message.title)}*"] + [f"*{_escape(k)}:* {_escape(v)}" for k, v in message.fields]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}]
    if message.link:
        label, url = message.link
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": label},
                        "url": url,
                        **({"style": "primary"} if message.urgent else {}),
                    }
                ],
            }
        )
    return {"text": message.title, "blocks": blocks, "unfurl_links": False}


def send(row: Integration, message: Message) -> None:
    _call(row, "chat.postMessage", json={"channel": row.settings["channelId"], **render(message)})


def post_text(row: Integration, channel_id: str, text: str) -> None:
    """A plain message to any channel of the workspace (automation rules write their own text)."""
    _call(row, "chat.postMessage", json={"channel": channel_id, "text": text, "unfurl_links": False})
