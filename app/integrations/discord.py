"""Discord, per organization: a channel webhook (OAuth2 `webhook.incoming`, or a pasted URL); embeds."""

import re

import requests
from flask import current_app

from app.integrations import store
from app.integrations.errors import IntegrationError, RateLimited, Refused, retry_after_seconds
from app.integrations.messages import Message
from app.models import Integration

PERMISSIONS = (
    "Discord refused the message (HTTP {status}). Recheck channel permissions, or reconnect Discord."
)


def _webhook_pattern() -> re.Pattern:
    base = re.escape(current_app.config["DISCORD_API_URL"])
    return re.compile(rf"^{base}(?:/v\d+)?/webhooks/(\d+)/([\w-]+)/?$")


def check_url(url: str) -> str:
    """A channel webhook URL of the configured Discord, or ValueError saying what it should look like."""
    url = (url or "").strip()
    if not _webhook_pattern().match(url):
        raise ValueError(
            f"Paste a channel webhook URL: {current_app.config['DISCORD_API_URL']}/webhooks/…/… "
            "(Channel settings → Integrations → Webhooks → Copy Webhook URL)."
        )
    return url


def connect_url(organization_id, url: str) -> Integration:
    """Check the pasted webhook with Discord (it must exist) and keep it, encrypted."""
    url = check_url(url)
    try:
        resp = requests.get(url, timeout=current_app.config["INTEGRATION_TIMEOUT_SECONDS"])
    except requests.RequestException as e:
        raise ValueError(f"Discord did not answer: {e}") from e
    if resp.status_code != 200:
        raise ValueError("Discord does not know this webhook (it was deleted, or the URL is incomplete).")
    info = resp.json()
    return _save(organization_id, url, info, "url")


def connect_oauth(organization_id, token: dict) -> Integration:
    """The webhook Discord created for the server and channel the admin chose."""
    webhook = token.get("webhook") or {}
    if not webhook.get("url"):
        raise ValueError("Discord did not send a webhook: choose a server and channel, then authorize.")
    return _save(organization_id, check_url(webhook["url"]), webhook, "oauth")


def _save(organization_id, url: str, info: dict, how: str) -> Integration:
    settings = {
        "webhookName": info.get("name"),
        "channelId": info.get("channel_id"),
        "guildId": info.get("guild_id"),
        "connectedWith": how,
    }
    return store.save(organization_id, "discord", settings, {"url": url})


def ready(row: Integration) -> bool:
    return row.status == "connected"


def render(message: Message) -> dict:
    embed = {
        "title": message.title[:256],
        "color": message.color,
        "fields": [
            {"name": k[:256], "value": (v or "—")[:1024], "inline": False} for k, v in message.fields[:25]
        ],
    }
    if message.link:
        embed["url"] = message.link[1]
        embed["description"] = f"[{message.link[0]}]({message.link[1]})"
    # nobody is pinged by what a visitor typed
    return {"embeds": [embed], "allowed_mentions": {"parse": []}}


def send(row: Integration, message: Message) -> None:
    _post(row, render(message))


def post_text(row: Integration, text: str) -> None:
    """A plain message (automation rules write their own text); nobody is pinged by it."""
    _post(row, {"content": text[:2000], "allowed_mentions": {"parse": []}})


def _post(row: Integration, body: dict) -> None:
    url = store.secret_of(row)["url"]
    try:
        resp = requests.post(
            url,
            params={"wait": "true"},
            json=body,
            timeout=current_app.config["INTEGRATION_TIMEOUT_SECONDS"],
        )
    except requests.RequestException as e:
        raise IntegrationError(f"Discord did not answer: {e}") from e
    if resp.status_code == 429:
        raise RateLimited(retry_after_seconds(_retry_after(resp)))
    if resp.status_code >= 500:
        raise IntegrationError(f"Discord answered HTTP {resp.status_code}")
    if resp.status_code >= 400:
        raise Refused(
            PERMISSIONS.format(status=resp.status_code),
            resp.status_code,
            broken=resp.status_code in (401, 403, 404),
        )


def _retry_after(resp) -> float | None:
    """Discord's body says `retry_after` in seconds (with decimals); the header rounds it."""
    try:
        return float(resp.json()["retry_after"])
    except (ValueError, KeyError, TypeError):
        return resp.headers.get("Retry-After")
