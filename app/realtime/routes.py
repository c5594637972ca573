"""The two websockets. A websocket route cannot redirect: it checks who is calling and closes."""

import functools
import json
import logging
import threading
import time
import uuid
from urllib.parse import urlparse

from flask import abort, current_app, request
from flask_login import current_user
from simple_websocket import ConnectionClosed

from app.availability import service as availability
from app.availability.announce import note_change
from app.calls import connection, service
from app.calls.tokens import load_call_token
from app.extensions import db, sock
from app.ops import metrics
from app.realtime import bp, bus, presence, reader
from app.recordings.service import is_recording

log = logging.getLogger(__name__)
MAX_MESSAGE = 64 * 1024  # an SDP with its candidates fits easily


class Connection:
    """One socket; the hub's listener thread and the socket's own thread both send on it."""

    def __init__(self, ws):
        self.ws = ws
        self.lock = threading.Lock()

    def deliver(self, text: str) -> None:
        """A message from the hub (another process or this one published it)."""
        self._send(text)

    def _send(self, text: str) -> None:
        with self.lock:
            try:
                self.ws.send(text)
            except (ConnectionClosed, OSError):
                pass  # the socket's own loop notices the close and cleans up

    def send_json(self, message: dict) -> None:
        self._send(json.dumps(message))

    def close(self, code: int, reason: str) -> None:
        """From another thread (a node draining): close, and wake the socket's loop at once."""
        with self.lock:
            try:
                self.ws.close(code, reason)
            except (ConnectionClosed, OSError):
                pass
        event = getattr(self.ws, "event", None)
        if event is not None:
            event.set()


class RepConnection(Connection):
    """A dashboard's socket: a ring arriving here is where the ring latency ends."""

    def deliver(self, text: str) -> None:
        super().deliver(text)
        if text.startswith('{"type": "ring"'):
            requested_at = _requested_at(text)
            if requested_at is not None:
                metrics.observe_ring(requested_at)


@functools.lru_cache(maxsize=64)
def _requested_at(ring: str) -> str | None:
    """When a ring was requested, parsed once per ring: the hub hands the same text to every rep
    socket of the process, and parsing it for each of a thousand would delay the last ones."""
    try:
        return json.loads(ring)["call"]["requestedAt"]
    except (ValueError, KeyError, TypeError):
        return None


@bp.before_request
def websocket_only():
    """A plain HTTP request here (a probe, a stray link) is answered 400 before any handshake."""
    if request.headers.get("Upgrade", "").lower() != "websocket":
        abort(400, "This is a websocket endpoint: connect with a websocket client.")


@bp.before_request
def without_compression():
    """Decline the permessage-deflate a browser offers: each socket's zlib state costs far more
    memory (~170 KiB, see bench/sockets.py) than deflate saves on messages of a few hundred bytes."""
    request.environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)


def _same_origin() -> bool:
    """The rep socket uses the session cookie: only our own pages may open it (no cross-site hijack)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser
    # an empty netloc ("null" from sandboxed frames and file pages, or BASE_URL unset) matches nothing
    allowed = {request.host, urlparse(current_app.config["BASE_URL"]).netloc} - {""}
    return urlparse(origin).netloc in allowed


def _serve(ws, conn: Connection, on_heartbeat, on_message) -> None:
    """Read the client's messages until it goes away; refresh presence on the way."""
    last = time.monotonic()
    while True:
        raw = ws.receive(timeout=presence.HEARTBEAT_SECONDS)
        if time.monotonic() - last >= presence.HEARTBEAT_SECONDS / 2:
            on_heartbeat()
            last = time.monotonic()
        message = _parse(raw)
        if message is None:
            continue
        if message.get("type") == "ping":
            conn.send_json({"type": "pong"})
        else:
            on_message(message)


def _parse(raw) -> dict | None:
    """A client's message, or None for nothing, too much or not a JSON object."""
    if raw is None or len(raw) > MAX_MESSAGE:
        return None
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


