"""deploy/nginx/converc.conf, run as it ships (only its ports, upstreams and certificate are
the test's): TLS with HTTP/2, round-robin over two web nodes (separate gunicorn masters), the
rep's websockets through it landing on both nodes, X-Forwarded-* believed only from nginx
(TRUSTED_PROXIES=1), gzip for the scripts, /metrics not reachable from outside; then a whole
browser call through it: the visitor's widget and the rep's dashboard both on the https origin."""

import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
import requests
import sqlalchemy as sa
from playwright.sync_api import expect
from prometheus_client.parser import text_string_to_metric_families
from simple_websocket import Client

from app.extensions import db
from app.models import Call
from app.webhooks.signing import ic_signature
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, call_through_the_widget, log_in, snippet
from tests.browser.test_calls import wait_for_media
from tests.browser.test_widget import add_question
from tests.calls_support import CONTACT, call_body, make_site
from tests.conftest import PASSWORD, free_port, log_file
from tests.network.nodes import ROOT, start_node, stop_node
from tests.test_realtime import next_message

HOST = "converc.test"


def require_nginx():
    if shutil.which("nginx") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the deployment test, but nginx is missing (apt-get install nginx)")
        pytest.skip("the deployment test needs nginx (apt-get install nginx)")


def site_config(nodes, port, http_port, cert, key) -> str:
    """deploy/nginx/converc.conf with this test's ports, upstreams and certificate."""
    text = (ROOT / "deploy/nginx/converc.conf").read_text()
    upstreams = "".join(f"    server {url.split('//')[1]} max_fails=3 fail_timeout=10s;\n" for url in nodes)
    text = text.replace("    server 10.0.0.11:5000 max_fails=3 fail_timeout=10s;\n"
                        "    server 10.0.0.12:5000 max_fails=3 fail_timeout=10s;\n", upstreams)
    replacements = {"listen 80;": f"listen 127.0.0.1:{http_port};", "listen [::]:80;": "",
                    "listen 443 ssl http2;": f"listen 127.0.0.1:{port} ssl http2;",
                    "listen [::]:443 ssl http2;": "", "converc.example.com": HOST,
                    f"/etc/letsencrypt/live/{HOST}/fullchain.pem": str(cert),
                    f"/etc/letsencrypt/live/{HOST}/privkey.pem": str(key)}
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.fixture
def nginx(app, settings, tmp_path):
    require_nginx()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", f"/CN={HOST}",
                    "-addext", f"subjectAltName=DNS:{HOST}"], check=True, capture_output=True)
    port, http_port = free_port(), free_port()
    base = f"https://{HOST}:{port}"
    nodes = [start_node(settings, workers=1, TRUSTED_PROXIES="1", BASE_URL=base,
                        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / f"metrics{i}")) for i in range(2)]
    (tmp_path / "site.conf").write_text(site_config([url for _, url in nodes], port, http_port, cert, key))
    (tmp_path / "nginx.conf").write_text(
        f"daemon off; user root; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{ access_log {tmp_path}/access.log; client_body_temp_path {tmp_path}/body;\n"
        f"proxy_temp_path {tmp_path}/proxy; include /etc/nginx/mime.types;\n"
        f"include {tmp_path}/site.conf; }}\n")
    proc = subprocess.Popen(["nginx", "-c", str(tmp_path / "nginx.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(f"https://127.0.0.1:{port}/healthz", verify=False, timeout=2)
            break
        except requests.ConnectionError:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.2)
    yield {"port": port, "base": base, "nodes": [url for _, url in nodes], "cert": cert,
           "access_log": tmp_path / "access.log"}
    proc.terminate()
    proc.wait(10)
    for node, _ in nodes:
        stop_node(node)


def via(nginx) -> requests.Session:
    """A client of https://converc.test:<port> that reaches nginx on 127.0.0.1 (self-signed certificate)."""
    import urllib3

    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    session = requests.Session()
    session.verify, session.trust_env = False, False  # REQUESTS_CA_BUNDLE would override verify
    return session


def url(nginx, path) -> str:
    return f"https://{HOST}:{nginx['port']}{path}"


@pytest.fixture(autouse=True)
def resolve_test_host(monkeypatch):
    import socket

    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo",
                        lambda host, *a, **k: real("127.0.0.1" if host == HOST else host, *a, **k))


def rep_sockets_per_node(nginx) -> list[float]:
    counts = []
    for node in nginx["nodes"]:
        text = urllib.request.urlopen(node + "/metrics", timeout=10).read().decode()
        counts.append(next(s.value for f in text_string_to_metric_families(text) for s in f.samples
                           if s.name == "converc_rep_sockets"))
    return counts


@pytest.fixture
def tls_browser(playwright_instance):
    """Chromium that resolves converc.test to nginx on loopback (its contexts accept the test's
    self-signed certificate)."""
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {HOST} 127.0.0.1"])
    yield browser
    browser.close()


def test_two_nodes_behind_nginx_with_tls(nginx, admin, rep, settings, tls_browser, customer):
    client = via(nginx)
    # HTTP/2 over TLS, gzip for the scripts, no /metrics from outside
    head = subprocess.run(["curl", "-sk", "--http2", "-o", "/dev/null", "-w", "%{http_version}",
                           "--resolve", f"{HOST}:{nginx['port']}:127.0.0.1", url(nginx, "/healthz")],
                          capture_output=True, text=True, check=True)
    assert head.stdout == "2"
    script = client.get(url(nginx, "/widget.js"), headers={"Accept-Encoding": "gzip"})
    assert script.status_code == 200 and script.headers["Content-Encoding"] == "gzip"
    assert client.get(url(nginx, "/metrics")).status_code == 404

    # the client's own X-Forwarded-For is not believed; the address nginx saw is
    site = make_site(admin.organization_id, "shop.example.com")
    rep.available = True
    db.session.commit()
    login = client.get(url(nginx, "/login")).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', login).group(1)
    # over HTTPS Flask-WTF also checks the Referer, as browsers send it
    logged_in = client.post(url(nginx, "/login"), headers={"Referer": url(nginx, "/login")},
                            data={"csrf_token": token, "email": rep.email, "password": PASSWORD})
    assert logged_in.status_code == 200 and "Log in" not in logged_in.url
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    sockets = []
    for _ in range(2):  # round-robin: one dashboard socket on each node
        ws = Client.connect(url(nginx, "/realtime/rep").replace("https://", "wss://"), ssl_context=context,
                            headers={"Cookie": cookie, "Origin": nginx["base"]})
        next_message(ws, "hello")
        sockets.append(ws)
    assert rep_sockets_per_node(nginx) == [1, 1]

    # the webhook goes out from a worker on "another machine": its own process, started with only
    # the documented variables (no inherited environment), sharing just the database and Redis
    hook, secret = loopback_endpoint(admin.organization_id)
    worker = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env={
        "PATH": os.environ["PATH"], "DATABASE_URL": settings["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": settings["REDIS_URL"], "SECRET_KEY": settings["SECRET_KEY"],
        "WEBHOOK_ALLOW_HTTP": "true", "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"},
        stdout=subprocess.DEVNULL, stderr=log_file())
    api_caller = {**CONTACT, "name": "Abe Api"}
    created = client.post(url(nginx, "/widget/calls"), json=call_body(site, contact=api_caller),
                          headers={"X-Forwarded-For": "203.0.113.9"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["socketUrl"].startswith(f"wss://{HOST}:{nginx['port']}/realtime/call?token=")
    for ws in sockets:  # the ring reaches the dashboards on both nodes
        assert next_message(ws, "ring")["call"]["id"] == body["call"]["id"]
    db.session.expire_all()
    assert db.session.get(Call, uuid.UUID(body["call"]["id"])).visitor_ip == "127.0.0.1"
    for ws in sockets:
        ws.close()
    try:
        delivered = hook.wait_for("/hook", timeout=60)[0]
    finally:
        worker.terminate()
        worker.wait(10)
        hook.close()
    assert json.loads(delivered.body)["type"] == "call.requested"
    assert json.loads(delivered.body)["data"]["call"]["id"] == body["call"]["id"]
    headers = {name.lower(): value for name, value in delivered.headers.items()}
    stamp = dict(part.split("=", 1) for part in headers["x-ic-signature"].split(","))
    assert stamp["v1"] == ic_signature(secret, int(stamp["t"]), delivered.body)  # the worker's key is ours

    browser_call(nginx, admin, rep, tls_browser, customer)


def browser_call(nginx, admin, rep, browser, customer):
    """A customer's page loads widget.js from the https origin; the rep's dashboard is on the same
    origin; their sockets land on whichever node nginx picks, and media flows both ways."""
    site = make_site(admin.organization_id, "localhost", ring_timeout_seconds=60)
    add_question(site, "Company size", options=[("1-10", False), ("11-50", False)])
    page_url = customer.page("/pricing", snippet(nginx["base"], site.public_key))
    rep_context = browser.new_context(base_url=nginx["base"], ignore_https_errors=True)
    visitor_context = browser.new_context(ignore_https_errors=True)
    try:
        rep_page = rep_context.new_page()
        log_in(rep_page, rep.email)
        visitor = visitor_context.new_page()
        dialog = call_through_the_widget(visitor, page_url)
        # the API call above still rings too: take the visitor's
        alert = rep_page.get_by_role("alertdialog", name="Incoming call").filter(has_text="Vera Visitor")
        expect(alert).to_be_visible(timeout=30000)
        alert.get_by_role("button", name="Accept").click()
        rep_page.wait_for_url("**/calls/*/live")
        assert rep_page.url.startswith(nginx["base"])
        for page, expression in ((visitor, "ConvercCall.current"), (rep_page, "ConvercCallScreen.session")):
            wait_for_media(page, expression, timeout=60)
            assert_bytes_flow(page, expression)
        expect(dialog.get_by_text("You're connected. Rex Rep ·")).to_be_visible()
        rep_page.get_by_role("button", name="Hang up").click()
        expect(dialog.get_by_text("Thanks for talking with us!")).to_be_visible(timeout=30000)
        call = db.session.scalar(sa.select(Call).where(Call.site_id == site.id))
        db.session.refresh(call)
        assert call.status == "ended" and call.end_reason == "rep_hung_up" and call.page_url == page_url
    finally:
        rep_context.close()
        visitor_context.close()
    # the visitor's call.js and socket went through nginx (a socket is logged once it closes)
    for request in ("GET /widget/call.js", "GET /realtime/call?token="):
        pattern = re.compile(re.escape(request) + r'[^"]* HTTP/[\d.]+" (101|200) ')
        deadline = time.monotonic() + 30
        while not pattern.search(nginx["access_log"].read_text()):
            assert time.monotonic() < deadline, f"nginx did not log {request}"
            time.sleep(0.25)


INBOUND_BYTES = """async (expression) => {
  const report = await eval(expression).pc.getStats();
  let bytes = 0;
  report.forEach((s) => { if (s.type === "inbound-rtp") bytes += s.bytesReceived; });
  return bytes;
}"""


def assert_bytes_flow(page, expression, timeout=30):
    """inbound-rtp bytes keep growing: media flows, not only a first frame."""
    first = page.evaluate(INBOUND_BYTES, expression)
    deadline = time.monotonic() + timeout
    while page.evaluate(INBOUND_BYTES, expression) <= first:
        assert time.monotonic() < deadline, "no more media arrived"
        time.sleep(0.25)


def loopback_endpoint(organization_id):
    """A customer's endpoint on loopback, stored as the dashboard stores it (the test's own app
    would refuse the http URL; the worker's environment allows it)."""
    from app.crypto import encrypt
    from app.models import WebhookEndpoint
    from app.webhooks.signing import new_secret
    from tests.webhook_receiver import Receiver

    receiver, secret = Receiver(), new_secret()
    db.session.add(WebhookEndpoint(organization_id=organization_id, url=receiver.url + "/hook",
                                   events=["call.requested"], source="api", secret_encrypted=encrypt(secret)))
    db.session.commit()
    return receiver, secret
