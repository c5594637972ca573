"""The newcomer's first minutes: the banner tells the truth, and there is a page to try the widget."""

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def demo_json(tmp_path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "demo.json").write_text(json.dumps({
        "users": [{"email": "admin@example.com", "password": "pw", "role": "admin"}],
        "site": {"domain": "localhost", "publicKey": "pk_demo"},
    }))
    return tmp_path


def _serve_login(port):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_banner_waits_until_the_server_answers(demo_json):
    port = free_port()
    banner = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "banner.py"), "127.0.0.1", str(port)],
                              cwd=demo_json, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(2)  # nothing listens yet: the banner must still be waiting, silent
        assert banner.poll() is None
        server = _serve_login(port)
        out, _ = banner.communicate(timeout=120)
        server.shutdown()
    finally:
        banner.kill()
    assert f"Converc is running: http://127.0.0.1:{port}" in out
    assert f"try the widget as a visitor: http://localhost:{port}/demo" in out


def test_the_demo_page_carries_the_demo_sites_widget(make_app):
    app = make_app(DEMO_PAGE=True)
    with app.app_context():
        out = json.loads(app.test_cli_runner().invoke(args=["seed-demo"]).output)
        html = app.test_client().get("/demo").get_data(as_text=True)
    assert f'data-ic-public-key="{out["site"]["publicKey"]}"' in html
    assert 'src="/widget.js"' in html


def test_the_demo_page_is_off_unless_configured(make_app):
    app = make_app(DEMO_PAGE=False)
    with app.app_context():
        app.test_cli_runner().invoke(args=["seed-demo"])
        assert app.test_client().get("/demo").status_code == 404


def test_setup_demo_migrates_and_seeds_in_one_process(tmp_path, settings):
    # what `make run` runs before the server: one Python process, on a database it has never seen
    env = {**os.environ, "FLASK_APP": "wsgi", "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
           "REDIS_URL": settings["REDIS_URL"], "RECORDINGS_DIR": str(tmp_path / "recordings")}

    def setup():
        done = subprocess.run([sys.executable, "-m", "flask", "setup-demo"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    first = setup()
    assert first["site"]["domain"] == "localhost"
    assert [u["email"] for u in first["users"]] == ["admin@example.com", "rep@example.com"]
    assert setup() == first  # a restart migrates nothing and seeds nothing twice
