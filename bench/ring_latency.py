"""Ring latency and idle-socket memory, on this machine, with the production web setup.

1. 200 reps connected across two gunicorn processes (100 each). A visitor requests a call
   (alternately on either process); we time from sending the request to each rep's socket
   receiving the ring, over many calls, and print p50/p99 (target: p99 <= 100 ms).
2. 1,000 idle rep sockets held by one process: its RSS before and after, per connection.

Uses BENCH_DATABASE_URL / BENCH_REDIS_URL when set (it empties them!), else a SQLite file and
an embedded Redis in a temporary folder. Run: `python bench/ring_latency.py` (or `make bench`).
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from simple_websocket import Client, ConnectionClosed  # noqa: E402

REPS = int(os.environ.get("BENCH_REPS", "200"))
CALLS = int(os.environ.get("BENCH_CALLS", "40"))
IDLE_SOCKETS = int(os.environ.get("BENCH_IDLE_SOCKETS", "1000"))
WORK = Path(tempfile.mkdtemp(prefix="converc-bench-"))


def settings() -> dict:
    from app.redis_store import embedded_url

    database = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{WORK / 'bench.db'}"
    # never the app's own DATABASE_URL / REDIS_URL: the bench empties what it is given
    redis_url = os.environ.get("BENCH_REDIS_URL") or embedded_url(str(WORK))
    return {"DATABASE_URL": database, "REDIS_URL": redis_url, "SECRET_KEY": "bench-" + uuid.uuid4().hex}


def prepare(env: dict):
    """Schema, an organization with REPS available reps and a site; their session cookies."""
    os.environ.update(env)
    from flask_migrate import upgrade

    from app import create_app
    from app.auth.passwords import hash_password
    from app.extensions import db
    from app.models import Organization, User
    from app.sites.service import create_site

    app = create_app({"TESTING": True})
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(db.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
        app.extensions["redis"].flushdb()
        org = Organization(name="Bench")
        db.session.add(org)
        db.session.flush()
        password = hash_password("bench-password-123")
        reps = [User(organization_id=org.id, email=f"rep{i}@bench.example.com", name=f"Rep {i}",
                     role="rep", password_hash=password, available=True) for i in range(REPS)]
        db.session.add_all(reps)
        db.session.commit()
        site = create_site(org.id, "bench.example.com")
        cookies = [session_cookie(app, rep.id) for rep in reps]
        from app.widget.tokens import sign_qualification

        token = sign_qualification({"siteId": str(site.id), "flowId": None, "outcome": "qualified",
                                    "answers": []})
        return app, org.id, site.public_key, token, cookies


def session_cookie(app, user_id) -> str:
    """A logged-in session cookie, signed as Flask-Login's would be (no 200 password checks)."""
    serializer = app.session_interface.get_signing_serializer(app)
    return f"{app.config.get('SESSION_COOKIE_NAME', 'session')}=" + serializer.dumps(
        {"_user_id": str(user_id), "_fresh": True})


def start_web(env: dict):
    """One gunicorn process with the worker setup of scripts/run.sh."""
    from tests.conftest import free_port

    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", *gunicorn_args(), "-w", "1", "-b", f"127.0.0.1:{port}",
           "wsgi:app"]
    limits = {"CALL_RATE_LIMIT_PER_IP": "100000 per hour", "CALL_RATE_LIMIT_PER_SITE": "100000 per hour"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env, **limits, "BASE_URL": f"http://127.0.0.1:{port}"},
                            stdout=subprocess.DEVNULL, stderr=open(WORK / f"web-{port}.log", "w"))
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/login", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def gunicorn_args() -> list[str]:
    """The web worker flags, read from scripts/run.sh so the bench measures what production runs."""
    text = (ROOT / "scripts" / "run.sh").read_text()
    threads = os.environ.get("WEB_THREADS", "1100")
    connections = os.environ.get("WEB_CONNECTIONS", "2000")
    assert "--worker-connections" in text and "-k gthread" in text
    return ["-k", "gthread", "--threads", threads, "--worker-connections", connections]


