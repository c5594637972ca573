"""Benchmark of the widget's live availability and of its scripts as served. Prints figures; not a test.

1. What 10,000 open pages cost: each polls GET /widget/availability every WIDGET_LIVE_POLL_SECONDS
   while visible, revalidating with its ETag (a bodiless 304 while nothing changes). Prints the
   requests/s that implies, and the server CPU time per poll against the app's own /widget/ping,
   measured in the same gunicorn worker in interleaved rounds, with their ratio.
2. widget.js / embed.js, flow.js and call.js in bytes as the server sends them (brotli, gzip, raw).

Uses REDIS_URL (else an embedded Redis) and a throwaway SQLite database (see widget_config.py).
Options: --requests N per round and endpoint, --rounds N, --threads N, --pages N.
"""

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.widget_config import free_port, keep_dashboard_open, prepare, start_gunicorn  # noqa: E402

ORIGIN = {"Origin": "http://localhost"}


def worker_cpu(master: psutil.Process) -> float:
    """CPU seconds (user + system) of gunicorn's worker processes so far."""
    return sum(sum(child.cpu_times()[:2]) for child in master.children())


def send(port: int, path: str, headers: dict, count: int, threads: int, expect: int) -> None:
    """`count` requests over `threads` keep-alive connections; each must answer `expect`."""
    def client(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(n):
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != expect:
                raise SystemExit(f"{path} answered {response.status}, not {expect}")
        conn.close()

    pool = [threading.Thread(target=client, args=(count // threads,)) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


def live_cost(env: dict, requests: int, rounds: int, threads: int, pages: int) -> None:
    port = free_port()
    proc = start_gunicorn(env, port, workers=1, threads=8)
    master = psutil.Process(proc.pid)
    poll = f"/widget/availability?public_key={env['PUBLIC_KEY']}&domain=localhost"
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", poll, headers=ORIGIN)
        first = conn.getresponse()
        body = first.read()
        etag, seconds = first.getheader("ETag"), json.loads(body)["pollSeconds"]
        conn.request("GET", poll, headers={**ORIGIN, "If-None-Match": etag})
        unchanged = conn.getresponse()
        unchanged.read()
        head_bytes = len(str(unchanged.status)) + sum(len(k) + len(v) + 4 for k, v in unchanged.getheaders())
        conn.close()
        cases = {"ping": ("/widget/ping", ORIGIN, 200),
                 "poll 304": (poll, {**ORIGIN, "If-None-Match": etag}, 304),
                 "poll 200": (poll, ORIGIN, 200)}
        for path, headers, status in cases.values():  # warm up
            send(port, path, headers, threads * 50, threads, status)
        cpu = {name: [] for name in cases}
        for _ in range(rounds):  # interleaved: a shared machine's bursts hit every case alike
            for name, (path, headers, status) in cases.items():
                before = worker_cpu(master)
                send(port, path, headers, requests, threads, status)
                cpu[name].append((worker_cpu(master) - before) / requests * 1000)
    finally:
        proc.terminate()
        proc.wait(10)
    per = {name: statistics.median(values) for name, values in cpu.items()}
    print(f"gunicorn gthread, 1 worker x 8 threads; {threads} keep-alive clients; "
          f"{rounds} interleaved rounds of {requests} requests per case; CPU of the worker process")
    for name, ms in per.items():
        print(f"  {name:<9} {ms:6.3f} ms CPU per request (median of rounds)")
    ratios = [p / q for p, q in zip(cpu["poll 304"], cpu["ping"], strict=True)]
    print(f"  ratio poll 304 / ping: {statistics.median(ratios):.2f} median of rounds "
          f"({min(ratios):.2f}..{max(ratios):.2f})")
    rate = pages / seconds
    cores = rate * per["poll 304"] / 1000
    print(f"  {pages:,} visible pages polling every {seconds} s: {rate:,.0f} requests/s, "
          f"{cores:.2f} CPU cores at {per['poll 304']:.3f} ms each "
          f"(= {rate * per['ping'] / 1000:.2f} cores of /widget/ping at the same rate)")
    print(f"  per open page: 1 request / {seconds} s, a {head_bytes} B header-only 304 while nothing "
          f"changes; hidden pages: none")


def served_sizes(env: dict) -> None:
    port = free_port()
    proc = start_gunicorn(env, port, workers=1, threads=2)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", f"/widget/config?public_key={env['PUBLIC_KEY']}&domain=localhost", headers=ORIGIN)
        assets = json.loads(conn.getresponse().read())["assets"]
        for label, path in (("widget.js / embed.js", "/widget.js"), ("flow.js (first click)", assets["flow"]),
                            ("call.js (Call)", assets["call"])):
            sizes = []
            for encoding in ("br", "gzip", "identity"):
                conn.request("GET", path, headers={"Accept-Encoding": encoding})
                response = conn.getresponse()
                sizes.append(len(response.read()))
            print(f"  {label:<22} {sizes[0] / 1024:5.1f} KB br  {sizes[1] / 1024:5.1f} KB gzip  "
                  f"{sizes[2] / 1024:5.1f} KB raw")
        conn.close()
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--pages", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = prepare(Path(tmp))
        keep_dashboard_open(env)
        print("== live availability")
        live_cost(env, args.requests, args.rounds, args.threads, args.pages)
        print("== scripts as served")
        served_sizes(env)


if __name__ == "__main__":
    main()
