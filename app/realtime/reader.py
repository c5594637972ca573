"""One thread per process does every websocket's reads and writes, instead of a thread per socket.

simple_websocket (under flask-sock) starts a thread per socket that blocks in recv() and sends
the pings. Passed as flask-sock's `thread_class`, `SharedReader` registers the socket with this
process's selector instead: one thread reads whichever socket has data (simple_websocket's own
frame handling then wakes the view waiting in receive(), as its thread would) and sends the
pings. What it does per socket is what simple_websocket's `Base._thread` does, minus the
blocking; it relies on that class's attributes (sock, ws, connected, event, pong_received).

Writes, from whichever thread, are queued on the socket's `_Outbox` and written without blocking
(the loop finishes them when the client takes more): a client that stops reading stalls nobody,
and past MAX_PENDING queued bytes it is closed.

A view may also `hand_off` its socket and return (the rep dashboards do): gunicorn's thread goes
back to the pool, and the socket's messages, timer and close become calls to a session object,
one at a time and in order, on a small shared pool of threads. An idle socket then costs its
connection and a few objects, no thread (bench/sockets.py).
"""

import collections
import copy
import logging
import os
import selectors
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from flask import copy_current_request_context, current_app
from simple_websocket import ConnectionClosed
from wsproto.events import Ping
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError

log = logging.getLogger(__name__)
MAX_PENDING = 1024 * 1024  # queued for a client that reads nothing: past this it is gone
SESSION_THREADS = 16  # run the handed-off sockets' callbacks (Redis and SQL calls, short)
SCAN_SECONDS = 0.5  # how often the loop looks for pings and ticks that are due
HANDED_OFF = object()  # what a view returns once its socket is a session's


class _Outbox:
    """Stands in for the socket in simple_websocket: sends are queued and written without blocking."""

    def __init__(self, sock: socket.socket):
        sock.setblocking(False)
        self.sock, self.pending, self.lock = sock, bytearray(), threading.Lock()

    def fileno(self) -> int:
        return self.sock.fileno()

    def recv(self, size: int) -> bytes:
        return self.sock.recv(size)

    def send(self, data: bytes) -> int:
        with self.lock:
            if len(self.pending) + len(data) > MAX_PENDING:
                _loop.call_soon(lambda: _loop.end_of(self))
                raise BrokenPipeError("the client has not read what was sent to it")
            self.pending += data
            self._write()
            waiting = bool(self.pending)
        if waiting:
            _loop.want_write(self)
        return len(data)

    def write_pending(self) -> bool:
        """The client can take more: write what is queued; whether some is still waiting."""
        with self.lock:
            self._write()
            return bool(self.pending)

    def _write(self) -> None:
        if self.pending:
            try:
                del self.pending[:self.sock.send(self.pending)]
            except (BlockingIOError, InterruptedError):
                pass  # the client's window is full: the loop writes once it is not

    def keep_from_server(self) -> None:
        """Once the view returns, the server shuts the connection down and closes it: keep a
        descriptor of our own, and leave the server's naming an unconnected socket instead.

        Closing the server's descriptor alone would be harmless (ours keeps the connection open),
        but shutdown() acts on the connection whichever descriptor names it: gunicorn's
        close_graceful (SHUT_WR, after the view) would send the client a FIN. With a blank socket
        under the server's number, its setblocking/shutdown/close act on that one (shutdown fails
        with ENOTCONN, which gunicorn expects of a client gone). Under the lock, so no send is
        between the two descriptors: one made before goes out on the connection, one after on ours."""
        with self.lock:
            ours = self.sock.dup()
            ours.setblocking(False)
            with socket.socket(self.sock.family, self.sock.type) as blank:
                os.dup2(blank.fileno(), self.sock.fileno(), inheritable=False)
            self.sock = ours

    def close(self) -> None:
        self.sock.close()


class _Session:
    """A handed-off socket's callbacks, run one at a time and in order, in the app's context."""

    def __init__(self, handler):
        self.handler, self.app = handler, current_app._get_current_object()
        self.calls, self.running, self.lock = collections.deque(), False, threading.Lock()

    def call(self, function, *args) -> None:
        with self.lock:
            self.calls.append((function, args))
            if self.running:
                return
            self.running = True
        try:
            _workers.submit(self._run)
        except RuntimeError:
            pass  # the process is exiting (wait_for_sessions): nothing runs any more

    def _run(self) -> None:
        while True:
            with self.lock:
                if not self.calls:
                    self.running = False
                    return
                function, args = self.calls.popleft()
            with self.app.app_context():
                try:
                    function(*args)
                except Exception:  # noqa: BLE001 - one socket's failure must not end the others'
                    log.exception("realtime: %s failed", getattr(function, "__qualname__", function))


_workers = ThreadPoolExecutor(SESSION_THREADS, thread_name_prefix="realtime-session")