class SocketSlots:
    """How many websockets this process holds (each holds a thread of gunicorn's gthread pool).

    Past WEBSOCKET_LIMIT a new socket is closed at once with 1013 ("try again later": the
    browser's reconnect backs off, a load balancer can send it elsewhere), so the threads left keep
    answering plain HTTP instead of every request queueing behind idle sockets."""

    def __init__(self, limit: int):
        self.limit, self.open = limit, 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.open >= self.limit:
                return False
            self.open += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.open -= 1


def _slots() -> SocketSlots:
    slots = current_app.extensions.get("socket_slots")
    if slots is None:
        with _creating:
            slots = current_app.extensions.setdefault(
                "socket_slots", SocketSlots(current_app.config["WEBSOCKET_LIMIT"]))
    return slots


_creating = threading.Lock()


def bounded(handler):
    """A socket handler that runs only while this process has a slot for it (else 1013). A handler
    that hands its socket off (reader.HANDED_OFF) gives the slot back from its session instead."""

    @functools.wraps(handler)
    def within_limit(ws):
        slots = _slots()
        if not slots.take():
            reader.forget(ws)
            ws.close(1013, "This server is full: try again in a moment.")
            return None
        outcome = None
        try:
            outcome = handler(ws)
            return outcome
        finally:
            if outcome is not reader.HANDED_OFF:
                reader.forget(ws)
                slots.give_back()

    return within_limit


@sock.route("/realtime/rep", bp=bp)
@bounded
def rep_socket(ws):
    """A dashboard tab: the rep's presence, and where the ring and its updates arrive. Once the
    caller is known the socket is handed off (RepSession): an idle dashboard holds no thread."""
    if not current_user.is_authenticated:
        ws.close(4401, "Log in again.")
        return None
    if not _same_origin():
        ws.close(4403, "Wrong origin.")
        return None
    session = RepSession(current_user.id, current_user.organization_id, _slots().give_back)
    db.session.remove()  # an idle socket holds no database connection
    return reader.hand_off(ws, session)


class RepSession:
    """A dashboard's socket after its view returned: the shared loop calls these (app/realtime/reader.py)."""

    tick_seconds = presence.HEARTBEAT_SECONDS

    def __init__(self, user_id, org_id, release):
        self.user_id, self.org_id, self.release = user_id, org_id, release
        self.socket_id, self.conn = uuid.uuid4().hex, None

    def opened(self, ws) -> None:
        conn = RepConnection(ws)
        try:
            # listen before becoming eligible, so no ring is published into the void; the hello
            # says "listening": a ring published after it arrives, one before is in pending_rings
            listening = bus.hub().subscribe(self._channel, conn)
            metrics.REP_SOCKETS.inc()
            self.conn = conn
            if not listening:
                raise RuntimeError("this process is not hearing Redis: no hello, the dashboard reconnects")
            self.tick()
            conn.send_json({"type": "hello", "heartbeatSeconds": presence.HEARTBEAT_SECONDS})
            for ring in service.pending_rings(self.user_id):
                conn.send_json(ring)
        except Exception:
            conn.close(1011, "Something went wrong: reconnecting.")  # closed() undoes the rest
            raise
        finally:
            db.session.remove()

    def message(self, raw) -> None:
        message = _parse(raw)
        if message is not None and message.get("type") == "ping" and self.conn is not None:
            self.conn.send_json({"type": "pong"})

    def tick(self) -> None:
        """The heartbeat: this rep is still online."""
        if self.conn is None:
            return  # opening failed: the socket is closing
        if presence.touch(self.user_id, self.org_id, self.socket_id):
            _presence_changed(self.org_id, self.user_id, online=True)

    def closed(self) -> None:
        try:
            if self.conn is not None:
                metrics.REP_SOCKETS.dec()
                bus.hub().unsubscribe(self._channel, self.conn)
                if presence.leave(self.user_id, self.org_id, self.socket_id):
                    _presence_changed(self.org_id, self.user_id, online=False)
        finally:
            self.release()

    @property
    def _channel(self) -> str:
        return f"user:{self.user_id}"


