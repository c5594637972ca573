"""What an idle rep socket costs one web process, how many it holds, and what happens past that.

Prints figures; it is not a test. The app runs as `make run` runs it (bench/ring_latency.py's
gunicorn line: -c deploy/gunicorn.conf.py, the worker class, threads and worker connections of
scripts/run.sh), with ONE process (-w 1) so the memory is one process's.

1. `--sockets` rep dashboards (default: the process's WEBSOCKET_LIMIT) open in bursts of 50,
   each offering permessage-deflate as a browser does (`client_max_window_bits`; `--plain`: not
   offered); every one waits for its "hello". The worker's resident memory before and after: KiB per socket.
2. `--extra` more sockets past the limit: how many are closed with 1013 ("try again later"),
   and /widget/ping's latency while the process is full (against the same ping before any
   socket was open).
3. The anchor, in the same run with the same client: a minimal aiohttp websocket server (one
   process) holding the same number of idle sockets, once with permessage-deflate accepted
   (aiohttp's default) and once declined (as the app does); its KiB per socket and the ratios.

The client is one asyncio loop (aiohttp), so it costs the server nothing per socket but the
socket. Uses BENCH_DATABASE_URL / BENCH_REDIS_URL when set (it empties them!), else a SQLite file
and an embedded Redis in a temporary folder. Every process it starts is stopped on exit, failure
or Ctrl-C. Run: `python bench/sockets.py [--sockets N] [--extra M] [--plain]`.
"""

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import aiohttp
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ring_latency import (  # noqa: E402
    BURST,
    WORK,
    Fixture,
    free_port,
    log,
    settings,
    spawn,
    start_app,
    stop,
    stop_all,
    wait_http,
)

# the least a websocket server holds per idle socket here: aiohttp, one task per socket
ANCHOR = r'''
import sys
from aiohttp import web

async def hold(request):
    ws = web.WebSocketResponse(compress=request.query.get("compress") == "1")
    await ws.prepare(request)
    await ws.send_str('{"type": "hello"}')
    async for _ in ws:
        pass
    return ws

app = web.Application()
app.router.add_get("/ws", hold)
app.router.add_get("/", lambda request: web.Response(text="ok"))
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
'''
BROWSER_DEFLATE = 15  # aiohttp's compress=15 offers "permessage-deflate; client_max_window_bits" like Chrome


def worker_rss_kib(master_pid: int) -> float:
    """The resident memory of the (one) gunicorn worker, or of the process itself (the anchor)."""
    proc = psutil.Process(master_pid)
    children = proc.children(recursive=True)
    return sum(p.memory_info().rss for p in (children or [proc])) / 1024


class Holder:
    """Idle sockets held open by one asyncio loop, each read in the background (so pings are answered)."""

    def __init__(self, session: aiohttp.ClientSession, compress: int = BROWSER_DEFLATE):
        self.session, self.compress, self.sockets, self.readers = session, compress, [], []

    async def open(self, url: str, headers: dict) -> int | None:
        """Open one socket; None once it said hello, else the close code it got instead."""
        ws = await self.session.ws_connect(url, headers=headers, compress=self.compress,
                                           autoping=True, heartbeat=None, max_msg_size=0)
        try:
            message = await asyncio.wait_for(ws.receive(), 60)
        except TimeoutError:
            await ws.close()
            return "no answer in 60 s"
        if message.type == aiohttp.WSMsgType.TEXT:
            self.sockets.append(ws)
            self.readers.append(asyncio.create_task(self._drain(ws)))
            return None
        await ws.close()
        # the code the server's close frame carried (aiohttp's ws.close_code turns into 1006 when the
        # server drops the TCP connection during the closing handshake, after its frame arrived)
        return message.data if message.type == aiohttp.WSMsgType.CLOSE else f"{message.type!r}"

    async def _drain(self, ws):
        async for _ in ws:
            pass

    async def open_in_bursts(self, urls_headers: list) -> list:
        codes = []
        for start in range(0, len(urls_headers), BURST):
            burst = urls_headers[start:start + BURST]
            codes += await asyncio.gather(*(self.open(url, headers) for url, headers in burst))
        return codes

    async def close(self):
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        for task in self.readers:
            task.cancel()
        self.sockets, self.readers = [], []


async def ping_ms(session: aiohttp.ClientSession, url: str, times: int = 20) -> list[float]:
    took = []
    for _ in range(times):
        started = time.perf_counter()
        async with session.get(url + "/widget/ping", timeout=aiohttp.ClientTimeout(total=30)) as answer:
            assert answer.status == 200, answer.status
            await answer.read()
        took.append((time.perf_counter() - started) * 1000)
    return took


async def settle_kib(pid: int) -> float:
    """RSS once the sockets' threads have settled (two readings a second apart that agree)."""
    last = worker_rss_kib(pid)
    for _ in range(10):
        await asyncio.sleep(1)
        now = worker_rss_kib(pid)
        if abs(now - last) < 256:
            return now
        last = now
    return last


