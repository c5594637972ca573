"""Migrations match the models; jobs run on a real worker; the demo seed is idempotent."""

import json

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db
from app.jobs import enqueue


def test_migrations_match_models(app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == [], "models and migrations differ: run `flask db migrate -m '...'`"


def record_in_redis(key: str, value: str) -> str:
    """A job for the test: it writes where the test can see it."""
    from app.redis_store import get_redis

    get_redis().set(key, value)
    return value


def test_a_real_worker_runs_an_enqueued_job(app):
    from rq import SimpleWorker

    job = enqueue(record_in_redis, "job-test", "ran")
    SimpleWorker(["default"], connection=app.extensions["redis"]).work(burst=True)
    assert app.extensions["redis"].get("job-test") == b"ran"
    job.refresh()
    assert job.get_status() == "finished"


def test_seed_demo_is_idempotent(runner):
    first = json.loads(runner.invoke(args=["seed-demo"]).output)
    second = json.loads(runner.invoke(args=["seed-demo"]).output)
    assert first == second
    assert {u["role"] for u in first["users"]} == {"admin", "rep"}
    assert first["site"]["publicKey"].startswith("pk_")


def test_demo_login_works(runner, auth):
    out = json.loads(runner.invoke(args=["seed-demo"]).output)
    user = out["users"][0]
    assert auth.login(user["email"], user["password"]).status_code == 302
