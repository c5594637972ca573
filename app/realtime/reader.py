"""One reader thread per process for every websocket, instead of simple_websocket's one per socket.

simple_websocket (under flask-sock) starts a thread per socket that blocks in recv() and sends
the pings; with gunicorn's gthread each socket also holds a pool thread for its handler, so an
idle dashboard cost two threads. Passed as flask-sock's `thread_class`, `SharedReader` registers
the socket with this process's selector instead: one thread reads whichever socket has data
(simple_websocket's own frame handling then wakes the handler, as its thread would) and sends
the pings. What it does per socket is what simple_websocket's `Base._thread` does, minus the
blocking; it relies on that class's attributes (sock, ws, connected, event, pong_received).
"""

import logging
import selectors
import threading
import time

from simple_websocket import ConnectionClosed
from wsproto.events import Ping
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError

log = logging.getLogger(__name__)
SEND_TIMEOUT = 5  # a client that cannot take a ping in this long is gone: the shared thread moves on


class _Loop:
    def __init__(self):
        self.selector = selectors.DefaultSelector()
        self.next_ping: dict = {}  # socket -> when it is next pinged
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def add(self, ws) -> None:
        ws.sock.settimeout(SEND_TIMEOUT)
        with self.lock:
            if ws.ping_interval:
                self.next_ping[ws] = time.monotonic() + ws.ping_interval
            self.selector.register(ws.sock, selectors.EVENT_READ, ws)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="websocket-reader", daemon=True)
                self.thread.start()

    def forget(self, ws) -> None:
        with self.lock:
            self.next_ping.pop(ws, None)
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
            for key, _ in events:
                self._read(key.data)
            self._ping()

    def _read(self, ws) -> None:
        try:
            data = ws.sock.recv(ws.receive_bytes)
            if not data:
                raise OSError("closed by the client")
            ws.ws.receive_data(data)
            ws.connected = ws._handle_events()
        except (OSError, LocalProtocolError):
            ws.connected = False
            ws.event.set()
        if not ws.connected:
            self.forget(ws)
            ws.sock.close()

    def _ping(self) -> None:
        now = time.monotonic()
        with self.lock:
            due = [ws for ws, at in self.next_ping.items() if at <= now]
            for ws in due:
                self.next_ping[ws] = now + ws.ping_interval
        for ws in due:
            try:
                if not ws.connected:
                    continue
                if not ws.pong_received:  # the last ping went unanswered: the client has vanished
                    ws.close(reason=CloseReason.POLICY_VIOLATION, message="Ping/Pong timeout")
                    ws.event.set()
                    continue
                ws.pong_received = False
                ws.sock.send(ws.ws.send(Ping()))
            except (OSError, LocalProtocolError, ConnectionClosed):
                ws.connected = False
                ws.event.set()


_loop = _Loop()


class SharedReader:
    """flask-sock's `thread_class`: what simple_websocket takes for a socket's reader thread."""

    def __init__(self, target):
        self.ws = target.__self__  # simple_websocket passes its bound `_thread`
        self.name = "websocket-reader"

    def start(self) -> None:
        _loop.add(self.ws)


def forget(ws) -> None:
    """The socket's handler has finished: stop watching it before its file descriptor is reused."""
    _loop.forget(ws)