class _Loop:
    def __init__(self):
        self.selector = selectors.DefaultSelector()
        self.next_ping: dict = {}  # socket -> when it is next pinged
        self.sessions: dict = {}  # handed-off socket -> its _Session
        self.next_tick: dict = {}  # handed-off socket -> when its session's tick is next due
        self.soon: list = []  # what other threads asked the loop's thread to do (call_soon)
        self.wake_up = socket.socketpair()
        self.wake_up[0].setblocking(False)
        self.next_scan = 0.0
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def add(self, ws) -> None:
        ws.sock = _Outbox(ws.sock)
        self._register(ws)

    def _register(self, ws) -> None:
        with self.lock:
            if ws.ping_interval:
                self.next_ping[ws] = time.monotonic() + ws.ping_interval
            self.selector.register(ws.sock, selectors.EVENT_READ, ws)
            if self.thread is None:
                self.selector.register(self.wake_up[0], selectors.EVENT_READ, None)
                self.thread = threading.Thread(target=self._run, name="websocket-reader", daemon=True)
                self.thread.start()

    def adopt(self, view_ws, handler) -> bool:
        """The view's socket becomes `handler`'s (see hand_off); False if it closed first. Done by
        the loop's own thread, between two reads, so no read, ping or close of the socket is under
        way meanwhile; the view waits for it, and returns only once the server's descriptor is blank."""
        session, adopted, claim = _Session(handler), threading.Event(), threading.Lock()
        # opened() runs in (a copy of) the view's request context: url_for, the request's headers
        opened = copy_current_request_context(handler.opened)
        outcome = []

        def swap():
            if not claim.acquire(blocking=False):
                return  # the view stopped waiting: the socket is no longer its to give
            try:
                outcome.append(self._swap(view_ws, session, opened))
            finally:
                adopted.set()

        self.call_soon(swap)
        if not adopted.wait(30) and claim.acquire(blocking=False):
            raise RuntimeError("the websocket loop did not take the socket")
        adopted.wait()  # the swap had begun: it ends without waiting on anything
        if not outcome:
            raise RuntimeError("the websocket loop failed to take the socket (see its log)")
        return outcome[0]

    def _swap(self, view_ws, session, opened) -> bool:
        """On the loop's thread. The order matters: the socket leaves the selector while its
        descriptor still names the connection (epoll forgets by number); the server's descriptor is
        blanked before anything can be sent from the session; the session's first call is opened(),
        then what arrived while the view ran, then whatever the loop reads next."""
        if not view_ws.connected:
            return False  # closed (by the client, or a ping unanswered) before the loop got to it
        self.forget(view_ws)
        view_ws.sock.keep_from_server()
        ws = copy.copy(view_ws)  # shares the connection's state (wsproto, the outbox, the buffer)
        view_ws.connected = False  # flask-sock's close of the view's, after the view, sends nothing
        with self.lock:
            self.sessions[ws] = session
            self.next_tick[ws] = time.monotonic() + session.handler.tick_seconds
        self._register(ws)
        if ws.sock.pending:  # a ping or pong still queued for the client
            self.want_write(ws.sock)
        session.call(opened, ws)
        self._deliver(ws, session)
        return True

    def call_soon(self, function) -> None:
        """Run `function` on the loop's thread, woken at once."""
        with self.lock:
            self.soon.append(function)
        self.wake_up[1].send(b"!")

    def want_write(self, outbox: _Outbox) -> None:
        self._watch(outbox, selectors.EVENT_READ | selectors.EVENT_WRITE)

    def _watch(self, outbox: _Outbox, events: int) -> None:
        with self.lock:
            try:
                key = self.selector.get_key(outbox)
                if key.events != events:
                    self.selector.modify(outbox, events, key.data)
            except (KeyError, ValueError):
                pass  # closed meanwhile

    def forget(self, ws) -> None:
        with self.lock:
            self.next_ping.pop(ws, None)
            self.next_tick.pop(ws, None)
            try:
                self.selector.unregister(ws.sock)
            except (KeyError, ValueError):
                pass  # already gone

    def _run(self) -> None:
        while True:
            try:
                events = self.selector.select(timeout=1)
            except OSError:  # a socket closed while select() started: the next pass goes without it
                time.sleep(0.01)
                continue
            for key, mask in events:
                if key.data is None:
                    self._run_soon()
                    continue
                if mask & selectors.EVENT_WRITE and self._current(key):
                    self._write(key.data)
                if mask & selectors.EVENT_READ and self._current(key):
                    self._read(key.data)
            if time.monotonic() >= self.next_scan:  # not at every read: each scan looks at every socket
                self.next_scan = time.monotonic() + SCAN_SECONDS
                self._ping()
                self._tick()

    def _current(self, key) -> bool:
        """Whether an event of this pass is still for the socket the loop watches: an earlier event
        of the same pass may have ended it, or a hand-off (_run_soon) given it to a session. Read as
        the view's, such a socket would say connected again (the view's close, after the view, then
        reached the client) and its message would go to no session. (epoll reports by level: an
        event skipped for a socket still watched comes again at the next pass.)"""
        with self.lock:
            try:
                return self.selector.get_key(key.fileobj).data is key.data
            except (KeyError, ValueError):  # forgotten, or closed (no descriptor any more)
                return False

    def _run_soon(self) -> None:
        try:
            self.wake_up[0].recv(4096)
        except BlockingIOError:
            pass
        with self.lock:
            functions, self.soon = self.soon, []
        for function in functions:
            try:
                function()
            except Exception:  # noqa: BLE001 - the loop serves every other socket: it must go on
                log.exception("realtime: the websocket loop's %s failed", function.__name__)

    def _write(self, ws) -> None:
        try:
            if not ws.sock.write_pending():
                self._watch(ws.sock, selectors.EVENT_READ)
        except OSError:
            self._end(ws)

    def _read(self, ws) -> None:
        try:
            data = ws.sock.recv(ws.receive_bytes)
            if not data:
                raise OSError("closed by the client")
            ws.ws.receive_data(data)
            ws.connected = ws._handle_events()
        except (BlockingIOError, InterruptedError):
            return
        except (OSError, LocalProtocolError):
            ws.connected = False
        session = self.sessions.get(ws)
        if session is not None:
            self._deliver(ws, session)
        if not ws.connected:
            self._end(ws)

    def _deliver(self, ws, session) -> None:
        while ws.input_buffer:
            session.call(session.handler.message, ws.input_buffer.pop(0))

    def _end(self, ws) -> None:
        """The socket is closed (either side, or a client gone): wake its view or end its session."""
        ws.connected = False
        ws.event.set()
        self.forget(ws)
        ws.sock.close()
        with self.lock:
            session = self.sessions.pop(ws, None)
        if session is not None:
            session.call(session.handler.closed)

    def end_of(self, outbox: _Outbox) -> None:
        try:
            self._end(self.selector.get_key(outbox).data)
        except (KeyError, ValueError):
            pass  # ended already

    def _ping(self) -> None:
        for ws in self._due(self.next_ping, lambda ws: ws.ping_interval):
            try:
                if not ws.connected:  # closed by this side a whole interval ago, never answered
                    self._end(ws)
                elif not ws.pong_received:  # the last ping went unanswered: the client has vanished
                    ws.close(reason=CloseReason.POLICY_VIOLATION, message="Ping/Pong timeout")
                    self._end(ws)
                else:
                    ws.pong_received = False
                    ws.sock.send(ws.ws.send(Ping()))
            except (OSError, LocalProtocolError, ConnectionClosed):
                self._end(ws)

    def _tick(self) -> None:
        for ws in self._due(self.next_tick, lambda ws: self.sessions[ws].handler.tick_seconds):
            self.sessions[ws].call(self.sessions[ws].handler.tick)

    def _due(self, schedule: dict, interval) -> list:
        """The sockets whose time in `schedule` has come, each rescheduled one interval later."""
        now = time.monotonic()
        with self.lock:
            due = [ws for ws, at in schedule.items() if at <= now]
            for ws in due:
                schedule[ws] = now + interval(ws)
        return due

    def open_sessions(self) -> int:
        with self.lock:
            return len(self.sessions)


