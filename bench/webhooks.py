"""Webhook delivery benchmark against RQ's SimpleWorker doing a plain `requests.post`, same run.

1. Throughput, counted to completion. 1,000 events wait in the queue while the workers are
   suspended (`rq suspend`), then both sides run them down to nothing:
   - the app: `worker.py` processes started as `make run` starts them, each event's delivery
     going through the real pipeline (outbox row, after-commit job, claim, signed POST, attempt
     log); done when no delivery row is pending and no job is queued or running;
   - the anchor: as many RQ `SimpleWorker` processes running jobs that `requests.post` the
     same body to the same receiver; done when the queue and its started registry are empty.
   The clock starts at the first arrival at the receiver (workers poll the suspension flag once
   a second). CPU is the worker processes' own (their session's, from /proc).
2. Slow endpoint, paced below capacity: the p95 latency (commit → arrival) of a healthy
   endpoint alone, then with an endpoint that never answers in time beside it.

    BENCH_DATABASE_URL=postgresql://…/scratch BENCH_REDIS_URL=redis://127.0.0.1:6379/9 \
        python bench/webhooks.py

Both are emptied first, so they are separate variables from the app's DATABASE_URL and
REDIS_URL: point them at scratch ones. Without them: a temporary SQLite file (slow with two
worker processes writing; the figures in the report are on PostgreSQL) and an embedded Redis.
Options (env): BENCH_EVENTS (default 1000), BENCH_WORKERS (processes on each side, default 2),
BENCH_RATE (paced events/s, default a fifth of the lower of the two measured rates), BENCH_SECONDS (paced run
length, default 20).
"""

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.scratch import scratch_app, stop_embedded_redis  # noqa: E402

# what scripts/run.sh sets for a local receiver
ENV = {"WEBHOOK_ALLOW_HTTP": "1", "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128"}
ANCHOR_QUEUE = "bench-anchor"
TICK = os.sysconf("SC_CLK_TCK")


def receiver_main(port: int) -> None:
    """The receiver (own process): /fast* answer at once, /stuck never answers in time."""
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
    server.request_queue_size = 1024
    server.serve_forever()


def plain_post(url: str, body: bytes, event_id: str) -> int:
    """The anchor's job: what a minimal webhook sender does."""
    import requests

    return requests.post(url, data=body, headers={"Content-Type": "application/json", "X-IC-Id": event_id},
                         timeout=8).status_code


def simple_worker_main() -> None:
    import redis
    from rq import Queue, SimpleWorker

    connection = redis.Redis.from_url(os.environ["REDIS_URL"])
    SimpleWorker([Queue(ANCHOR_QUEUE, connection=connection)], connection=connection).work()


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def setup():
    os.environ.update(ENV)
    return scratch_app()