def worker_process(master: subprocess.Popen) -> psutil.Process:
    children = psutil.Process(master.pid).children()
    return children[0] if children else psutil.Process(master.pid)


class Rep:
    """One rep socket, reading in its own thread and stamping when each ring arrives."""

    def __init__(self, url: str, cookie: str):
        self.ws = Client.connect(url.replace("http://", "ws://") + "/realtime/rep",
                                 headers={"Cookie": cookie, "Origin": url})
        # simple_websocket's client leaves frames that arrive with the handshake response unread
        # until more data comes: a ping makes the server answer, and the hello gets read
        self.ws.send(json.dumps({"type": "ping"}))
        self.rings: dict[str, float] = {}
        self.ready = threading.Event()
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        try:
            while True:
                raw = self.ws.receive()
                if raw is None:
                    continue
                message = json.loads(raw)
                if message["type"] == "hello":
                    self.ready.set()
                elif message["type"] == "ring":
                    self.rings[message["call"]["id"]] = time.perf_counter()
        except ConnectionClosed:
            pass


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def ring_latency(env, public_key, token, cookies):
    servers = [start_web(env), start_web(env)]
    urls = [url for _, url in servers]
    try:
        reps = []
        for i, cookie in enumerate(cookies):
            reps.append(Rep(urls[i % 2], cookie))
            if i % 50 == 49:
                log(f"{i + 1} rep sockets open")
        for rep in reps:
            assert rep.ready.wait(20), "a rep socket did not open"
        samples = []
        for n in range(CALLS):
            started = time.perf_counter()
            body = post_json(urls[n % 2] + "/widget/calls", {
                "publicKey": public_key, "qualificationToken": token, "fingerprint": f"bench-{n}",
                "mediaType": "video", "contact": {"name": f"Visitor {n}"}})
            call_id = body["call"]["id"]
            assert body["call"]["status"] == "requested", body
            deadline = time.perf_counter() + 5
            while sum(call_id in r.rings for r in reps) < len(reps) and time.perf_counter() < deadline:
                time.sleep(0.002)
            samples += [(r.rings[call_id] - started) * 1000 for r in reps if call_id in r.rings]
            post_json(body["cancelUrl"], {"token": body["token"]})
            time.sleep(0.05)
        for rep in reps:
            rep.ws.close()
        return samples
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.wait(15)


def idle_memory(env, cookies):
    proc, url = start_web(env)
    try:
        worker = worker_process(proc)
        urllib.request.urlopen(url + "/login").read()  # warm the app up before the baseline
        time.sleep(1)
        before = worker.memory_info().rss
        sockets = []
        for i in range(IDLE_SOCKETS):
            sockets.append(Rep(url, cookies[i % len(cookies)]))
        for rep in sockets:
            assert rep.ready.wait(30), "an idle socket did not open"
        time.sleep(2)
        after = worker.memory_info().rss
        threads = worker.num_threads()
        alive = sum(1 for s in sockets if s.ws.connected)
        for rep in sockets:
            rep.ws.close()
        return before, after, threads, alive
    finally:
        proc.terminate()
        proc.wait(15)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    env = settings()
    _, _, public_key, token, cookies = prepare(env)
    samples = ring_latency(env, public_key, token, cookies)
    expected = CALLS * REPS
    print(f"ring latency, {REPS} reps on 2 processes, {CALLS} calls: "
          f"{len(samples)}/{expected} rings received")
    print(f"  p50 {statistics.median(samples):.1f} ms   p99 {percentile(samples, 99):.1f} ms   "
          f"max {max(samples):.1f} ms   (target p99 <= 100 ms)")
    before, after, threads, alive = idle_memory(env, cookies)
    per = (after - before) / IDLE_SOCKETS
    print(f"idle rep sockets on 1 process: {alive}/{IDLE_SOCKETS} held open, {threads} threads")
    print(f"  RSS {before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB: "
          f"{per / 1024:.1f} KiB per idle connection")


if __name__ == "__main__":
    main()
