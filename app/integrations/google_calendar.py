"""A rep's Google Calendar: connect (OAuth), pick a calendar, read its busy time into busy blocks."""

import json
from datetime import UTC, datetime, timedelta

import requests
import sqlalchemy as sa
from authlib.common.errors import AuthlibBaseError
from flask import current_app

from app.availability.service import invalidate, replace_busy_blocks
from app.crypto import decrypt, encrypt
from app.extensions import db
from app.integrations import oauth, store
from app.integrations.errors import IntegrationError, Refused
from app.models import BusyBlock, BusySync, CalendarConnection, User
from app.models.base import utcnow

SOURCE = "google_calendar"
REVOKED = "Google refused access: the connection was revoked or has expired. Reconnect to keep syncing."


def connection_of(user_id) -> CalendarConnection | None:
    return db.session.scalar(sa.select(CalendarConnection).where(CalendarConnection.user_id == user_id))


def connect(user: User, token: dict) -> CalendarConnection:
    """Store the tokens of a finished OAuth flow (encrypted), keeping a refresh token Google sent before."""
    conn = connection_of(user.id)
    if conn is None or conn.status != "connected":
        store.record(user.organization_id, "integration.connected", "google_calendar", user.id)
    conn = conn or CalendarConnection(organization_id=user.organization_id, user_id=user.id)
    _store_token(conn, token)
    conn.status, conn.last_error = "connected", None
    db.session.add(conn)
    db.session.commit()
    return conn


def _store_token(conn: CalendarConnection, token: dict) -> None:
    conn.access_token_encrypted = encrypt(token["access_token"])
    if token.get("refresh_token"):
        conn.refresh_token_encrypted = encrypt(token["refresh_token"])
    expires_at = token.get("expires_at") or (
        int(datetime.now(UTC).timestamp()) + int(token["expires_in"]) if token.get("expires_in") else None
    )
    conn.expires_at = int(expires_at) if expires_at else None


def _token(conn: CalendarConnection) -> dict:
    token = {"access_token": decrypt(conn.access_token_encrypted), "token_type": "Bearer"}
    if conn.refresh_token_encrypted:
        token["refresh_token"] = decrypt(conn.refresh_token_encrypted)
    if conn.expires_at:
        token["expires_at"] = conn.expires_at
    return token


def _request(conn: CalendarConnection, method: str, path: str, **kwargs) -> dict:
    """A Calendar API call with the rep's token, refreshed first when it has expired."""

    def update_token(token, refresh_token=None, access_token=None):
        _store_token(conn, token)
        db.session.commit()

    session = oauth.session("google", _token(conn), update_token)
    url = current_app.config["GOOGLE_CALENDAR_API_URL"] + path
    try:
        resp = session.request(
            method, url, timeout=current_app.config["INTEGRATION_TIMEOUT_SECONDS"], **kwargs
        )
    except AuthlibBaseError as e:  # the refresh was refused: invalid_grant means revoked
        raise Refused(REVOKED, broken=True) from e
    except requests.RequestException as e:
        raise IntegrationError(f"Google Calendar did not answer: {e}") from e
    if resp.status_code in (401, 403):
        raise Refused(REVOKED, resp.status_code, broken=True)
    if resp.status_code >= 400:
        raise IntegrationError(f"Google Calendar answered HTTP {resp.status_code}")
    return resp.json()


def calendars(conn: CalendarConnection) -> list[dict]:
    """The calendars the account can see (its own and shared team calendars), primary first."""
    items, page = [], None
    while True:
        params = {"minAccessRole": "freeBusyReader", **({"pageToken": page} if page else {})}
        body = _request(conn, "GET", "/users/me/calendarList", params=params)
        items += [
            {
                "id": c["id"],
                "name": c.get("summaryOverride") or c.get("summary") or c["id"],
                "primary": bool(c.get("primary")),
            }
            for c in body.get("items", [])
        ]
        page = body.get("nextPageToken")
        if not page:
            return sorted(items, key=lambda c: (not c["primary"], c["name"].lower()))


def choose_calendar(conn: CalendarConnection, calendar_id: str, listed: list[dict]) -> None:
    """Sync `calendar_id` from now on; the busy time of the previous one no longer counts."""
    chosen = next((c for c in listed if c["id"] == calendar_id), None)
    if chosen is None:
        raise ValueError("Choose one of your calendars.")
    if conn.calendar_id != calendar_id:
        _drop_blocks(conn.user_id)
    conn.calendar_id, conn.calendar_name = chosen["id"], chosen["name"]
    if chosen["primary"]:
        conn.account_email = chosen["id"]  # a primary calendar's id is the account's address
    db.session.commit()


def remember_failure(conn: CalendarConnection, error: Refused) -> None:
    conn.last_error = error.message
    if error.broken:
        conn.status = "broken"
    db.session.commit()


def sync(conn: CalendarConnection) -> int:
    """Read the chosen calendar's busy time for the next days and make it the rep's busy blocks."""
    if not conn.calendar_id or conn.status != "connected":
        return 0
    start = utcnow().replace(microsecond=0)
    end = start + timedelta(days=current_app.config["CALENDAR_SYNC_DAYS"])
    body = _request(
        conn,
        "POST",
        "/freeBusy",
        data=json.dumps(
            {"timeMin": _rfc3339(start), "timeMax": _rfc3339(end), "items": [{"id": conn.calendar_id}]}
        ),
        headers={"Content-Type": "application/json"},
    )
    found = body.get("calendars", {}).get(conn.calendar_id, {})
    if found.get("errors"):
        reason = found["errors"][0].get("reason", "unknown")
        raise Refused(f"Google Calendar cannot read this calendar ({reason}). Choose another one.")
    blocks = [(_parse(b["start"]), _parse(b["end"])) for b in found.get("busy", [])]
    stored = replace_busy_blocks(conn.user_id, SOURCE, start, end, blocks)
    conn.last_synced_at, conn.last_error = utcnow(), None
    db.session.commit()
    return stored


def disconnect(conn: CalendarConnection) -> None:
    """Forget the tokens and the busy time that came from this calendar."""
    user_id, organization_id = conn.user_id, conn.organization_id
    store.record(organization_id, "integration.disconnected", "google_calendar", user_id)
    _drop_blocks(user_id)
    db.session.delete(conn)
    db.session.commit()
    invalidate(organization_id)


def _drop_blocks(user_id) -> None:
    db.session.execute(sa.delete(BusyBlock).where(BusyBlock.user_id == user_id, BusyBlock.source == SOURCE))
    db.session.execute(sa.delete(BusySync).where(BusySync.user_id == user_id, BusySync.source == SOURCE))


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
