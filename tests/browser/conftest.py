"""Real servers and a real headless Chromium (Debian's) driven by Playwright."""

import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.extensions import db
from tests.conftest import PASSWORD, free_port, log_file, log_text

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
]


# the server's side of tests.conftest.LOOPBACK_HOOKS
LOOPBACK_HOOKS_ENV = {"WEBHOOK_ALLOW_HTTP": "true", "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"}


def _require_chromium():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests, but {CHROMIUM} is missing")
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")


def start_server(settings, port=None, extra_env=None, threads=1100, options=()):
    """Run the app under gunicorn, as `make run` does, on a free loopback port (`options`: more
    gunicorn flags, e.g. its config file)."""
    port = port or free_port()
    env = {**os.environ, "DATABASE_URL": settings["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": settings["REDIS_URL"], "SECRET_KEY": settings["SECRET_KEY"],
           "BASE_URL": f"http://127.0.0.1:{port}", **(extra_env or {})}
    log = log_file()
    proc = subprocess.Popen(
        # the worker setup of scripts/run.sh (each websocket holds a thread)
        [sys.executable, "-m", "gunicorn", *options, "-k", "gthread", "--threads", str(threads),
         "--worker-connections", "2000", "-w", "1", "--graceful-timeout", "5",
         "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
    )
    proc.log = log
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(url + "/login", timeout=1)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(log_text(log)) from None
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start:\n" + log_text(log)[-4000:])


@pytest.fixture
def live_server(app, settings, request):
    """The app under gunicorn; a module marked `loopback_hooks` may send webhooks to loopback."""
    hooks = request.node.get_closest_marker("loopback_hooks")
    proc, url = start_server(settings, extra_env=LOOPBACK_HOOKS_ENV if hooks else None)
    yield url
    proc.terminate()
    proc.wait(10)
    # pytest shows this only when the test failed: what the server said meanwhile
    print("--- the server's log (last 4,000 characters) ---\n" + log_text(proc.log)[-4000:])


@pytest.fixture
def browser(playwright_instance):
    # Playwright gives every launch a fresh temporary profile (--user-data-dir) of its own.
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    yield page
    context.close()


class CustomerSite:
    """A customer's web server: pages registered by path, each with its own headers."""

    def __init__(self):
        self.pages = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                html, headers = pages.get(self.path.split("?")[0], ("not found", {}))
                body = html.encode()
                self.send_response(200 if self.path.split("?")[0] in pages else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page(self, path, html, host="localhost", **headers):
        self.pages[path] = (html, headers)
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def customer():
    site = CustomerSite()
    yield site
    site.server.shutdown()


def snippet(live_server, key, head="", body="", script="widget.js", attrs="defer"):
    return (f"<!doctype html><html><head><title>Customer</title>{head}</head><body><h1>Acme Inc.</h1>"
            f"<p>Our product page.</p>{body}<script src=\"{live_server}/{script}\" "
            f"data-ic-public-key=\"{key}\" {attrs}></script></body></html>")


def log_in(page, email):
    """Log in through the form; the dashboard's socket (the rep's presence) is connected after."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#call-alerts")).to_have_attribute("data-state", "connected")


@pytest.fixture
def rep_page(page, rep):
    """The rep toggled Available and keeps the dashboard open (its socket is their presence)."""
    rep.available = True
    db.session.commit()
    log_in(page, rep.email)
    return page


@pytest.fixture
def visitor(browser):
    """A visitor's own browser context (no dashboard cookies)."""
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def worker(settings, live_server):
    """The RQ worker with its scheduler, as `make run` starts it (it enforces ring timeouts)."""
    env = {**os.environ, "DATABASE_URL": settings["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": settings["REDIS_URL"], "SECRET_KEY": settings["SECRET_KEY"]}
    proc = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield proc
    proc.terminate()
    proc.wait(10)


def fetch(url, headers=None):
    """(status, headers, body) of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, b""


def call_through_the_widget(visitor, url, media="Video call"):
    """Badge → welcome → the question (11-50) → contact step → the call button (call.js loads on it)."""
    visitor.goto(url)
    visitor.get_by_role("button", name="Talk to us live").click()
    dialog = visitor.get_by_role("dialog")
    dialog.get_by_role("button", name="Start").click()
    dialog.get_by_label("11-50").check()
    dialog.get_by_role("button", name="Next").click()
    dialog.get_by_label("Name").fill("Vera Visitor")
    dialog.get_by_label("Email").fill("vera@example.org")
    dialog.get_by_role("button", name="Next").click()
    assert visitor.evaluate("typeof window.ConvercCall") == "undefined"  # not loaded before the call
    dialog.get_by_role("button", name=media).click()
    return dialog
