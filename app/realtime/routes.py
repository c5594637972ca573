"""The two websockets. A websocket route cannot redirect: it checks who is calling and closes."""

import json
import logging
import threading
import time
import uuid
from urllib.parse import urlparse

from flask import current_app, request
from flask_login import current_user
from simple_websocket import ConnectionClosed

from app.availability import service as availability
from app.calls import service
from app.calls.tokens import load_call_token
from app.extensions import db, sock
from app.realtime import bp, bus, presence
from app.recordings.service import is_recording

log = logging.getLogger(__name__)
MAX_MESSAGE = 64 * 1024  # an SDP with its candidates fits easily


class Connection:
    """One socket; the hub's listener thread and the socket's own thread both send on it."""

    def __init__(self, ws):
        self.ws = ws
        self.lock = threading.Lock()

    def deliver(self, text: str) -> None:
        with self.lock:
            try:
                self.ws.send(text)
            except (ConnectionClosed, OSError):
                pass  # the socket's own loop notices the close and cleans up

    def send_json(self, message: dict) -> None:
        self.deliver(json.dumps(message))


def _same_origin() -> bool:
    """The rep socket uses the session cookie: only our own pages may open it (no cross-site hijack)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser
    allowed = {request.host, urlparse(current_app.config["BASE_URL"]).netloc}
    return urlparse(origin).netloc in allowed


def _serve(ws, conn: Connection, on_heartbeat, on_message=None) -> None:
    """Read the client's messages until it goes away; refresh presence on the way."""
    last = time.monotonic()
    while True:
        raw = ws.receive(timeout=presence.HEARTBEAT_SECONDS)
        if time.monotonic() - last >= presence.HEARTBEAT_SECONDS / 2:
            on_heartbeat()
            last = time.monotonic()
        if raw is None:
            continue
        try:
            message = json.loads(raw) if len(raw) <= MAX_MESSAGE else None
        except ValueError:
            message = None
        if not isinstance(message, dict):
            continue
        if message.get("type") == "ping":
            conn.send_json({"type": "pong"})
        elif on_message is not None:
            on_message(message)


@sock.route("/realtime/rep", bp=bp)
def rep_socket(ws):
    """A dashboard tab: the rep's presence, and where the ring and its updates arrive."""
    if not current_user.is_authenticated:
        ws.close(4401, "Log in again.")
        return
    if not _same_origin():
        ws.close(4403, "Wrong origin.")
        return
    user_id, org_id, socket_id = current_user.id, current_user.organization_id, uuid.uuid4().hex
    db.session.remove()  # an idle socket holds no database connection: release it before any wait
    conn, channel = Connection(ws), f"user:{user_id}"
    # listen before becoming eligible, so no ring is published into the void
    bus.hub().subscribe(channel, conn)
    _presence_changed(org_id, presence.touch(user_id, org_id, socket_id))
    try:
        conn.send_json({"type": "hello", "heartbeatSeconds": presence.HEARTBEAT_SECONDS})
        for ring in service.pending_rings(user_id):
            conn.send_json(ring)
        db.session.remove()
        _serve(ws, conn, lambda: _presence_changed(org_id, presence.touch(user_id, org_id, socket_id)))
    finally:
        bus.hub().unsubscribe(channel, conn)
        _presence_changed(org_id, presence.leave(user_id, org_id, socket_id))


def _presence_changed(org_id, changed: bool) -> None:
    """A rep came online or went offline: whether anyone can take a call may have changed with it."""
    if changed:
        availability.invalidate(org_id)


@sock.route("/realtime/call", bp=bp)
def call_socket(ws):
    """One side of one call: WebRTC offer/answer/ICE relayed to the other side, and hang-up."""
    claims = load_call_token(request.args.get("token"))
    call_id = service.as_uuid(claims["c"]) if claims else None
    status = service.current_status(call_id) if call_id else None
    if status is None:
        ws.close(4401, "This call link is not valid any more.")
        return
    side = claims["s"]
    other = "rep" if side == "visitor" else "visitor"
    conn, channel, socket_id = Connection(ws), f"call:{call_id}:{side}", uuid.uuid4().hex
    bus.hub().subscribe(channel, conn)
    try:
        # a visitor who reconnects mid-call sees the recording indicator again
        recording = status == "accepted" and is_recording(call_id)
        conn.send_json({"type": "state", "status": status, "recording": recording})
        if status not in ("requested", "accepted"):
            return
        service.side_joined(call_id, side, socket_id)
        db.session.remove()
        bus.publish(f"call:{call_id}:{other}", {"type": "peer-joined", "side": side})
        if service.side_present(call_id, other):
            conn.send_json({"type": "peer-joined", "side": other})
        _serve(ws, conn, lambda: service.side_joined(call_id, side, socket_id),
               lambda message: _relay(call_id, side, other, message))
    finally:
        bus.hub().unsubscribe(channel, conn)
        if status in ("requested", "accepted"):
            service.side_left(call_id, side, socket_id)
            bus.publish(f"call:{call_id}:{other}", {"type": "peer-left", "side": side})
        db.session.remove()


def _relay(call_id, side: str, other: str, message: dict) -> None:
    if message.get("type") == "signal" and isinstance(message.get("data"), dict):
        bus.publish(f"call:{call_id}:{other}", {"type": "signal", "data": message["data"]})
    elif message.get("type") == "hangup":
        service.hang_up(call_id, side)
        db.session.remove()
