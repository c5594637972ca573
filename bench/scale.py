"""What one web node holds and carries, for the README's sizing: idle rep sockets (memory per
socket, all of them answering) and calls per minute while those reps are online.

Prints figures; it is not a test. The app runs as `make run` runs it (bench/ring_latency.py's
gunicorn line: -c deploy/gunicorn.conf.py, gthread, scripts/run.sh's threads and worker
connections, WEB_CONCURRENCY=2 processes): one node. The anchor, in the same run and measured
with the same client: ring_latency's minimal aiohttp + Redis pub/sub server (one process), the
least any "request -> Redis -> sockets" design costs here. Ratios app / anchor are printed.

1. `--reps` dashboard sockets (default 1,000) opened in bursts; the node's resident memory
   (master and workers) before and after, per socket; the node's own count of sockets
   (converc_rep_sockets on /metrics).
2. With them online, `--clients` visitors (threads) request a call and cancel it, back to back,
   for `--seconds`: completed calls per minute. Every call rings every rep, so a call costs
   `--reps` ring messages: the worst case (teams ring fewer). The anchor's call is its one POST
   (it has no cancel), so its figure flatters it.

Uses BENCH_DATABASE_URL / BENCH_REDIS_URL when set (it empties them!), else a SQLite file and an
embedded Redis in a temporary folder. Run: `python bench/scale.py [--reps N] [--seconds S]`.
"""

import argparse
import os
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ring_latency import (  # noqa: E402
    Fixture,
    Rep,
    close_all,
    connect_in_bursts,
    log,
    post_json,
    settings,
    start_anchor,
    start_app,
    stop,
    stop_all,
)


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (a gunicorn master and its workers)."""
    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20


def rep_sockets_reported(url: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    return next(s.value for f in text_string_to_metric_families(text) for s in f.samples
                if s.name == "converc_rep_sockets")


def sockets_cost(pid: int, open_reps) -> tuple[list[Rep], float]:
    """Open the sockets; MiB of resident memory they added to the server."""
    before = rss_mib(pid)
    reps = open_reps()
    time.sleep(2)  # let the threads settle
    return reps, rss_mib(pid) - before


def calls_per_minute(request_call, clients: int, seconds: float) -> tuple[float, int]:
    done, failed, lock = [0], [0], threading.Lock()
    stop_at = time.monotonic() + seconds

    def visitor(k):
        n = 0
        while time.monotonic() < stop_at:
            try:
                request_call(f"{k}-{n}")
                with lock:
                    done[0] += 1
            except Exception:  # noqa: BLE001 - a refused or failed call is counted, not fatal
                with lock:
                    failed[0] += 1
            n += 1

    started = time.monotonic()
    threads = [threading.Thread(target=visitor, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0] * 60 / (time.monotonic() - started), failed[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    options = parser.parse_args()
    env = settings()
    try:
        log(f"{options.reps} reps, {options.clients} visitors for {options.seconds:.0f} s")
        fixture = Fixture(env, options.reps, routed=False)
        app_proc, url = start_app(env)
        anchor_proc, anchor_url = start_anchor(env["REDIS_URL"])

        def app_call(n, online=True):
            body = post_json(url + "/widget/calls", {"publicKey": fixture.public_key, "fingerprint": f"s-{n}",
                                                      "qualificationToken": fixture.token,
                                                      "mediaType": "video"})
            if online:  # nobody online yet in the warm-up: missed at once
                assert body["call"]["status"] == "requested", body
                post_json(body["cancelUrl"], {"token": body["token"]})

        ws = url.replace("http://", "ws://") + "/realtime/rep"
        for _ in range(4):  # warm up: the first requests of each process import and fill caches
            app_call("warm-up", online=False)
        reps, app_mib = sockets_cost(app_proc.pid, lambda: connect_in_bursts(
            lambda i: Rep(ws, {"Cookie": fixture.cookies[i], "Origin": url}), options.reps))
        reported = rep_sockets_reported(url)

        app_cpm, app_failed = calls_per_minute(app_call, options.clients, options.seconds)
        close_all(reps)

        anchor_ws = anchor_url.replace("http://", "ws://") + "/ws?rep="
        reps, anchor_mib = sockets_cost(anchor_proc.pid, lambda: connect_in_bursts(
            lambda i: Rep(anchor_ws + fixture.rep_ids[i], {}), options.reps))
        anchor_cpm, _ = calls_per_minute(
            lambda n: post_json(anchor_url + "/call", {"id": uuid.uuid4().hex, "reps": fixture.rep_ids}),
            options.clients, options.seconds)
        close_all(reps)
        stop(app_proc)
        stop(anchor_proc)
    finally:
        stop_all()

    per_app, per_anchor = app_mib * 1024 / options.reps, anchor_mib * 1024 / options.reps
    processes = os.environ.get("WEB_CONCURRENCY", "2")
    print(f"one node as make run (gunicorn gthread x{processes}); anchor: aiohttp + Redis pub/sub;"
          f" {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, database "
          f"{env['DATABASE_URL'].split(':')[0]}")
    print(f"idle rep sockets: {options.reps} open, node counts {reported:.0f}; "
          f"{app_mib:.0f} MiB ({per_app:.0f} KiB/socket) vs anchor {anchor_mib:.0f} MiB "
          f"({per_anchor:.0f} KiB/socket); ratio {per_app / max(per_anchor, 0.1):.1f}")
    print(f"calls per minute, each ringing {options.reps} reps, {options.clients} visitors: "
          f"{app_cpm:.0f} ({app_failed} failed) vs anchor {anchor_cpm:.0f}; ratio {app_cpm / anchor_cpm:.2f}")


if __name__ == "__main__":
    main()
