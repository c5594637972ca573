"""A scratch app for the benches: BENCH_DATABASE_URL / BENCH_REDIS_URL, emptied first (so they
are not the app's DATABASE_URL and REDIS_URL: point them at scratch ones), else a temporary
SQLite file and an embedded Redis."""

import os
import tempfile


def scratch_app():
    """The app on an empty, migrated database and an empty Redis; the environment is set so that
    processes started from here (workers) use them too."""
    scratch = tempfile.mkdtemp()
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{scratch}/bench.db"
    if os.environ.get("BENCH_REDIS_URL"):
        os.environ["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
    else:
        from app.redis_store import embedded_url

        os.environ["REDIS_URL"] = embedded_url(scratch)  # the workers attach to its socket
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    app = create_app()
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
        app.extensions["redis"].flushdb()
    return app


def stop_embedded_redis(app) -> None:
    """Shut down the embedded Redis scratch_app started (none when BENCH_REDIS_URL is set)."""
    if os.environ.get("BENCH_REDIS_URL"):
        return
    import contextlib

    import redis

    with app.app_context(), contextlib.suppress(redis.exceptions.ConnectionError):
        app.extensions["redis"].shutdown(nosave=True)