async def measure_app(fixture: Fixture, proc, url: str, count: int, extra: int, compress: int) -> dict:
    ws = url.replace("http://", "ws://") + "/realtime/rep"
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        idle_ping = await ping_ms(session, url)
        before = await settle_kib(proc.pid)
        holder = Holder(session, compress)
        started = time.perf_counter()
        codes = await holder.open_in_bursts(
            [(ws, {"Cookie": fixture.cookies[i], "Origin": url}) for i in range(count)])
        opening = time.perf_counter() - started
        after = await settle_kib(proc.pid)
        held = len(holder.sockets)
        threads = sum(p.num_threads() for p in psutil.Process(proc.pid).children(recursive=True))
        past = await holder.open_in_bursts(
            [(ws, {"Cookie": fixture.cookies[count + i], "Origin": url}) for i in range(extra)])
        full_ping = await ping_ms(session, url)
        await holder.close()
    return {"held": held, "refused_early": sum(c is not None for c in codes),
            "codes_early": set(codes) - {None},
            "kib": (after - before) / max(held, 1), "threads": threads, "opening_s": opening,
            "past_1013": sum(c == 1013 for c in past), "past_other": [c for c in past if c != 1013],
            "idle_ping": idle_ping, "full_ping": full_ping}


def start_anchor():
    port = free_port()
    script = WORK / "socket_anchor.py"
    script.write_text(ANCHOR)
    proc = spawn([sys.executable, str(script), str(port)], {**os.environ}, "socket_anchor")
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/", proc, "socket_anchor")
    return proc, url


async def measure_anchor(proc, url: str, count: int, compress: bool) -> float:
    ws = url.replace("http://", "ws://") + f"/ws?compress={int(compress)}&n="
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        before = await settle_kib(proc.pid)
        holder = Holder(session)
        await holder.open_in_bursts([(ws + str(i), {}) for i in range(count)])
        after = await settle_kib(proc.pid)
        held = len(holder.sockets)
        await holder.close()
    assert held == count, f"the anchor held {held} of {count}"
    return (after - before) / count


def main():
    parser = argparse.ArgumentParser()
    threads = int(os.environ.get("WEB_THREADS", "5100"))
    limit = os.environ.get("WEBSOCKET_LIMIT") or threads - min(100, threads // 2)  # deploy/gunicorn.conf.py's
    parser.add_argument("--sockets", type=int, default=int(limit), help="default: the process's limit")
    parser.add_argument("--extra", type=int, default=50)
    parser.add_argument("--plain", action="store_true", help="the client does not offer permessage-deflate")
    options = parser.parse_args()
    os.environ["WEB_CONCURRENCY"] = "1"  # one process: its memory and its limit
    env = settings()
    try:
        log(f"{options.sockets} idle rep sockets (+{options.extra} past the limit) on one process")
        fixture = Fixture(env, options.sockets + options.extra, routed=False)
        app_proc, url = start_app(env)
        app = asyncio.run(measure_app(fixture, app_proc, url, options.sockets, options.extra,
                                      0 if options.plain else BROWSER_DEFLATE))
        stop(app_proc)
        anchor = {}
        for compress in (True, False):  # a fresh process each, so neither inherits the other's heap
            anchor_proc, anchor_url = start_anchor()
            anchor[compress] = asyncio.run(measure_anchor(anchor_proc, anchor_url, options.sockets, compress))
            stop(anchor_proc)
    finally:
        stop_all()
    report(options, app, anchor)


def report(options, app: dict, anchor: dict) -> None:
    med = statistics.median
    print(f"one process as make run (-w 1, WEB_THREADS {os.environ.get('WEB_THREADS', '5100')}, "
          f"WEBSOCKET_LIMIT {os.environ.get('WEBSOCKET_LIMIT', 'threads - 100')}); {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}; client {'does not offer' if options.plain else 'offers'} "
          "permessage-deflate")
    print(f"idle rep sockets held: {app['held']} of {options.sockets} "
          f"(refused before the limit: {app['refused_early']} {sorted(app['codes_early'])}), "
          f"opened in {app['opening_s']:.1f} s; worker threads {app['threads']}")
    print(f"memory per idle socket: {app['kib']:.1f} KiB (target <= 64); anchor (aiohttp) "
          f"{anchor[True]:.1f} KiB with deflate, {anchor[False]:.1f} KiB without; ratios "
          f"{app['kib'] / max(anchor[True], 0.1):.1f} and {app['kib'] / max(anchor[False], 0.1):.1f}")
    others = f", others: {app['past_other'][:10]}" if app["past_other"] else ""
    print(f"past the limit: {app['past_1013']} of {options.extra} closed with 1013{others}")
    full, idle = app["full_ping"], app["idle_ping"]
    print(f"/widget/ping while full: median {med(full):.1f} ms, max {max(full):.1f} ms "
          f"(before any socket: median {med(idle):.1f} ms, max {max(idle):.1f} ms)")


if __name__ == "__main__":
    main()