def _presence_changed(org_id, user_id, online: bool) -> None:
    """A rep came online or went offline: whether they can take a call may have changed with it."""
    availability.rep_presence_changed(org_id, user_id, online)
    note_change(user_id, org_id)  # rep.availability_changed, debounced
    db.session.remove()


@sock.route("/realtime/call", bp=bp)
@bounded
def call_socket(ws):
    """One side of one call: WebRTC offer/answer/ICE relayed to the other side, and hang-up."""
    claims = load_call_token(request.args.get("token"))
    call_id = service.as_uuid(claims["c"]) if claims else None
    if call_id is None:
        ws.close(4401, "This call link is not valid any more.")
        return
    side = claims["s"]
    other = "rep" if side == "visitor" else "visitor"
    conn, channel, socket_id = Connection(ws), f"call:{call_id}:{side}", uuid.uuid4().hex
    # listen first, then read the status: a change committed in between is either in the status
    # read or in a notice this socket hears, never in neither (an accept was lost that way)
    bus.hub().subscribe(channel, conn)
    status = service.current_status(call_id)
    if status is None:
        bus.hub().unsubscribe(channel, conn)
        ws.close(4401, "This call link is not valid any more.")
        return
    metrics.CALL_SOCKETS.inc()
    try:
        # a visitor who reconnects mid-call sees the recording indicator again
        conn.send_json(_state(call_id, status))
        if status not in ("requested", "accepted"):
            return
        service.side_joined(call_id, side, socket_id)
        db.session.remove()
        bus.publish(f"call:{call_id}:{other}", {"type": "peer-joined", "side": side})
        if service.side_present(call_id, other):
            conn.send_json({"type": "peer-joined", "side": other})
        _serve(ws, conn, _call_heartbeat(call_id, side, socket_id, conn, status),
               lambda message: _relay(call_id, side, other, message))
    finally:
        metrics.CALL_SOCKETS.dec()
        bus.hub().unsubscribe(channel, conn)
        if status in ("requested", "accepted"):
            service.side_left(call_id, side, socket_id)
            bus.publish(f"call:{call_id}:{other}", {"type": "peer-left", "side": side})
        db.session.remove()


def _call_heartbeat(call_id, side: str, socket_id: str, conn, status: str):
    """Each heartbeat: this side is still here, and the status the database holds is the one this
    side was told. A notice is lost when Redis restarts between publish and delivery: an accept or
    an end missed that way reaches the side at its next heartbeat instead of never."""
    told = {"status": status}

    def beat():
        service.side_joined(call_id, side, socket_id)
        now = service.current_status(call_id)
        db.session.remove()
        if now is not None and now != told["status"]:
            told["status"] = now
            conn.send_json(_state(call_id, now))
    return beat


def _state(call_id, status: str) -> dict:
    """The call as the database has it: a side that reconnects (or missed a notice) catches up,
    with the recording indicator and who answered."""
    message = {"type": "state", "status": status, "recording": False}
    if status == "accepted":
        message["recording"] = is_recording(call_id)
        message["rep"] = {"name": service.accepted_rep_name(call_id)}
    db.session.remove()
    return message


def _relay(call_id, side: str, other: str, message: dict) -> None:
    if message.get("type") == "report":
        connection.record_report(call_id, side, message)
        db.session.remove()
    elif message.get("type") == "signal" and isinstance(message.get("data"), dict):
        bus.publish(f"call:{call_id}:{other}", {"type": "signal", "data": message["data"]})
    elif message.get("type") == "hangup":
        service.hang_up(call_id, side)
        db.session.remove()
