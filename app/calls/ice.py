"""ICE servers for RTCPeerConnection: STUN/TURN URLs from config, TURN credentials static
or short-lived from a shared secret (the coturn REST API scheme, `use-auth-secret`)."""

import base64
import hashlib
import hmac
import time

from flask import current_app


def turn_rest_credentials(secret: str, ttl_seconds: int, label: str, now: float | None = None) -> dict:
    """username = "<expiry unix time>:<label>", credential = base64(HMAC-SHA1(secret, username))."""
    expiry = int(now if now is not None else time.time()) + ttl_seconds
    username = f"{expiry}:{label}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return {"username": username, "credential": base64.b64encode(digest).decode()}


def ice_servers(label: str) -> list[dict]:
    """The iceServers list for one participant (label names them in TURN logs)."""
    config = current_app.config
    servers = []
    if config["ICE_STUN_URLS"]:
        servers.append({"urls": config["ICE_STUN_URLS"]})
    if config["ICE_TURN_URLS"]:
        if config["ICE_TURN_SECRET"]:
            creds = turn_rest_credentials(config["ICE_TURN_SECRET"], config["ICE_TURN_TTL_SECONDS"], label)
        else:
            creds = {"username": config["ICE_TURN_USERNAME"], "credential": config["ICE_TURN_CREDENTIAL"]}
        servers.append({"urls": config["ICE_TURN_URLS"], **creds})
    return servers


def ice_transport_policy() -> str:
    """RTCPeerConnection's iceTransportPolicy: "all" (default) or "relay" (TURN only)."""
    return current_app.config.get("ICE_TRANSPORT_POLICY", "all")


def turn_configured() -> bool:
    """Whether browsers get a TURN server: without one, calls between networks may fail."""
    return bool(current_app.config["ICE_TURN_URLS"])
