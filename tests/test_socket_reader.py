"""One reader thread per process serves every websocket (app/realtime/reader.py): a message
reaches the handler waiting in receive(), the close of either side is noticed, a client that
stops answering pings is closed, a client that stops reading stalls nobody, open sockets add no
thread each, and a handed-off socket outlives its view."""

import base64
import json
import os
import socket
import threading
from contextlib import suppress

import pytest
from simple_websocket import Client, ConnectionClosed, Server

from app.calls import service
from app.realtime.reader import HANDED_OFF, MAX_PENDING, SharedReader, forget, hand_off
from app.realtime.routes import RepSession
from tests.calls_support import go_online, make_site


def _handshake_environ(sock: socket.socket) -> dict:
    """What a WSGI server hands flask-sock for an upgrade request (the socket under werkzeug's key)."""
    return {"werkzeug.socket": sock, "HTTP_HOST": "127.0.0.1", "HTTP_UPGRADE": "websocket",
            "HTTP_CONNECTION": "Upgrade", "HTTP_SEC_WEBSOCKET_VERSION": "13",
            "HTTP_SEC_WEBSOCKET_KEY": base64.b64encode(os.urandom(16)).decode()}


@pytest.fixture
def listener():
    server = socket.create_server(("127.0.0.1", 0))
    yield server
    server.close()


