"""Benchmark of the widget's public side. Prints figures; it is not a test.

1. Servers started the way `make run` does (gunicorn -c deploy/gunicorn.conf.py, gthread, 2 workers,
   --threads 1100, access log on), loaded by `wrk`: requests/s, p50/p99 and CPU time per request
   (the workers' own utime+stime, so a loaded machine does not skew the ratios) of /widget/config
   with 1, 100 and 10,000 sites (a random site per request; every site's cache warmed by the
   background pass, as cron does) against two anchors measured in the same run: the app's
   /widget/ping and a bare Flask app under the same flags. Targets at 10,000 sites: >= 0.8x ping's
   requests/s and <= 1.3x its CPU per request.
2. widget.js / embed.js (and the lazily loaded flow.js) sizes, raw and gzipped (target <= 10 KB).
3. In Chromium, on a customer page from another origin: the main-thread time the widget adds until
   the badge shows (target <= 30 ms) and its cumulative layout shift (target 0).

Uses Redis db 8 of BENCH_REDIS_URL (default redis://127.0.0.1:6379/8; flushed at start and end) and a
throwaway SQLite database. Options: --seconds N and --rounds N (interleaved), --connections N, --no-browser.
"""

import argparse
import gzip
import logging
import os
import re
import resource
import shutil
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


REPS: list = []  # (user id, organization id) of the reps add_sites made: their dashboards stay open


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
    from app.sites.service import create_site

    env = {"DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
           "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"),
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
                for rep_id, rep_org in [(user_id, org_id), *REPS]:
                    presence.touch(rep_id, rep_org, "bench-dashboard")
                stop.wait(presence.HEARTBEAT_SECONDS)

    threading.Thread(target=beat, daemon=True).start()
    return stop


BARE_APP = """from flask import Flask, jsonify
app = Flask(__name__)
@app.get("/widget/ping")
def ping():
    return jsonify({"ok": True})
"""