_loop = _Loop()


class SharedReader:
    """flask-sock's `thread_class`: what simple_websocket takes for a socket's reader thread."""

    def __init__(self, target):
        self.ws = target.__self__  # simple_websocket passes its bound `_thread`
        self.name = "websocket-reader"

    def start(self) -> None:
        _loop.add(self.ws)


def hand_off(ws, handler) -> object:
    """The view is done with `ws` and returns what this returns. HANDED_OFF: from now on the loop
    calls, in the app's context and one at a time, `handler.opened(ws)` first (in the view's
    request context), `handler.message(text)` for each message, `handler.tick()` every
    `handler.tick_seconds`, and `handler.closed()` last. The `ws` they get is a copy: flask-sock's
    close of the view's own when the view returns does nothing, and gunicorn's shutdown and close
    of its socket reach no client (_Outbox.keep_from_server). None: the socket had closed already,
    and none of the handler's methods is called."""
    return HANDED_OFF if _loop.adopt(ws, handler) else None


def forget(ws) -> None:
    """The socket's handler has finished: stop watching it before its file descriptor is reused."""
    _loop.forget(ws)


def open_sessions() -> int:
    return _loop.open_sessions()


def wait_for_sessions(timeout: float) -> int:
    """A worker stopping: give handed-off sockets closed by the drain time to run their `closed`.
    Answers how many are still open."""
    deadline = time.monotonic() + timeout
    while _loop.open_sessions() and time.monotonic() < deadline:
        time.sleep(0.1)
    _workers.shutdown(wait=True)
    return _loop.open_sessions()
