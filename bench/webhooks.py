"""Webhook delivery benchmark: events/s end to end and latency, with 1 and 2 worker processes.

Event committed → the receiver got it, through the real pipeline: outbox row, after-commit
enqueue of a delivery job, signed POST to a fast receiver on loopback. Then the p95
latency of healthy endpoints with and without an extra endpoint that always times out (8 s).

    BENCH_DATABASE_URL=postgresql://…/scratch BENCH_REDIS_URL=redis://127.0.0.1:6379/9 \
        python bench/webhooks.py

Both are emptied first, so they are separate variables from the app's DATABASE_URL and
REDIS_URL: point them at scratch ones. Without them: a temporary SQLite file (slow with two
worker processes writing; the figures in the report are on PostgreSQL) and an embedded Redis.
Options (env): BENCH_EVENTS (default 1000), BENCH_RATE (paced events/s, default 20),
BENCH_SECONDS (paced run length, default 20).
"""

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ENV = {"WEBHOOK_ALLOW_HTTP": "true", "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"}


def receiver_main(port: int) -> None:
    """A fast receiver (own process): /fast answers at once, /stuck never answers in time."""
    arrivals, lock = [], threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # answer in one packet, as real servers do

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                arrivals.append((self.path, self.headers["X-IC-Id"], time.time()))
            if self.path == "/stuck":
                time.sleep(10)
            self._reply(b"ok")

        def do_GET(self):
            with lock:
                body = json.dumps(arrivals).encode()
                if self.path == "/reset":
                    arrivals.clear()
            self._reply(body)

        def _reply(self, body):
            try:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def setup():
    scratch = tempfile.mkdtemp()
    os.environ.update(ENV)
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


def start_workers(n: int):
    env = dict(os.environ)
    procs = [subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n)]
    from rq import Worker

    from app.redis_store import get_redis

    deadline = time.time() + 60
    while len(Worker.all(connection=get_redis())) < n and time.time() < deadline:
        time.sleep(0.2)
    return procs


def stop_workers(procs):
    for p in procs:
        os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def commit_events(org_id, count, rate=None, batch=1) -> dict:
    """Commit `count` events, `batch` per transaction, paced at `rate`/s or as fast as possible."""
    from app.events import record_event
    from app.extensions import db

    committed, start = {}, time.time()
    for n in range(0, count, batch):
        if rate:
            time.sleep(max(0.0, start + n / rate - time.time()))
        events = [record_event(org_id, "call.ended", {"call": {"id": f"bench-{n + k}", "status": "ended"}})
                  for k in range(min(batch, count - n))]
        db.session.commit()
        now = time.time()
        committed.update({str(e.id): now for e in events})
    return committed


def wait_arrivals(base, committed, paths, timeout=180):
    wanted = {(p, i) for p in paths for i in committed}
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = {(p, i): t for p, i, t in get(base + "/")}
        if wanted <= set(got):
            return got
        time.sleep(0.2)
    raise SystemExit(f"only {len(wanted & set(got))} of {len(wanted)} deliveries arrived")


def pct(values, p):
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def throughput_run(app, base, org_id, workers, events):
    get(base + "/reset")
    procs = start_workers(workers)
    try:
        committed = commit_events(org_id, events, batch=20)  # a producer faster than the workers
        produced = max(committed.values()) - min(committed.values())
        got = wait_arrivals(base, committed, ["/fast"])
    finally:
        stop_workers(procs)
    lat = [got[("/fast", i)] - t for i, t in committed.items()]
    span = max(got.values()) - min(committed.values())
    print(f"{workers} worker process(es): {events} events committed in {produced:.2f} s, delivered in "
          f"{span:.2f} s = {events / span:.0f} deliveries/s; latency p50 {pct(lat, 50) * 1000:.0f} ms, "
          f"p99 {pct(lat, 99) * 1000:.0f} ms (load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs)")


def paced_run(base, org_id, rate, seconds, label):
    get(base + "/reset")
    procs = start_workers(2)
    try:
        committed = commit_events(org_id, int(rate * seconds), rate)
        got = wait_arrivals(base, committed, ["/fast", "/fast2"])
    finally:
        stop_workers(procs)
    lat = [got[(p, i)] - t for i, t in committed.items() for p in ("/fast", "/fast2")]
    p95 = pct(lat, 95)
    print(f"{label}: {rate}/s for {seconds} s to 2 healthy endpoints: p50 {pct(lat, 50) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms")
    return p95


def main():
    from tests.conftest import free_port

    port = free_port()
    receiver = subprocess.Popen([sys.executable, __file__, "--receiver", str(port)], start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    app = setup()
    events = int(os.environ.get("BENCH_EVENTS", "1000"))
    rate, seconds = int(os.environ.get("BENCH_RATE", "20")), int(os.environ.get("BENCH_SECONDS", "20"))
    try:
        time.sleep(0.5)
        with app.app_context():
            from app.auth.service import sign_up
            from app.extensions import db
            from app.webhooks import service

            print(f"database: {db.engine.url.get_backend_name()}, "
                  f"worker threads: {app.config['WORKER_THREADS']}")
            org_id = sign_up("Bench", "Bench", "bench@example.com", "bench-password-123").organization_id
            fast, _ = service.create_endpoint(org_id, base + "/fast")
            for workers in (1, 2):
                throughput_run(app, base, org_id, workers, events)
            service.create_endpoint(org_id, base + "/fast2")
            calm = paced_run(base, org_id, rate, seconds, "baseline")
            service.create_endpoint(org_id, base + "/stuck")
            stuck = paced_run(base, org_id, rate, seconds, "with an endpoint that always times out")
            print("the timing-out endpoint raised the healthy endpoints' p95 by "
                  f"{(stuck - calm) * 1000:.0f} ms")
    finally:
        os.killpg(receiver.pid, signal.SIGKILL)
        if not os.environ.get("BENCH_REDIS_URL"):
            import redis

            with app.app_context(), contextlib.suppress(redis.exceptions.ConnectionError):
                app.extensions["redis"].shutdown(nosave=True)  # the embedded server we started


if __name__ == "__main__":
    if sys.argv[1:2] == ["--receiver"]:
        receiver_main(int(sys.argv[2]))
    else:
        main()
