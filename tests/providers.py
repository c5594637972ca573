"""Google, Slack, Discord and a lead endpoint, played by one real HTTP server on loopback.

Each speaks the real protocol of its part (OAuth 2 token and refresh grants, calendarList, freeBusy,
oauth.v2.access, conversations.list, chat.postMessage, Discord's webhook execute with 429 and
`retry_after`, a lead endpoint behind basic auth). `script(name, *replies)` makes a route answer
with the given (status, json, headers) replies in order before going back to normal.
"""

import base64
import threading
import time
from urllib.parse import parse_qs

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

CLIENTS = {
    "google": ("google-client", "google-secret"),
    "slack": ("slack-client", "slack-secret"),
    "discord": ("discord-client", "discord-secret"),
}
LEAD_AUTH = ("leaduser", "lead-pass")


class Providers:
    def __init__(self):
        self.requests: list[tuple[str, str, dict, dict | None]] = []  # (name, path, headers, json)
        self.scripts: dict[str, list] = {}
        self.revoked_refresh: set[str] = set()
        self.revoked_access: set[str] = set()
        self.issued = 0
        self.busy: dict[str, list[tuple[str, str]]] = {}
        self.app = self._build()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()

    def script(self, name: str, *replies):
        self.scripts[name] = list(replies)

    def seen(self, name: str) -> list:
        return [r for r in self.requests if r[0] == name]

    def config(self) -> dict:
        return {
            "GOOGLE_CLIENT_ID": CLIENTS["google"][0],
            "GOOGLE_CLIENT_SECRET": CLIENTS["google"][1],
            "GOOGLE_AUTHORIZE_URL": self.url + "/google/auth",
            "GOOGLE_TOKEN_URL": self.url + "/google/token",
            "GOOGLE_CALENDAR_API_URL": self.url + "/google/calendar/v3",
            "SLACK_CLIENT_ID": CLIENTS["slack"][0],
            "SLACK_CLIENT_SECRET": CLIENTS["slack"][1],
            "SLACK_AUTHORIZE_URL": self.url + "/slack/oauth/v2/authorize",
            "SLACK_API_URL": self.url + "/slack/api",
            "DISCORD_CLIENT_ID": CLIENTS["discord"][0],
            "DISCORD_CLIENT_SECRET": CLIENTS["discord"][1],
            "DISCORD_AUTHORIZE_URL": self.url + "/discord/oauth2/authorize",
            "DISCORD_API_URL": self.url + "/discord/api",
            "INTEGRATION_TIMEOUT_SECONDS": 2.0,
        }

    # --- helpers of the fake services ----------------------------------------------------------------

    def _record(self, name: str):
        body = request.get_json(silent=True)
        if body is None and request.form:
            body = request.form.to_dict()
        self.requests.append((name, request.full_path, dict(request.headers), body))

    def _scripted(self, name: str):
        replies = self.scripts.get(name)
        if replies:
            status, body, headers = replies.pop(0)
            return jsonify(body), status, headers
        return None

    def _client_ok(self, provider: str) -> bool:
        form = request.form
        return (form.get("client_id"), form.get("client_secret")) == CLIENTS[provider]

    def _bearer(self) -> str:
        return request.headers.get("Authorization", "").removeprefix("Bearer ").strip()

    def _new_token(self, prefix: str) -> str:
        self.issued += 1
        return f"{prefix}-{self.issued}"

    def _build(self) -> Flask:
        app = Flask("providers")
        p = self

        @app.post("/google/token")
        def google_token():
            p._record("google.token")
            if not p._client_ok("google"):
                return jsonify(error="invalid_client"), 401
            grant = request.form.get("grant_type")
            if grant == "authorization_code":
                code = request.form["code"]
                return jsonify(
                    access_token=p._new_token(f"ya29.{code}"),
                    expires_in=3599,
                    token_type="Bearer",
                    refresh_token=f"1//refresh-{code}",
                    scope="https://www.googleapis.com/auth/calendar.readonly",
                )
            if grant == "refresh_token":
                if request.form["refresh_token"] in p.revoked_refresh:
                    return jsonify(
                        error="invalid_grant", error_description="Token has been expired or revoked."
                    ), 400
                code = request.form["refresh_token"].removeprefix("1//refresh-")
                return jsonify(
                    access_token=p._new_token(f"ya29.{code}"),
                    expires_in=3599,
                    token_type="Bearer",
                    scope="https://www.googleapis.com/auth/calendar.readonly",
                )
            return jsonify(error="unsupported_grant_type"), 400

        def google_auth_error():
            token = p._bearer()
            if not token.startswith("ya29.") or token in p.revoked_access:
                return jsonify(
                    error={
                        "code": 401,
                        "message": "Request had invalid authentication credentials.",
                        "status": "UNAUTHENTICATED",
                    }
                ), 401
            return None

        @app.get("/google/calendar/v3/users/me/calendarList")
        def calendar_list():
            p._record("google.calendarList")
            failed = google_auth_error()
            if failed:
                return failed
            account = p._bearer().split(".")[1].rsplit("-", 1)[0]
            return jsonify(
                kind="calendar#calendarList",
                items=[
                    {
                        "id": f"{account}@example.com",
                        "summary": f"{account}@example.com",
                        "primary": True,
                        "accessRole": "owner",
                    },
                    {"id": "team@group.calendar.google.com", "summary": "Sales team", "accessRole": "reader"},
                ],
            )

        @app.post("/google/calendar/v3/freeBusy")
        def free_busy():
            p._record("google.freeBusy")
            failed = google_auth_error()
            if failed:
                return failed
            body = request.get_json()
            calendars = {
                item["id"]: {"busy": [{"start": s, "end": e} for s, e in p.busy.get(item["id"], [])]}
                for item in body["items"]
            }
            return jsonify(
                kind="calendar#freeBusy",
                timeMin=body["timeMin"],
                timeMax=body["timeMax"],
                calendars=calendars,
            )

        @app.post("/slack/api/oauth.v2.access")
        def slack_access():
            p._record("slack.access")
            if not p._client_ok("slack"):
                return jsonify(ok=False, error="invalid_client_id")
            team = request.form["code"]
            return jsonify(
                ok=True,
                access_token=f"xoxb-{team}",
                token_type="bot",
                scope="chat:write,channels:read",
                bot_user_id="U0BOT",
                app_id="A0APP",
                team={"id": f"T-{team}", "name": team.title()},
                enterprise=None,
                is_enterprise_install=False,
            )

        def slack_auth():
            token = p._bearer()
            if not token.startswith("xoxb-"):
                return None, jsonify(ok=False, error="not_authed")
            if token in p.revoked_access:
                return None, jsonify(ok=False, error="token_revoked")
            return token.removeprefix("xoxb-"), None

        @app.get("/slack/api/conversations.list")
        def slack_channels():
            p._record("slack.conversations.list")
            team, failed = slack_auth()
            if failed:
                return failed
            return jsonify(
                ok=True,
                channels=[
                    {"id": f"C-{team}-sales", "name": "sales-alerts", "is_channel": True},
                    {"id": f"C-{team}-general", "name": "general", "is_channel": True},
                ],
                response_metadata={"next_cursor": ""},
            )

        @app.post("/slack/api/chat.postMessage")
        def slack_post():
            p._record("slack.postMessage")
            scripted = p._scripted("slack.postMessage")
            if scripted:
                return scripted
            team, failed = slack_auth()
            if failed:
                return failed
            channel = request.get_json()["channel"]
            if not channel.startswith(f"C-{team}-"):
                return jsonify(ok=False, error="channel_not_found")
            return jsonify(ok=True, channel=channel, ts=f"{time.time():.6f}")

        @app.post("/discord/api/oauth2/token")
        def discord_token():
            p._record("discord.token")
            if not p._client_ok("discord"):
                return jsonify(error="invalid_client"), 401
            code = request.form["code"]
            return jsonify(
                access_token=f"discord-{code}",
                token_type="Bearer",
                expires_in=604800,
                refresh_token="r",
                scope="webhook.incoming",
                webhook={
                    "id": "9001",
                    "token": f"tok-{code}",
                    "type": 1,
                    "name": "Converc",
                    "channel_id": "c-1",
                    "guild_id": "g-1",
                    "url": f"{p.url}/discord/api/webhooks/9001/tok-{code}",
                },
            )

        @app.get("/discord/api/webhooks/<webhook_id>/<token>")
        def discord_webhook_info(webhook_id, token):
            if not token.startswith("tok-"):
                return jsonify(message="Unknown Webhook", code=10015), 404
            return jsonify(
                id=webhook_id, type=1, name="Alerts hook", channel_id="c-2", guild_id="g-1", token=token
            )

        @app.post("/discord/api/webhooks/<webhook_id>/<token>")
        def discord_execute(webhook_id, token):
            p._record("discord.execute")
            scripted = p._scripted("discord.execute")
            if scripted:
                return scripted
            if not token.startswith("tok-"):
                return jsonify(message="Unknown Webhook", code=10015), 404
            return jsonify(id="m-1", channel_id="c-1", embeds=request.get_json().get("embeds", []))

        @app.post("/lead")
        def lead():
            p._record("lead")
            auth = request.headers.get("Authorization", "")
            expected = "Basic " + base64.b64encode(":".join(LEAD_AUTH).encode()).decode()
            if auth != expected:
                return jsonify(status="401", message="Invalid credentials"), 401
            scripted = p._scripted("lead")
            if scripted:
                return scripted
            if not (request.get_json() or {}).get("email"):
                return jsonify(status="400", message="Missing required field: email"), 400
            return jsonify(status="200", message="Lead received successfully")

        @app.errorhandler(Exception)
        def _unexpected(e):
            return jsonify(error=str(e)), getattr(e, "code", 500) or 500

        return app


def form_of(body: bytes) -> dict:
    return {k: v[0] for k, v in parse_qs(body.decode()).items()}
