"""Configuration: every environment variable the app reads is read here."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str) -> list[str]:
    return [item for item in os.environ.get(name, "").replace(",", " ").split() if item]


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{INSTANCE / 'converc.db'}"
    # Heroku-style URLs name the old driver; we ship psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def from_env() -> dict:
    """Read the environment once, when an app is created (never at import time)."""
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY", "dev-only-change-me"),
        "SQLALCHEMY_DATABASE_URI": _database_url(),
        # room for a worker's WORKER_THREADS jobs and a web process's threads to each hold a connection
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "max_overflow": 30,
                                      "pool_size": int(os.environ.get("DB_POOL_SIZE", "10"))},
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        # an unreachable Redis (not just a stopped one) must fail fast: requests then degrade
        "REDIS_CONNECT_TIMEOUT_SECONDS": float(os.environ.get("REDIS_CONNECT_TIMEOUT_SECONDS", "2")),
        # connections a process may open to Redis; past it a thread waits (up to the timeout) for one
        # to be free instead of failing (a burst of reps reconnecting at once)
        "REDIS_MAX_CONNECTIONS": int(os.environ.get("REDIS_MAX_CONNECTIONS", "200")),
        "REDIS_POOL_TIMEOUT_SECONDS": float(os.environ.get("REDIS_POOL_TIMEOUT_SECONDS", "10")),
        # websockets (dashboards, calls) one web process holds; past it new ones are closed with 1013.
        # Each holds a gthread thread: under gunicorn it defaults to --threads less a reserve for HTTP
        # (deploy/gunicorn.conf.py); 1000 elsewhere
        "WEBSOCKET_LIMIT": int(os.environ.get("WEBSOCKET_LIMIT", "1000")),
        # the largest request body (recording chunks have their own limit, RECORDING_CHUNK_MAX_BYTES)
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", str(1024 * 1024))),
        "BASE_URL": os.environ.get("BASE_URL", "").rstrip("/"),
        # reverse proxies in front of the app: X-Forwarded-For/-Proto/-Host/-Port are believed
        # from this many hops only (0: never, so a client cannot spoof its address)
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "587")),
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_FROM": os.environ.get("SMTP_FROM", "Converc <no-reply@localhost>"),
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS", True),
        # /metrics: a Bearer token, and/or the networks that may scrape without one
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),
        "METRICS_ALLOWED_NETWORKS": _list("METRICS_ALLOWED_NETWORKS")
        if "METRICS_ALLOWED_NETWORKS" in os.environ else ["127.0.0.0/8", "::1/128"],
        # prometheus-client's own variable: several gunicorn workers write their metrics there
        "PROMETHEUS_MULTIPROC_DIR": os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""),
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", False),
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        # `make run` turns it on: /demo is a stand-in customer page with the demo site's widget
        "DEMO_PAGE": _bool("DEMO_PAGE"),
        "PASSWORD_RESET_SECONDS": int(os.environ.get("PASSWORD_RESET_SECONDS", "3600")),
        "PASSWORD_RESET_RATE_LIMIT": os.environ.get("PASSWORD_RESET_RATE_LIMIT", "5 per hour"),
        "INVITE_TTL_HOURS": int(os.environ.get("INVITE_TTL_HOURS", "72")),
        # the visitor's country from a trusted proxy header (e.g. CF-IPCountry), or a .mmdb file
        "COUNTRY_HEADER": os.environ.get("COUNTRY_HEADER", ""),
        "GEOIP_DB_PATH": os.environ.get("GEOIP_DB_PATH", ""),
        # the widget's public endpoints: per-IP limits well above any real visitor's rate
        "WIDGET_RATE_LIMIT": os.environ.get("WIDGET_RATE_LIMIT", "300 per minute"),
        # where those are counted: "memory" (each web process, no round trip) or "redis" (exact)
        "WIDGET_RATE_LIMIT_STORAGE": os.environ.get("WIDGET_RATE_LIMIT_STORAGE", "memory"),
        "QUALIFY_RATE_LIMIT": os.environ.get("QUALIFY_RATE_LIMIT", "30 per minute"),
        # browsers reuse /widget/config this long (then revalidate with its ETag)
        "WIDGET_CONFIG_MAX_AGE": int(os.environ.get("WIDGET_CONFIG_MAX_AGE", "0")),
        # safety net: the per-site cache in Redis is dropped on every save, and at the latest after this
        "WIDGET_CONFIG_CACHE_SECONDS": int(os.environ.get("WIDGET_CONFIG_CACHE_SECONDS", "3600")),
        # each web process remembers a site's config and availability this long (0: not at all)
        "WIDGET_LOCAL_CACHE_SECONDS": float(os.environ.get("WIDGET_LOCAL_CACHE_SECONDS", "2")),
        # ...for at most this many sites and organizations (least recently used ones forgotten first)
        # /widget/config's analytics counts are sent to Redis in batches this often (0: one by one)
        "ANALYTICS_FLUSH_SECONDS": float(os.environ.get("ANALYTICS_FLUSH_SECONDS", "1")),
        "WIDGET_LOCAL_CACHE_ENTRIES": int(os.environ.get("WIDGET_LOCAL_CACHE_ENTRIES", "50000")),
        "WIDGET_SCRIPT_MAX_AGE": int(os.environ.get("WIDGET_SCRIPT_MAX_AGE", "300")),
        # an open widget re-checks availability this often while its page is visible (0: never)
        "WIDGET_LIVE_POLL_SECONDS": int(os.environ.get("WIDGET_LIVE_POLL_SECONDS", "10")),
        # ctx.log() lines and errors kept per custom script and minute, from all browsers together
        "CUSTOM_SCRIPT_REPORTS_PER_MINUTE": int(os.environ.get("CUSTOM_SCRIPT_REPORTS_PER_MINUTE", "60")),
        "RQ_QUEUES": os.environ.get("RQ_QUEUES", "default").split(","),
        # comma-separated Fernet keys (first encrypts, all decrypt); unset: derived from SECRET_KEY
        "ENCRYPTION_KEYS": _list("ENCRYPTION_KEYS"),
        "WORKER_THREADS": int(os.environ.get("WORKER_THREADS", "16")),
        # RQ logs four lines per job at INFO: real CPU at webhook volumes (deliveries are logged in the db)
        "WORKER_LOG_LEVEL": os.environ.get("WORKER_LOG_LEVEL", "WARNING").upper(),
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "600 per minute"),
        "WEBHOOK_TIMEOUT_SECONDS": float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "8")),
        "WEBHOOK_ALLOW_HTTP": _bool("WEBHOOK_ALLOW_HTTP", False),
        # CIDRs webhook URLs may reach although they are not public, e.g. 10.0.0.0/8 on a private network
        "WEBHOOK_ALLOWED_NETWORKS": _list("WEBHOOK_ALLOWED_NETWORKS"),
        "WEBHOOK_ENDPOINT_CONCURRENCY": int(os.environ.get("WEBHOOK_ENDPOINT_CONCURRENCY", "8")),
        "WEBHOOK_SLOT_WAIT_SECONDS": float(os.environ.get("WEBHOOK_SLOT_WAIT_SECONDS", "2")),
        "WEBHOOK_LOG_RETENTION_DAYS": int(os.environ.get("WEBHOOK_LOG_RETENTION_DAYS", "30")),
        "WEBHOOK_DISABLE_AFTER_DAYS": float(os.environ.get("WEBHOOK_DISABLE_AFTER_DAYS", "5")),
        # a cached "is anyone available" answer is dropped by every change and ends at its next boundary
        # (an interval ending); this only bounds how long one a missed invalidation left stale can live
        "AVAILABILITY_CACHE_SECONDS": int(os.environ.get("AVAILABILITY_CACHE_SECONDS", "86400")),
        # rep.availability_changed waits this long so a page reload (socket closed and reopened) says nothing
        "IDEMPOTENCY_TTL_HOURS": float(os.environ.get("IDEMPOTENCY_TTL_HOURS", "24")),
        "AVAILABILITY_EVENT_DEBOUNCE_SECONDS": float(
            os.environ.get("AVAILABILITY_EVENT_DEBOUNCE_SECONDS", "10")),
        # live calls: abuse limits (Flask-Limiter syntax) and how long a call token opens the call socket
        # met when the visitor qualifies: per address (an office shares one) and per visitor fingerprint
        "CALL_RATE_LIMIT_PER_IP": os.environ.get("CALL_RATE_LIMIT_PER_IP", "20 per hour"),
        "CALL_RATE_LIMIT_PER_VISITOR": os.environ.get("CALL_RATE_LIMIT_PER_VISITOR", "5 per hour"),
        # call requests one qualification may make (retries after a missed call or a denied camera)
        "CALLS_PER_QUALIFICATION": int(os.environ.get("CALLS_PER_QUALIFICATION", "3")),
        # visitors leaving their details for a callback, per address
        "CALLBACK_RATE_LIMIT": os.environ.get("CALLBACK_RATE_LIMIT", "10 per hour"),
        "CALL_RATE_LIMIT_PER_SITE": os.environ.get("CALL_RATE_LIMIT_PER_SITE", "300 per hour"),
        "CALL_TOKEN_TTL_SECONDS": int(os.environ.get("CALL_TOKEN_TTL_SECONDS", "1800")),
        # a visitor who reloads or moves to another page of the site mid-call gets this long to rejoin
        # (a closed tab ends the call after it); the rep's side gets CALL_REP_GRACE_SECONDS
        "CALL_REJOIN_SECONDS": int(os.environ.get("CALL_REJOIN_SECONDS", "30")),
        "CALL_REP_GRACE_SECONDS": int(os.environ.get("CALL_REP_GRACE_SECONDS", "30")),
        # ICE servers for WebRTC: space/comma separated URLs; TURN credentials static or coturn REST
        "ICE_STUN_URLS": _list("ICE_STUN_URLS"),
        "ICE_TURN_URLS": _list("ICE_TURN_URLS"),
        "ICE_TURN_USERNAME": os.environ.get("ICE_TURN_USERNAME", ""),
        "ICE_TURN_CREDENTIAL": os.environ.get("ICE_TURN_CREDENTIAL", ""),
        "ICE_TURN_SECRET": os.environ.get("ICE_TURN_SECRET", ""),
        "ICE_TURN_TTL_SECONDS": int(os.environ.get("ICE_TURN_TTL_SECONDS", "86400")),
        # "relay": browsers send media only through TURN (hides their addresses; tests prove TURN works)
        "ICE_TRANSPORT_POLICY": "relay"
        if os.environ.get("ICE_TRANSPORT_POLICY", "").strip().lower() == "relay" else "all",
        **_owed_work(),
        **_recordings(),
        **_integrations(),
        **_automations(),
    }


def _automations() -> dict:
    """Automation rules: retries of a failing action (RQ's Retry, seconds apart), pausing a rule."""
    return {
        "AUTOMATION_RETRY_INTERVALS": [
            float(s) for s in _list("AUTOMATION_RETRY_INTERVALS") or ["30", "120", "600"]],
        "AUTOMATION_PAUSE_AFTER": int(os.environ.get("AUTOMATION_PAUSE_AFTER", "5")),
        "AUTOMATION_LOG_RETENTION_DAYS": int(os.environ.get("AUTOMATION_LOG_RETENTION_DAYS", "30")),
    }


def _owed_work() -> dict:
    """How fast owed work (rows with a due time) is picked up again after Redis or a worker failed."""
    return {
        # cron.py runs the passes over overdue rows this often, and a pass takes what is overdue by
        # at least this much (the prompt RQ job had its chance): work resumes within about twice
        # this after a fault ends (default 15 s: within 60 s with cron.py's reconnect and a worker's start)
        "OWED_SWEEP_SECONDS": float(os.environ.get("OWED_SWEEP_SECONDS", "15")),
        "ANALYTICS_ROLLUP_SECONDS": float(os.environ.get("ANALYTICS_ROLLUP_SECONDS", "60")),
        # SQLite only: how long a connection waits for another's write lock before "database is locked"
        "SQLITE_BUSY_TIMEOUT_SECONDS": float(os.environ.get("SQLITE_BUSY_TIMEOUT_SECONDS", "30")),
    }


def _integrations() -> dict:
    """OAuth apps ({NAME}_CLIENT_ID / _SECRET, read by Authlib) and every provider base URL."""
    env = os.environ.get
    return {
        "GOOGLE_CLIENT_ID": env("GOOGLE_CLIENT_ID", ""),
        "GOOGLE_CLIENT_SECRET": env("GOOGLE_CLIENT_SECRET", ""),
        "GOOGLE_AUTHORIZE_URL": env("GOOGLE_AUTHORIZE_URL", "https://accounts.google.com/o/oauth2/v2/auth"),
        "GOOGLE_TOKEN_URL": env("GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token"),
        "GOOGLE_CALENDAR_API_URL": env("GOOGLE_CALENDAR_API_URL",
                                       "https://www.googleapis.com/calendar/v3").rstrip("/"),
        # how far ahead busy time is read, and how often every connected calendar is read again
        "CALENDAR_SYNC_DAYS": int(env("CALENDAR_SYNC_DAYS", "14")),
        "CALENDAR_SYNC_CRON": env("CALENDAR_SYNC_CRON", "*/5 * * * *"),
        "SLACK_CLIENT_ID": env("SLACK_CLIENT_ID", ""),
        "SLACK_CLIENT_SECRET": env("SLACK_CLIENT_SECRET", ""),
        "SLACK_AUTHORIZE_URL": env("SLACK_AUTHORIZE_URL", "https://slack.com/oauth/v2/authorize"),
        "SLACK_API_URL": env("SLACK_API_URL", "https://slack.com/api").rstrip("/"),
        "DISCORD_CLIENT_ID": env("DISCORD_CLIENT_ID", ""),
        "DISCORD_CLIENT_SECRET": env("DISCORD_CLIENT_SECRET", ""),
        "DISCORD_AUTHORIZE_URL": env("DISCORD_AUTHORIZE_URL", "https://discord.com/oauth2/authorize"),
        "DISCORD_API_URL": env("DISCORD_API_URL", "https://discord.com/api").rstrip("/"),
        # timeout of each request to Google, Slack, Discord and lead endpoints
        "INTEGRATION_TIMEOUT_SECONDS": float(env("INTEGRATION_TIMEOUT_SECONDS", "10")),
    }


def _recordings() -> dict:
    """Call recording storage, upload limits, media URL expiry, retention and transcription."""
    return {
        "RECORDINGS_DIR": os.environ.get("RECORDINGS_DIR", str(INSTANCE / "recordings")),
        "RECORDINGS_S3_BUCKET": os.environ.get("RECORDINGS_S3_BUCKET", ""),
        "RECORDINGS_S3_PREFIX": os.environ.get("RECORDINGS_S3_PREFIX", "recordings/"),
        "RECORDINGS_S3_ENDPOINT_URL": os.environ.get("RECORDINGS_S3_ENDPOINT_URL") or None,
        "RECORDINGS_S3_REGION": os.environ.get("RECORDINGS_S3_REGION") or None,
        # unset: boto3's usual chain (AWS_* variables, instance roles, ~/.aws)
        "RECORDINGS_S3_ACCESS_KEY_ID": os.environ.get("RECORDINGS_S3_ACCESS_KEY_ID") or None,
        "RECORDINGS_S3_SECRET_ACCESS_KEY": os.environ.get("RECORDINGS_S3_SECRET_ACCESS_KEY") or None,
        "RECORDING_CHUNK_MAX_BYTES": int(os.environ.get("RECORDING_CHUNK_MAX_BYTES", str(8 * 1024 * 1024))),
        "RECORDING_TRACK_MAX_BYTES": int(os.environ.get("RECORDING_TRACK_MAX_BYTES", str(1024 ** 3))),
        "RECORDING_UPLOAD_TOKEN_TTL": int(os.environ.get("RECORDING_UPLOAD_TOKEN_TTL", "14400")),
        "RECORDING_URL_TTL_SECONDS": int(os.environ.get("RECORDING_URL_TTL_SECONDS", "86400")),
        # after call.ended, the server assembles what arrived if the rep's browser never said "complete"
        "RECORDING_FINISH_GRACE_SECONDS": int(os.environ.get("RECORDING_FINISH_GRACE_SECONDS", "60")),
        "RECORDING_RETENTION_DAYS": int(os.environ.get("RECORDING_RETENTION_DAYS", "90")),
        "WHISPER_MODEL_PATH": os.environ.get("WHISPER_MODEL_PATH", ""),
        "WHISPER_COMPUTE_TYPE": os.environ.get("WHISPER_COMPUTE_TYPE", "int8"),
        "TRANSCRIPT_LANGUAGE": os.environ.get("TRANSCRIPT_LANGUAGE", "en"),
    }


DEFAULTS = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
    "RATELIMIT_HEADERS_ENABLED": True,
    # Redis down: rate limits fail open (Flask-Limiter logs each miss) rather than refuse everyone
    "RATELIMIT_SWALLOW_ERRORS": True,
    # flask-sock: ping every socket so a vanished client is noticed and its presence dropped
    "SOCK_SERVER_OPTIONS": {"ping_interval": 25},
}
