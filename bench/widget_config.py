"""Benchmark of the widget's public side. Prints figures; it is not a test.

1. In one gunicorn run: requests/s and p50/p99 latency of /widget/config against the trivial
   /widget/ping of the same app, and their ratio (target >= 0.8).
2. widget.js / embed.js (and the lazily loaded flow.js) sizes, raw and gzipped (target <= 10 KB).
3. In Chromium, on a customer page from another origin: the main-thread time the widget adds until
   the badge shows (target <= 30 ms) and its cumulative layout shift (target 0).

Uses REDIS_URL (else an embedded Redis) and a throwaway SQLite database.
Options: --seconds N and --rounds N (interleaved, per endpoint), --threads N, --no-browser.
"""

import argparse
import gzip
import http.client
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(workdir: Path) -> dict:
    """A migrated SQLite database with one organization, an available rep and a site on localhost."""
    from flask_migrate import upgrade

    from app import create_app
    from app.auth.service import sign_up
    from app.extensions import db
    from app.models.widget import QualificationFlow, QualificationOption, QualificationQuestion
    from app.redis_store import embedded_url
    from app.sites.service import create_site

    env = {"DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
           "REDIS_URL": os.environ.get("REDIS_URL") or embedded_url(str(workdir)),
           "SECRET_KEY": "bench-secret", "WIDGET_RATE_LIMIT": "100000000 per minute"}
    os.environ.update(env)
    app = create_app()
    with app.app_context():
        logging.disable(logging.INFO)  # the migrations' log lines are not figures
        upgrade(directory=str(ROOT / "migrations"))
        admin = sign_up("Bench Inc", "Bea Bench", "bench@example.com", "bench-password-2024!")
        admin.available = True
        site = create_site(admin.organization_id, "localhost")
        flow = QualificationFlow(organization_id=site.organization_id, site=site)
        question = QualificationQuestion(organization_id=site.organization_id, label="Company size",
                                         type="single_select", flow=flow)
        for i, label in enumerate(["1-10", "11-50", "51-200", "200+"], start=1):
            question.options.append(QualificationOption(organization_id=site.organization_id,
                                                        label=label, value=label, position=i))
        db.session.add(flow)
        db.session.commit()
        env["PUBLIC_KEY"] = site.public_key
        env["REP"] = f"{admin.id} {admin.organization_id}"
        app.extensions["redis"].flushdb()
    return env


def keep_dashboard_open(env: dict) -> threading.Event:
    """The rep's dashboard socket, as presence sees it: a heartbeat every 20 s for the whole run, so
    /widget/config answers the usual "someone is available" (the rule includes presence)."""
    from app import create_app
    from app.realtime import presence

    app, stop = create_app(), threading.Event()
    user_id, org_id = env["REP"].split()

    def beat():
        with app.app_context():
            while not stop.is_set():
                presence.touch(user_id, org_id, "bench-dashboard")
                stop.wait(presence.HEARTBEAT_SECONDS)

    threading.Thread(target=beat, daemon=True).start()
    return stop


def start_gunicorn(env: dict, port: int, workers: int, threads: int):
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", str(threads), "-w", str(workers),
         "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env={**os.environ, **env, "BASE_URL": f"http://127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/widget/ping", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def hammer(port: int, path: str, seconds: float, threads: int) -> tuple[float, list[float]]:
    """Keep-alive clients in threads for `seconds`; requests/s and every latency (ms)."""
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            conn.request("GET", path, headers={"Origin": "http://localhost"})
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise SystemExit(f"{path} answered {response.status}")
            if b'"available":false' in body:
                raise SystemExit("/widget/config says nobody is available: the bench measures the usual case")
            mine.append((time.perf_counter() - start) * 1000)
        conn.close()
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    pool = [threading.Thread(target=client) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return len(latencies) / (time.perf_counter() - started), latencies


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def throughput(env: dict, seconds: float, threads: int, rounds: int) -> None:
    port = free_port()
    proc = start_gunicorn(env, port, workers=2, threads=8)
    config = f"/widget/config?public_key={env['PUBLIC_KEY']}&domain=localhost"
    try:
        hammer(port, config, 1, threads)  # warm up: caches, connections
        hammer(port, "/widget/ping", 1, threads)
        results = {"ping": [], "config": []}
        # many short interleaved rounds: a shared machine's load bursts hit both endpoints alike
        for _ in range(rounds):
            for name, path in (("ping", "/widget/ping"), ("config", config)):
                results[name].append(hammer(port, path, seconds, threads))
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"gunicorn gthread, 2 workers x 8 threads; {threads} keep-alive clients; "
          f"{rounds} interleaved rounds of {seconds:g} s per endpoint")
    for name, runs in results.items():
        rps = statistics.median(r for r, _ in runs)
        lat = [x for _, values in runs for x in values]
        print(f"  /widget/{name:<7} {rps:8.0f} req/s (median round)   p50 {pct(lat, .5):6.2f} ms   "
              f"p99 {pct(lat, .99):6.2f} ms")
    ratios = [c[0] / p[0] for p, c in zip(results["ping"], results["config"], strict=True)]
    ratio = statistics.median(ratios)
    print(f"  ratio config/ping: {ratio:.2f} median of rounds ({min(ratios):.2f}..{max(ratios):.2f}) "
          f"(target >= 0.8) {'OK' if ratio >= 0.8 else 'BELOW TARGET'}")


