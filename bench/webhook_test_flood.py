"""Benchmark: a flood of webhook test calls against a slow endpoint must not starve the web process.

N concurrent `POST /integrations/webhooks/test` (default 200) against an endpoint that answers after
30 s, while /widget/ping is timed. Each test call takes one of the endpoint's
WEBHOOK_ENDPOINT_CONCURRENCY slots (default 8) and waits at most WEBHOOK_TIMEOUT_SECONDS (8 s):
the others answer at once "Not sent". Prints the ping latency before (the anchor) and during
the flood, their ratio, how many tests reached the endpoint, and the slowest test answer.

Uses REDIS_URL (else an embedded Redis) and DATABASE_URL (else a throwaway SQLite database);
gunicorn as `make run` starts it (gthread). Options: --tests N, --delay S, --workers N, --threads N.
"""

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.widget_config import free_port, pct, start_gunicorn  # noqa: E402


def slow_endpoint(delay: float) -> tuple[ThreadingHTTPServer, list]:
    """A customer's webhook endpoint that answers after `delay` seconds; records each arrival."""
    arrivals = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            arrivals.append(time.monotonic())
            time.sleep(delay)
            try:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, arrivals


def prepare(workdir: Path, hook_url: str) -> dict:
    """A migrated database, an organization, an API key and one webhook endpoint (the slow one)."""
    import logging

    from flask_migrate import upgrade

    from app import create_app
    from app.api.auth import create_key
    from app.auth.service import sign_up
    from app.models.webhooks import API_SCOPES
    from app.redis_store import embedded_url
    from app.webhooks.service import create_endpoint

    env = {"DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{workdir / 'bench.db'}",
           "REDIS_URL": os.environ.get("REDIS_URL") or embedded_url(str(workdir)),
           "SECRET_KEY": "bench-secret", "API_RATE_LIMIT": "100000000 per minute",
           "WIDGET_RATE_LIMIT": "100000000 per minute", "WEBHOOK_ALLOW_HTTP": "true",
           "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"}
    os.environ.update(env)
    app = create_app()
    with app.app_context():
        logging.disable(logging.INFO)
        upgrade(directory=str(ROOT / "migrations"))
        email = f"bench-{time.time_ns()}@example.com"
        admin = sign_up("Bench Inc", "Bea Bench", email, "bench-password-2024!")
        endpoint, _ = create_endpoint(admin.organization_id, hook_url)
        _key, raw = create_key(admin.organization_id, "Bench", list(API_SCOPES))
        env["ENDPOINT_ID"], env["API_KEY"] = str(endpoint.id), raw
    return env


def ping_latencies(port: int, seconds: float) -> list[float]:
    latencies, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        start = time.perf_counter()
        urllib.request.urlopen(f"http://127.0.0.1:{port}/widget/ping", timeout=120).read()
        latencies.append((time.perf_counter() - start) * 1000)
        time.sleep(0.05)
    return latencies


def flood(port: int, env: dict, count: int) -> tuple[list, list]:
    """`count` test calls at once; their answers and durations (seconds)."""
    answers, durations = [], []
    body = json.dumps({"webhookId": env["ENDPOINT_ID"]}).encode()

    def one():
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/integrations/webhooks/test", data=body, method="POST",
            headers={"Authorization": f"Bearer {env['API_KEY']}", "Content-Type": "application/json"})
        start = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                answers.append(json.loads(response.read()))
        except OSError as e:
            answers.append({"ok": False, "status": None, "error": f"request failed: {e}"})
        durations.append(time.monotonic() - start)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, (answers, durations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--delay", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1100)  # make run's WEB_THREADS
    args = parser.parse_args()
    server, arrivals = slow_endpoint(args.delay)
    with tempfile.TemporaryDirectory() as tmp:
        env = prepare(Path(tmp), f"http://127.0.0.1:{server.server_address[1]}/hook")
        port = free_port()
        proc = start_gunicorn(env, port, workers=args.workers, threads=args.threads)
        try:
            ping_latencies(port, 1)  # warm up
            before = ping_latencies(port, 3)
            threads, (answers, durations) = flood(port, env, args.tests)
            during = ping_latencies(port, 20)
            for thread in threads:
                thread.join()
        finally:
            proc.terminate()
            proc.wait(10)
            server.shutdown()
    not_sent = sum(1 for a in answers if (a.get("error") or "").startswith("Not sent"))
    timed_out = sum(1 for a in answers if (a.get("error") or "").startswith("Timed out"))
    print(f"gunicorn gthread {args.workers}x{args.threads}; {args.tests} concurrent webhook tests "
          f"against an endpoint answering after {args.delay:g} s")
    print(f"/widget/ping before (anchor, {len(before)} pings): p50 {pct(before, 0.5):.1f} ms, "
          f"max {max(before):.1f} ms")
    print(f"/widget/ping during the flood ({len(during)} pings): p50 {pct(during, 0.5):.1f} ms, "
          f"max {max(during):.1f} ms "
          f"(ratio p50 {pct(during, 0.5) / pct(before, 0.5):.1f}x, max {max(during) / max(before):.1f}x)")
    print(f"tests that reached the endpoint: {len(arrivals)}; answered 'Not sent' (no free slot): "
          f"{not_sent}; timed out: {timed_out}; other: {len(answers) - not_sent - timed_out}")
    print(f"slowest test answer: {max(durations):.1f} s (the timeout is WEBHOOK_TIMEOUT_SECONDS, 8 s)")


if __name__ == "__main__":
    main()