def _accept(listener, ping_interval=None) -> Server:
    """The server side of the next connection, read by the shared reader: the upgrade request is
    read first, as a WSGI server does before flask-sock gets the socket."""
    sock, _ = listener.accept()
    request = b""
    while b"\r\n\r\n" not in request:
        request += sock.recv(4096)
    environ = {"werkzeug.socket": sock}
    for line in request.decode().split("\r\n")[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            environ["HTTP_" + name.strip().upper().replace("-", "_")] = value.strip()
    return Server(environ, ping_interval=ping_interval, thread_class=SharedReader)


def _pair(listener, **options) -> tuple[Server, Client]:
    port = listener.getsockname()[1]
    accepted = {}
    thread = threading.Thread(target=lambda: accepted.update(ws=_accept(listener, **options)))
    thread.start()
    client = Client.connect(f"ws://127.0.0.1:{port}/")
    thread.join(30)
    return accepted["ws"], client


def _wait_closed(server: Server) -> None:
    """receive() until the socket is closed (ConnectionClosed); a quiet half minute is a failure."""
    with pytest.raises(ConnectionClosed):
        for _ in range(60):
            server.receive(timeout=0.5)


def test_messages_both_ways_and_the_clients_close(listener):
    server, client = _pair(listener)
    client.send("hello")
    assert server.receive(timeout=30) == "hello"
    server.send("back")
    assert client.receive(timeout=30) == "back"
    client.close()
    _wait_closed(server)  # the reader saw the close frame and woke the waiting handler
    forget(server)


def test_a_client_that_stops_answering_pings_is_closed(listener):
    port = listener.getsockname()[1]
    raw = socket.create_connection(("127.0.0.1", port))  # connects, then never reads nor answers
    server = Server(_handshake_environ(listener.accept()[0]), ping_interval=0.5, thread_class=SharedReader)
    try:
        _wait_closed(server)  # the first ping went unanswered: the next one closes the socket instead
    finally:
        forget(server)
        raw.close()


def test_open_sockets_add_no_thread_each(listener):
    pairs = [_pair(listener)]  # the first starts the process's reader thread
    before = threading.active_count()
    pairs += [_pair(listener) for _ in range(20)]
    servers_threads = threading.active_count() - before
    for server, client in pairs:
        client.send("still here")
        assert server.receive(timeout=30) == "still here"
    # the clients each run their own reader thread (simple_websocket's client), the servers none
    assert servers_threads == 20
    for server, client in pairs:
        client.close()
        _wait_closed(server)  # the reader answered the close, so the client's own thread ends too
        forget(server)
        client.thread.join(30)
        assert not client.thread.is_alive()


def test_a_client_that_reads_nothing_stalls_nobody_and_is_closed(listener):
    port = listener.getsockname()[1]
    stuck = socket.create_connection(("127.0.0.1", port))  # connects, then never reads
    server = Server(_handshake_environ(listener.accept()[0]), thread_class=SharedReader)
    other, client = _pair(listener)
    chunk = "x" * (64 * 1024)
    try:
        with pytest.raises(BrokenPipeError):  # the kernel's buffers fill, then MAX_PENDING: no waiting
            for _ in range(10_000):
                server.send(chunk)
        client.send("meanwhile")  # the shared reader was never blocked by the stuck client
        assert other.receive(timeout=30) == "meanwhile"
        _wait_closed(server)  # past MAX_PENDING the stuck client is let go
        client.close()
        _wait_closed(other)  # the reader answered the close, so the client's own thread ends too
    finally:
        forget(server)
        forget(other)
        stuck.close()
    client.thread.join(30)
    assert not client.thread.is_alive()
    assert MAX_PENDING < 10_000 * len(chunk)


class Recorder:
    """A session handler that notes what the loop calls."""

    tick_seconds = 0.2

    def __init__(self):
        self.calls, self.ticked, self.done = [], threading.Event(), threading.Event()

    def opened(self, ws):
        self.calls.append("opened")
        ws.send("welcome")

    def message(self, text):
        self.calls.append(text)

    def tick(self):
        self.ticked.set()

    def closed(self):
        self.calls.append("closed")
        self.done.set()


def _return_from_view(server: Server, servers_socket: socket.socket) -> None:
    """What flask-sock and gunicorn do once the view has returned: close the view's socket, then
    shut the connection down and close it (gthread's close_graceful) with the socket object
    gunicorn has held since the request came (`servers_socket`, taken before the hand-off)."""
    with suppress(ConnectionClosed):
        server.close()
    with suppress(OSError):  # ENOTCONN: the descriptor names a blank socket now
        servers_socket.shutdown(socket.SHUT_WR)
    servers_socket.close()


def test_a_handed_off_socket_outlives_its_view(app, listener):
    server, client = _pair(listener)
    servers_socket = server.sock.sock
    recorder = Recorder()
    with app.test_request_context():
        assert hand_off(server, recorder) is HANDED_OFF
    with pytest.raises(OSError):  # what gunicorn shuts down is not the connection any more
        servers_socket.shutdown(socket.SHUT_WR)
    _return_from_view(server, servers_socket)
    assert client.receive(timeout=30) == "welcome"
    client.send("one")
    client.send("two")
    assert recorder.ticked.wait(30)
    client.close()
    assert recorder.done.wait(30)
    assert recorder.calls == ["opened", "one", "two", "closed"]


def test_what_the_session_sends_at_once_is_never_lost_to_the_view_returning(app, listener):
    """opened() sends as soon as it runs, on another thread than the hand-off's: it once ran while
    the server's descriptor was being swapped, wrote to the blank socket (a broken pipe) and the
    dashboard never had its hello. Many sockets, so an interleaving like that one is met."""
    pairs = [_pair(listener) for _ in range(30)]
    recorders = [Recorder() for _ in pairs]
    with app.test_request_context():
        for (server, client), recorder in zip(pairs, recorders, strict=True):
            client.send("sent before the hand-off")
            servers_socket = server.sock.sock
            assert hand_off(server, recorder) is HANDED_OFF
            _return_from_view(server, servers_socket)
    for (_, client), recorder in zip(pairs, recorders, strict=True):
        assert client.receive(timeout=30) == "welcome"
        client.close()
        assert recorder.done.wait(30)
        assert recorder.calls == ["opened", "sent before the hand-off", "closed"]
        client.thread.join(30)


def test_a_socket_closed_before_its_hand_off_stays_the_views(app, listener):
    server, client = _pair(listener)
    client.close()
    _wait_closed(server)  # the loop read the close
    recorder = Recorder()
    with app.test_request_context():
        assert hand_off(server, recorder) is None
    forget(server)
    assert recorder.calls == []


def test_a_ring_published_between_connect_and_hand_off_reaches_the_dashboard(app, admin, rep, listener):
    """The dashboard's socket is connected but not yet listening (its view runs, the hand-off is to
    come) when a visitor asks for a call: that ring, published to nobody here, still arrives after
    the hello (pending_rings); and one published after the hello arrives as it is published."""
    site = make_site(admin.organization_id, ring_timeout_seconds=60)
    go_online(rep)  # another tab of the rep's keeps them ringable meanwhile
    server, client = _pair(listener)
    early = service.request_call(site, fingerprint="fp-early", qualification={"answers": []})
    released = threading.Event()
    with app.test_request_context():
        session, servers_socket = RepSession(rep.id, rep.organization_id, released.set), server.sock.sock
        assert hand_off(server, session) is HANDED_OFF
        _return_from_view(server, servers_socket)
    assert _next(client, "hello")
    assert _next(client, "ring")["call"]["id"] == str(early.id)
    late = service.request_call(site, fingerprint="fp-late", qualification={"answers": []})
    assert _next(client, "ring")["call"]["id"] == str(late.id)
    client.close()
    assert released.wait(30)  # closed() ran: the socket's slot is given back


def _next(client: Client, type_: str) -> dict:
    """The next message of this type from the server (others, e.g. a pong, skipped)."""
    while True:
        raw = client.receive(timeout=30)
        assert raw is not None, f"no {type_} message"
        message = json.loads(raw)
        if message["type"] == type_:
            return message
