"""Fixtures: a real database (SQLite, or PostgreSQL from DATABASE_URL) built by the migrations,
a real Redis (REDIS_URL, else an embedded one), and helpers to act as a person would."""

import contextlib
import os
import re
import socket
import tempfile

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app import create_app
from app.auth.service import sign_up
from app.extensions import db
from app.models import User
from app.redis_store import embedded_url

PASSWORD = "correct-horse-battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    return os.environ.get("REDIS_URL") or embedded_url(str(tmp_path_factory.mktemp("redis")))


@pytest.fixture(scope="session")
def settings(database_url, redis_url, tmp_path_factory):
    """Config every test app gets; tests add their own on top with `make_app`."""
    from app.config import _database_url

    os.environ["DATABASE_URL"] = database_url
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": _database_url(),
        "REDIS_URL": redis_url,
        "SERVER_NAME": "converc.test",
        "BASE_URL": "http://converc.test",
        # never the checkout's instance/: several test runs may share a checkout (CI's lanes)
        "RECORDINGS_DIR": str(tmp_path_factory.mktemp("recordings")),
    }


@pytest.fixture(scope="session")
def schema(settings):
    """Build the schema from nothing with the migrations, once per run."""
    from flask_migrate import upgrade

    app = create_app(settings)
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
        db.engine.dispose()
    return True


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (its own `g` and db session), as in production,
    even while the test itself holds one open to query the database."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        # the request may have changed rows the test's own session holds: reload them on next use
        db.session.expire_all()
        return response


@pytest.fixture
def make_app(settings, schema):
    apps = []

    def make(**overrides):
        app = create_app({**settings, **overrides})
        app.test_client_class = IsolatedClient
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            _empty_tables()
            app.extensions["redis"].flushdb()
            db.engine.dispose()


def _empty_tables():
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


def pytest_configure(config):
    config.addinivalue_line("markers", "loopback_hooks: the test's `app` may send webhooks to loopback")


def pytest_sessionfinish(session, exitstatus):
    """A test that failed with a websocket client open would keep pytest from exiting
    (simple_websocket's client reads on a thread that is not a daemon): end those reads."""
    import gc

    from simple_websocket import Client

    for ws in [o for o in gc.get_objects() if isinstance(o, Client)]:
        with contextlib.suppress(OSError):
            ws.sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def app(make_app, request):
    """The app; a module marked `loopback_hooks` gets the one that may call the loopback receiver."""
    app = make_app(**(LOOPBACK_HOOKS if request.node.get_closest_marker("loopback_hooks") else {}))
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token(client) -> str:
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


class Auth:
    """Act as a person: sign up, log in, post forms with the CSRF token."""

    def __init__(self, client):
        self.client = client

    def post(self, url, data=None, **kwargs):
        data = {"csrf_token": csrf_token(self.client), **(data or {})}
        return self.client.post(url, data=data, **kwargs)

    def login(self, email, password=PASSWORD):
        return self.post("/login", {"email": email, "password": password})

    def logout(self):
        return self.post("/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


def log_file():
    """Where a server a test starts writes its stderr. Not a pipe: nobody reads it while the test
    runs, and a full pipe (64 KiB of warnings) blocks the server's next log line, mid-request."""
    return tempfile.TemporaryFile()


def log_text(log) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")


@contextlib.contextmanager
def statements():
    """Every SQL statement any engine runs inside the block (a list, filled as they run)."""
    seen = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)


def make_member(org_id, email, role="rep", name="Teammate") -> User:
    from app.auth.passwords import hash_password

    user = User(organization_id=org_id, email=email, name=name, role=role,
                password_hash=hash_password(PASSWORD))
    db.session.add(user)
    db.session.commit()
    return user


@pytest.fixture
def admin(app):
    return sign_up("Acme", "Ada Admin", "ada@acme.example.com", PASSWORD)


@pytest.fixture
def rep(admin):
    return make_member(admin.organization_id, "rex@acme.example.com", "rep", "Rex Rep")


@pytest.fixture
def other_admin(app):
    return sign_up("Globex", "Olga Other", "olga@globex.example.com", PASSWORD)


# --- webhooks: a real receiver on loopback, a real worker, API keys -------------------------------

# The timeout sets the claim's lease (2 × timeout + 2 s), and a batch starts requests only while the
# lease can outlast one (its first timeout + 1 s): with 1 s, a loaded machine that took 2 s to claim
# and commit sent nothing and put the delivery back. 5 s leaves a busy CI box 6 s; a test that wants
# a timeout sets a short one of its own.
LOOPBACK_HOOKS = {"WEBHOOK_ALLOW_HTTP": True, "WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.0/8", "::1/128"],
                  "WEBHOOK_TIMEOUT_SECONDS": 5.0, "OWED_SWEEP_SECONDS": 0}


@pytest.fixture
def hooks_app(make_app):
    """An app whose webhooks may call the loopback receiver (configuration allows that range)."""
    app = make_app(**LOOPBACK_HOOKS)
    with app.app_context():
        yield app


@pytest.fixture
def receiver():
    from tests.webhook_receiver import Receiver

    server = Receiver()
    yield server
    server.close()


def run_jobs(app, threads: int = 4) -> None:
    """A real RQ worker, in burst mode: runs every queued job (and what they enqueue) and stops."""
    from app.jobs import ThreadPoolWorker

    worker = ThreadPoolWorker(["default"], connection=app.extensions["redis"], app=app, threads=threads)
    worker.work(burst=True)


def bearer(raw_key: str) -> dict:
    return {"Authorization": f"Bearer {raw_key}"}


@pytest.fixture
def api_key(admin):
    """A key with every scope for the admin's organization: (ApiKey, raw key)."""
    from app.api.auth import create_key
    from app.models.webhooks import API_SCOPES

    return create_key(admin.organization_id, "Tests", list(API_SCOPES))


@pytest.fixture
def api(client, api_key):
    """The API called with the admin's key, each response checked against the OpenAPI document."""
    from tests.api_support import Api

    return Api(client, api_key[1])


@pytest.fixture
def theirs(client, other_admin):
    """The same API, with a key of another organization."""
    from app.api.auth import create_key
    from app.models.webhooks import API_SCOPES
    from tests.api_support import Api

    _, raw = create_key(other_admin.organization_id, "theirs", list(API_SCOPES))
    return Api(client, raw)


@pytest.fixture(scope="session")
def playwright_instance():
    """One Playwright for the whole run: its sync API refuses a second one while the first lives,
    so tests/browser and tests/network (one pytest session in CI) must share this one."""
    from tests.browser.conftest import _require_chromium

    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p
