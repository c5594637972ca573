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
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "BASE_URL": os.environ.get("BASE_URL", "").rstrip("/"),
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "587")),
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_FROM": os.environ.get("SMTP_FROM", "Converc <no-reply@localhost>"),
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS", True),
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", False),
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
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
        "WIDGET_CONFIG_MAX_AGE": int(os.environ.get("WIDGET_CONFIG_MAX_AGE", "10")),
        # safety net: the per-site cache in Redis is dropped on every save, and at the latest after this
        "WIDGET_CONFIG_CACHE_SECONDS": int(os.environ.get("WIDGET_CONFIG_CACHE_SECONDS", "3600")),
        # each web process remembers a site's config and availability this long (0: not at all)
        "WIDGET_LOCAL_CACHE_SECONDS": float(os.environ.get("WIDGET_LOCAL_CACHE_SECONDS", "2")),
        "WIDGET_SCRIPT_MAX_AGE": int(os.environ.get("WIDGET_SCRIPT_MAX_AGE", "300")),
        "RQ_QUEUES": os.environ.get("RQ_QUEUES", "default").split(","),
    }


DEFAULTS = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
    "RATELIMIT_HEADERS_ENABLED": True,
}