def start_gunicorn(env: dict, port: int, module: str = "wsgi:app", workers: int = 2, threads: int = 1100,
                   pythonpath: str | None = None):
    """gunicorn with `make run`'s flags (scripts/run.sh), its access log thrown away."""
    args = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "-k", "gthread",
            "--threads", str(threads), "--worker-connections", "2000", "-w", str(workers),
            "-b", f"127.0.0.1:{port}", "--access-logfile", "-"]
    if pythonpath:
        args += ["--pythonpath", pythonpath]
    proc = subprocess.Popen([*args, module], cwd=ROOT, env={**os.environ, **env,
                            "BASE_URL": f"http://127.0.0.1:{port}"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/widget/ping", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def cpu_seconds(master_pid: int) -> float:
    """utime + stime of a gunicorn master and its workers (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    pids = [master_pid]
    for child in Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split():
        pids.append(int(child))
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def add_sites(env: dict, count: int, organizations: int) -> list[tuple[str, str]]:
    """`count` more sites over `organizations` organizations, each with an available rep whose
    dashboard is open; (public key, domain) pairs."""
    from app import create_app
    from app.auth.service import sign_up
    from app.extensions import db
    from app.models import Site
    from app.realtime import presence

    app = create_app()
    pairs = []
    with app.app_context():
        owners = []
        for o in range(organizations):
            admin = sign_up(f"Org {count}-{o}", "Rep", f"rep{o}@org{count}-{o}.example.com",
                            "bench-password-2024!")
            admin.available = True
            owners.append(admin)
        db.session.commit()
        sites = [Site(organization_id=owners[i % organizations].organization_id,
                      domain=f"s{i}.n{count}.example.com") for i in range(count)]
        db.session.add_all(sites)
        db.session.commit()
        pairs = [(site.public_key, site.domain) for site in sites]
        REPS.extend((str(a.id), str(a.organization_id)) for a in owners)
        for user_id, org_id in REPS:
            presence.touch(user_id, org_id, "bench-dashboard")
    return pairs


def warm_caches() -> float:
    """The background pass cron runs (app.widget.service.warm), until it has nothing left to do."""
    from app import create_app
    from app.widget.service import warm

    app, started = create_app(), time.perf_counter()
    with app.app_context():
        warm()
    return time.perf_counter() - started


def wrk_script(workdir: Path, name: str, pairs: list[tuple[str, str]]) -> Path:
    """A wrk Lua script that asks /widget/config for a random one of `pairs` per request."""
    rows = ",".join(f'"/widget/config?public_key={key}&domain={domain}"' for key, domain in pairs)
    path = workdir / f"{name}.lua"
    path.write_text(f"""local paths = {{{rows}}}
math.randomseed(os.time())
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
""")
    return path


def run_wrk(port: int, path: str, seconds: float, connections: int, script: Path | None,
            master_pid: int) -> dict:
    cpu_before = cpu_seconds(master_pid)
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    if script:
        args += ["-s", str(script)]
    out = subprocess.run([*args, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                         check=True).stdout
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = cpu_seconds(master_pid) - cpu_before
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    if "Non-2xx" in out:
        raise SystemExit(f"{path} ({script}): some answers were not 2xx\n{out}")
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "requests": requests,
            "p50": _ms(re.search(r"50%\s+(\S+)", out).group(1)),
            "p99": _ms(re.search(r"99%\s+(\S+)", out).group(1)),
            "cpu_ms": server_cpu * 1000 / max(requests, 1),
            "wrk_cpu": (usage.ru_utime + usage.ru_stime - usage_before.ru_utime - usage_before.ru_stime)
            / seconds}


def _ms(text: str) -> float:
    """wrk's latency ("812.00us", "1.20s", "1.01m"); NaN when it printed none (e.g. "-nan")."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        return float("nan")
    return float(match.group(1)) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[match.group(2)]


def throughput(env: dict, workdir: Path, seconds: float, rounds: int, connections: int) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    sites = {1: [(env["PUBLIC_KEY"], "localhost")]}
    started = time.perf_counter()
    sites[100] = add_sites(env, 100, 10)
    sites[10000] = add_sites(env, 10000, 100)
    print(f"  {sum(map(len, sites.values()))} sites in {len(REPS) + 1} organizations created "
          f"in {time.perf_counter() - started:.0f} s; background warm pass: {warm_caches():.0f} s")
    scripts = {n: wrk_script(workdir, f"sites{n}", pairs) for n, pairs in sites.items()}
    (workdir / "bare").mkdir()
    (workdir / "bare" / "bare_app.py").write_text(BARE_APP)
    app_port, bare_port = free_port(), free_port()
    metrics = workdir / "metrics"
    metrics.mkdir()
    procs = [start_gunicorn({**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}, app_port),
             start_gunicorn(env, bare_port, "bare_app:app", pythonpath=str(workdir / "bare"))]
    cases = [("bare Flask /widget/ping", bare_port, "/widget/ping", None, procs[1].pid),
             ("app /widget/ping", app_port, "/widget/ping", None, procs[0].pid)]
    cases += [(f"/widget/config, {n:,} sites", app_port, "/", scripts[n], procs[0].pid) for n in sites]
    results: dict = {name: [] for name, *_ in cases}
    try:
        for _name, port, path, script, pid in cases:  # warm up: connections, the process caches
            run_wrk(port, path, 1, connections, script, pid)
        for _ in range(rounds):  # interleaved: a shared machine's load bursts hit every case alike
            for name, port, path, script, pid in cases:
                results[name].append(run_wrk(port, path, seconds, connections, script, pid))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(15)
    print(f"gunicorn as `make run` (gthread, 2 workers x 1100 threads, access log); wrk -t2 -c{connections}; "
          f"{rounds} interleaved rounds of {seconds:g} s per case; medians of rounds")
    summary = {}
    for name, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p99", "cpu_ms", "wrk_cpu")}
        summary[name] = med
        print(f"  {name:<30} {med['rps']:7.0f} req/s  p50 {med['p50']:6.2f} ms  p99 {med['p99']:7.2f} ms  "
              f"CPU {med['cpu_ms']:5.2f} ms/req   (wrk used {med['wrk_cpu'] * 100:.0f}% of a core)")
    ping, bare = summary["app /widget/ping"], summary["bare Flask /widget/ping"]
    print(f"  app ping vs bare Flask: CPU/req {ping['cpu_ms'] / bare['cpu_ms']:.2f}x, "
          f"req/s {ping['rps'] / bare['rps']:.2f}x")
    for n in sites:
        case = summary[f"/widget/config, {n:,} sites"]
        rps, cpu = case["rps"] / ping["rps"], case["cpu_ms"] / ping["cpu_ms"]
        verdict = "OK" if rps >= 0.8 and cpu <= 1.3 else "BELOW TARGET"
        print(f"  config at {n:>6,} sites vs app ping: req/s {rps:.2f}x (target >= 0.8), "
              f"CPU/req {cpu:.2f}x (target <= 1.3) {verdict if n == 10000 else ''}")
        print(f"  {'':>18} vs bare Flask: req/s {case['rps'] / bare['rps']:.2f}x, "
              f"CPU/req {case['cpu_ms'] / bare['cpu_ms']:.2f}x")


def sizes() -> None:
    """As served (app.widget.scripts: whole-line comments stripped), gzipped at level 6."""
    from app.widget.scripts import served_source

    def served(name: str) -> bytes:
        return served_source((ROOT / "static" / "widget" / name).read_text()).encode()

    for name in ("loader.js", "flow.js"):
        raw = served(name)
        what = {"loader.js": "widget.js and embed.js (the same loader)",
                "flow.js": "flow.js (on first click)"}
        print(f"  {what[name]:<42} {len(raw) / 1024:6.1f} KB served  "
              f"{len(gzip.compress(raw, 6)) / 1024:5.1f} KB gzipped")
    loader = len(gzip.compress(served("loader.js"), 6)) / 1024
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
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = prepare(Path(tmp))
        try:
            keep_dashboard_open(env)
            print("== /widget/config at 1, 100 and 10,000 sites")
            throughput(env, Path(tmp), args.seconds, args.rounds, args.connections)
            print("== script sizes")
            sizes()
            if not args.no_browser:
                print("== in Chromium")
                browser(env)
        finally:
            import redis

            redis.Redis.from_url(env["REDIS_URL"]).flushdb()  # our own db only


if __name__ == "__main__":
    main()
