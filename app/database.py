"""Database engine settings that depend on the database: SQLite (make run's default) needs a few.

SQLite allows one writer at a time. In WAL mode readers never wait for it and it never waits for
readers; a busy timeout makes a second writer wait its turn instead of failing at once with
"database is locked". Both are set on every new connection (WAL also stays set in the file).
"""

import sqlite3
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from app.extensions import db


def init_database(app: Flask) -> None:
    """Before db.init_app: the SQLite file's folder exists (a fresh clone has no instance/)."""
    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        return
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    # sqlite3's `timeout` is SQLite's busy timeout: how long a writer waits for the lock
    options["connect_args"] = {**options.get("connect_args", {}),
                               "timeout": app.config["SQLITE_BUSY_TIMEOUT_SECONDS"]}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def commit_keeping_loaded() -> None:
    """Commit without expiring what the session has loaded: for a caller that goes on using rows
    it just wrote (or owns), where reading them again would only cost round trips."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
