"""Websockets: the rep socket (presence and the ring) and the call socket (WebRTC signalling)."""

from flask import Blueprint

from app.security import public_blueprint

# public: the call socket is opened from customers' sites (authorised by its call token);
# the rep socket checks the session and the Origin itself. Websockets carry no CSRF token.
bp = public_blueprint(Blueprint("realtime", __name__))

from app.realtime import routes  # noqa: E402,F401
