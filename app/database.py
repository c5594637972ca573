"""Database engine settings that depend on the database: SQLite (make run's default) needs a few.

SQLite allows one writer at a time. In WAL mode readers never wait for it and it never waits for
readers; a busy timeout makes a second writer wait its turn instead of failing at once with
"database is locked". Both are set on every new connection (WAL also stays set in the file).
"""

import sqlite3
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

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


_org_watchers: dict = {}  # session.info key -> (changes, then): one set of listeners per process


def after_commits_changing(key: str, changes, then) -> None:
    """Call `then(organization_id)` once per organization after each commit that flushed an
    object for which `changes(obj, deleted)` holds; nothing after a rollback. Hooking the session
    catches every writer, other features' too: no code path can forget. `key` names the
    transaction's pending organizations in session.info."""
    _org_watchers[key] = (changes, then)
    if not sa.event.contains(Session, "after_flush", _collect_changed_orgs):
        sa.event.listen(Session, "after_flush", _collect_changed_orgs)
        sa.event.listen(Session, "after_commit", _tell_changed_orgs)
        sa.event.listen(Session, "after_rollback", _forget_changed_orgs)


def _collect_changed_orgs(session, flush_context):
    flushed = [(obj, False) for obj in (*session.new, *session.dirty)]
    flushed += [(obj, True) for obj in session.deleted]
    for key, (changes, _) in _org_watchers.items():
        for obj, deleted in flushed:
            if changes(obj, deleted):
                # the loaded value only: touching an expired attribute here would query mid-flush
                org_id = sa.inspect(obj).dict.get("organization_id")
                if org_id is not None:
                    session.info.setdefault(key, set()).add(org_id)


def _tell_changed_orgs(session):
    for key, (_, then) in _org_watchers.items():
        for org_id in session.info.pop(key, ()):
            then(org_id)


def _forget_changed_orgs(session):
    for key in _org_watchers:
        session.info.pop(key, None)