def sizes() -> None:
    for name in ("loader.js", "flow.js"):
        raw = (ROOT / "static" / "widget" / name).read_bytes()
        served = {"loader.js": "widget.js and embed.js (the same loader)",
                  "flow.js": "flow.js (on first click)"}
        print(f"  {served[name]:<42} {len(raw) / 1024:6.1f} KB raw  "
              f"{len(gzip.compress(raw, 6)) / 1024:5.1f} KB gzipped")
    loader = len(gzip.compress((ROOT / "static" / "widget" / "loader.js").read_bytes(), 6)) / 1024
    print(f"  widget.js gzipped {loader:.1f} KB (target <= 10 KB) {'OK' if loader <= 10 else 'OVER BUDGET'}")


PAGE = """<!doctype html><html><head><title>Customer</title></head><body>
<h1>Acme Inc.</h1><p>{text}</p>{snippet}</body></html>"""


def customer_server(pages: dict) -> tuple[ThreadingHTTPServer, int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = pages.get(self.path, "").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


CLS_OBSERVER = """window.__cls = 0; new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (e) { if (!e.hadRecentInput) window.__cls += e.value; });
}).observe({ type: "layout-shift", buffered: true });"""


PARTS = ("TaskDuration", "ScriptDuration", "RecalcStyleDuration", "LayoutDuration")


# when the badge appeared, from the page's own clock (navigation start = 0)
BADGE_SHOWN_AT = """window.__shownAt === undefined ? null : window.__shownAt"""
SHOWN_OBSERVER = """addEventListener("converc:ready",
  function () { window.__shownAt = performance.now(); });"""


def main_thread_ms(cdp) -> dict:
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {name: metrics[name] * 1000 for name in PARTS}


def browser(env: dict, runs: int = 7) -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        print(f"  skipped: no Chromium at {CHROMIUM}")
        return
    port = free_port()
    proc = start_gunicorn(env, port, workers=1, threads=8)
    text = "Our product page. " * 200
    snippet = (f'<script src="http://127.0.0.1:{port}/widget.js" '
               f'data-ic-public-key="{env["PUBLIC_KEY"]}" defer></script>')
    server, cport = customer_server({"/with": PAGE.format(text=text, snippet=snippet),
                                     "/without": PAGE.format(text=text, snippet="")})
    added, shifts, until_badge = [], [], []
    baseline: dict = {}
    try:
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            for _ in range(runs):
                for kind in ("without", "with"):
                    context = chromium.new_context()
                    page = context.new_page()
                    page.add_init_script(CLS_OBSERVER + SHOWN_OBSERVER)
                    cdp = context.new_cdp_session(page)
                    cdp.send("Performance.enable")
                    page.goto(f"http://localhost:{cport}/{kind}")
                    # no polling from here (Playwright's polling runs on the page's main thread too):
                    # wait, then look once, the same way with and without the widget
                    time.sleep(1.5)
                    shown_at = page.evaluate(BADGE_SHOWN_AT)
                    busy = main_thread_ms(cdp)
                    if kind == "with":
                        if shown_at is None:
                            raise SystemExit("the badge did not show")
                        until_badge.append(shown_at)
                    if kind == "with":
                        added.append({name: busy[name] - baseline[name] for name in PARTS})
                        shifts.append(page.evaluate("window.__cls"))
                    else:
                        baseline = busy
                    context.close()
            chromium.close()
    finally:
        server.shutdown()
        proc.terminate()
        proc.wait(10)
    cost = statistics.median(a["TaskDuration"] for a in added)
    print(f"  main-thread time the widget adds (median of {runs}, with - without): {cost:.1f} ms "
          f"(target <= 30 ms) {'OK' if cost <= 30 else 'OVER TARGET'}")
    print("    of which " + ", ".join(f"{name[:-8]} {statistics.median(a[name] for a in added):.1f} ms"
                                      for name in PARTS[1:]))
    print(f"  from navigation start to the badge on screen (median): {statistics.median(until_badge):.0f} ms")
    print(f"  cumulative layout shift (max of {runs}): {max(shifts):.4f} (target 0) "
          f"{'OK' if max(shifts) == 0 else 'SHIFTS'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = prepare(Path(tmp))
        keep_dashboard_open(env)
        print("== /widget/config throughput")
        throughput(env, args.seconds, args.threads, args.rounds)
        print("== script sizes")
        sizes()
        if not args.no_browser:
            print("== in Chromium")
            browser(env)


if __name__ == "__main__":
    main()
