"""Webhook secrets and the two signature headers every delivery carries.

`X-IC-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">` keyed with the whole secret
string, exactly as the product doc's Node example verifies it; and the Standard Webhooks headers
(`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`), keyed with the base64
part of the same `whsec_…` secret, so any Standard Webhooks library verifies them too.
"""

import base64
import hashlib
import hmac
import secrets


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def ic_signature(secret: str, timestamp: int, body: bytes) -> str:
    payload = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    payload = f"{msg_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, payload, hashlib.sha256).digest()).decode()


def signed_headers(secrets_: list[str], event_id: str, event_type: str, timestamp: int, body: bytes) -> dict:
    """Headers for one request; during a secret rotation both secrets sign (new first)."""
    ic = ",".join(f"v1={ic_signature(s, timestamp, body)}" for s in secrets_)
    standard = " ".join(f"v1,{standard_signature(s, event_id, timestamp, body)}" for s in secrets_)
    return {
        "Content-Type": "application/json",
        "X-IC-Signature": f"t={timestamp},{ic}",
        "X-IC-Event": event_type,
        "X-IC-Id": event_id,
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard,
    }