def cpu_seconds(sessions) -> float:
    """User + system CPU of every process in these sessions (a worker and anything it started)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) in sessions:  # session id
                total += int(fields[11]) + int(fields[12])
    return total / TICK


def start_workers(command, n: int, expected_workers: int):
    from rq import Worker

    from app.redis_store import get_redis

    procs = [subprocess.Popen(command, cwd=ROOT, env=dict(os.environ), start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n)]
    deadline = time.time() + 60
    while len(Worker.all(connection=get_redis())) < expected_workers:
        if time.time() > deadline:
            stop_workers(procs)
            raise SystemExit("the workers did not start")
        time.sleep(0.2)
    return procs


def stop_workers(procs):
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def wait_until(done, timeout=300, what="the work"):
    deadline = time.time() + timeout
    while not done():
        if time.time() > deadline:
            raise SystemExit(f"{what} did not finish in {timeout} s")
        time.sleep(0.05)
    return time.time()


def drained(queue_name) -> bool:
    from rq import Queue

    from app.redis_store import get_redis

    q = Queue(queue_name, connection=get_redis())
    return q.count == 0 and q.started_job_registry.count == 0


def deliveries_done() -> bool:
    import sqlalchemy as sa
    from flask import current_app

    from app.extensions import db
    from app.models import WebhookDelivery

    pending = db.session.scalar(sa.select(sa.func.count()).where(WebhookDelivery.status == "pending"))
    db.session.rollback()  # a fresh snapshot next time
    return pending == 0 and all(drained(q) for q in current_app.config["RQ_QUEUES"])


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


def suspended_run(command, n, expected_workers, fill, done, base) -> dict:
    """Start `n` worker processes suspended, `fill` the queue, resume, and time them to `done`."""
    from rq.suspension import resume, suspend

    from app.redis_store import get_redis

    get(base + "/reset")
    suspend(get_redis())
    procs = start_workers(command, n, expected_workers)
    try:
        jobs = fill()
        sessions = {p.pid for p in procs}
        cpu = cpu_seconds(sessions)
        resume(get_redis())
        finished = wait_until(done)
        cpu = cpu_seconds(sessions) - cpu
    finally:
        stop_workers(procs)
    arrivals = [t for _, _, t in get(base + "/")]
    span = finished - min(arrivals)
    return {"jobs": jobs, "arrivals": len(arrivals), "seconds": span, "rate": jobs / span,
            "cpu_ms": cpu * 1000 / jobs}


def anchor_run(base, n, events) -> dict:
    from rq import Queue

    from app.redis_store import get_redis

    def fill():
        q = Queue(ANCHOR_QUEUE, connection=get_redis())
        body = json.dumps({"type": "call.ended", "data": {"call": {"status": "ended"}}}).encode()
        url, job = base + "/fast", "bench.webhooks.plain_post"
        q.enqueue_many([q.prepare_data(job, (url, body, str(i)), result_ttl=0) for i in range(events)])
        return events

    return suspended_run([sys.executable, __file__, "--simple-worker"], n, n, fill,
                         lambda: drained(ANCHOR_QUEUE), base)


def app_run(base, n, org_id, events) -> dict:
    def fill():
        commit_events(org_id, events, batch=50)
        return events

    return suspended_run([sys.executable, "worker.py"], n, n, fill, deliveries_done, base)


def show(label, r, anchor=None):
    ratio = f"; {r['rate'] / anchor['rate']:.2f}x the anchor's rate, " \
            f"{r['cpu_ms'] / anchor['cpu_ms']:.1f}x its CPU" if anchor else ""
    print(f"{label}: {r['jobs']} deliveries in {r['seconds']:.2f} s = {r['rate']:.0f}/s, "
          f"{r['cpu_ms']:.1f} ms worker CPU per delivery{ratio}")


def pct(values, p):
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def paced_run(base, n, org_id, rate, seconds, label):
    get(base + "/reset")
    procs = start_workers([sys.executable, "worker.py"], n, n)
    try:
        committed = commit_events(org_id, int(rate * seconds), rate)
        wanted = set(committed)

        def arrived():
            return wanted <= {i for p, i, _ in get(base + "/") if p == "/fast"}

        wait_until(arrived, what="the healthy endpoint's deliveries")
    finally:
        stop_workers(procs)
    got = {i: t for p, i, t in get(base + "/") if p == "/fast"}
    lat = [got[i] - t for i, t in committed.items()]
    p95 = pct(lat, 95)
    print(f"{label}: {rate} events/s for {seconds} s, healthy endpoint p50 {pct(lat, 50) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms")
    return p95


def main():
    from tests.conftest import free_port

    port = free_port()
    receiver = subprocess.Popen([sys.executable, __file__, "--receiver", str(port)], start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    app = setup()
    events, workers = int(os.environ.get("BENCH_EVENTS", "1000")), int(os.environ.get("BENCH_WORKERS", "2"))
    seconds = int(os.environ.get("BENCH_SECONDS", "20"))
    try:
        time.sleep(0.5)
        with app.app_context():
            from app.auth.service import sign_up
            from app.extensions import db
            from app.webhooks import service

            print(f"database: {db.engine.url.get_backend_name()}, {workers} worker processes on each side, "
                  f"{app.config['WORKER_THREADS']} threads each in the app's; {os.cpu_count()} CPUs, "
                  f"load average {os.getloadavg()[0]:.1f}")
            org_id = sign_up("Bench", "Bench", "bench@example.com", "bench-password-123").organization_id
            service.create_endpoint(org_id, base + "/fast")
            anchor = anchor_run(base, workers, events)
            show("anchor: RQ SimpleWorker + requests.post", anchor)
            ours = app_run(base, workers, org_id, events)
            if ours["arrivals"] != events:
                print(f"  (the receiver got {ours['arrivals']} requests for {events} deliveries)")
            show("converc: worker.py (ThreadPoolWorker), full pipeline", ours, anchor)
            # below capacity: a paced event is a commit of its own, so its delivery is a job of its
            # own like each of the anchor's (the burst above went out in batches: its rate is no
            # measure of this); with the timing-out endpoint an event costs two deliveries plus the
            # deferrals of the ones finding its slots full
            capacity = min(ours["rate"], anchor["rate"])
            rate = int(os.environ.get("BENCH_RATE", "0")) or max(1, int(capacity / 5))
            calm = paced_run(base, workers, org_id, rate, seconds, "healthy endpoint alone")
            service.create_endpoint(org_id, base + "/stuck")
            stuck = paced_run(base, workers, org_id, rate, seconds, "beside an always timing-out endpoint")
            print(f"the timing-out endpoint added {(stuck - calm) * 1000:.0f} ms to the healthy endpoint's "
                  "p95 (target < 200 ms)")
    finally:
        os.killpg(receiver.pid, signal.SIGKILL)
        receiver.wait()
        stop_embedded_redis(app)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--receiver"]:
        receiver_main(int(sys.argv[2]))
    elif sys.argv[1:2] == ["--simple-worker"]:
        simple_worker_main()
    else:
        main()
