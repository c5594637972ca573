"""Requests to URLs customers give us (webhooks, lead push), safe from SSRF.

OWASP's SSRF cheat sheet, webhook case: only http(s), no credentials in the URL, no odd numeric
host forms, and every address the name resolves to must be public, checked again right before
each request and then connected to directly, so a DNS answer cannot change between the check and
the connection (DNS rebinding). Redirects are never followed.
"""

import ipaddress
import re
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from flask import current_app

# Cloud metadata services that are not covered by the private/link-local ranges.
METADATA_ADDRESSES = {ipaddress.ip_address(a) for a in (
    "169.254.169.254", "168.63.129.16", "100.100.100.200", "fd00:ec2::254", "192.0.0.192")}
NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*\.?$", re.IGNORECASE)
USER_AGENT = "Converc-Webhooks/1.0 (+https://converc.com)"
RESPONSE_KEEP = 1024


class UnsafeURL(ValueError):
    """The URL may not be requested; the message says why, for the person who typed it."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple


def _allowed_networks():
    return [ipaddress.ip_network(n, strict=False)
            for n in current_app.config.get("WEBHOOK_ALLOWED_NETWORKS", [])]


def _embedded_ipv4(ip):
    """The IPv4 address hidden in an IPv4-mapped, NAT64 or 6to4 IPv6 address."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def check_address(ip) -> None:
    """Refuse any address that is not public, unless configuration allows its range."""
    if any(ip in net for net in _allowed_networks()):
        return
    if ip.version == 6 and ip.ipv4_mapped:
        raise UnsafeURL(f"{ip} is an IPv4-mapped IPv6 address, which is not allowed.")
    inner = _embedded_ipv4(ip)
    if inner is not None:
        check_address(inner)
    if ip in METADATA_ADDRESSES or not ip.is_global or ip.is_multicast or ip.is_unspecified:
        raise UnsafeURL(f"{ip} is not a public internet address (loopback, private, link-local, "
                        "metadata, multicast and reserved ranges are refused).")


def _host_address(host: str):
    """An IP literal, checked for odd numeric forms; None when the host is a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.match(host) or host.rstrip(".").rsplit(".", 1)[-1].isdigit():
        raise UnsafeURL("Write the address as a host name or a plain dotted IPv4 address "
                        "(decimal, octal, hex and short forms are refused).")
    return None


def parse(url: str) -> tuple[str, str, int, str]:
    """scheme, host, port and path of a URL we may call, or UnsafeURL saying why not."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError as e:
        raise UnsafeURL("This is not a valid URL.") from e
    allow_http = current_app.config.get("WEBHOOK_ALLOW_HTTP")
    if parts.scheme not in (("https", "http") if allow_http else ("https",)):
        # say why, and who can change it: the admin reading this cannot set server variables
        raise UnsafeURL("The URL must start with https:// (calls' details travel encrypted). For a test "
                        "receiver on http://, whoever runs Converc can allow it (WEBHOOK_ALLOW_HTTP)."
                        if not allow_http else "The URL must start with https:// or http://.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeURL("The URL may not contain a user name or password.")
    host = (parts.hostname or "").lower()
    if not host:
        raise UnsafeURL("The URL has no host name.")
    if any(c.isspace() for c in url.strip()) or "\\" in url:
        raise UnsafeURL("The URL may not contain spaces or backslashes.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def resolve(url: str) -> Target:
    """Check a URL and resolve it: every address it resolves to must be allowed."""
    scheme, host, port, path = parse(url)
    literal = _host_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            ascii_host = host.encode("idna").decode("ascii")
            infos = socket.getaddrinfo(ascii_host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as e:
            raise UnsafeURL(f"The host name {host} does not resolve.") from e
        addresses = list(dict.fromkeys(ipaddress.ip_address(i[4][0].split("%")[0]) for i in infos))
    for ip in addresses:
        check_address(ip)
    return Target(scheme, host, port, path, tuple(addresses))


@dataclass
class Response:
    status: int | None
    body: str | None
    headers: dict
    duration_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


_local = threading.local()  # one pool per (address, host) and thread: connections are kept alive


def _pool(target: Target, ip, timeout: float):
    pools = _local.__dict__.setdefault("pools", {})
    key = (target.scheme, str(ip), target.port, target.host, timeout)
    if key not in pools and len(pools) >= 256:  # a bound on idle connections per thread
        for pool in pools.values():
            pool.close()
        pools.clear()
    if key not in pools:
        # total: connecting and the answer together stay within the timeout (a caller may be waiting)
        options = {"timeout": urllib3.Timeout(total=timeout, connect=min(timeout, 5.0), read=timeout),
                   "retries": False, "maxsize": 1, "block": False}
        if target.scheme == "https":
            # connect to the checked address, but verify the certificate and send SNI for the name
            pools[key] = urllib3.HTTPSConnectionPool(
                str(ip), target.port, server_hostname=target.host, assert_hostname=target.host,
                cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(), **options)
        else:
            pools[key] = urllib3.HTTPConnectionPool(str(ip), target.port, **options)
    return pools[key]


def post(url: str, body: bytes, headers: dict, timeout: float) -> Response:
    """POST `body` once; never raises for network errors, never follows a redirect."""
    start = time.monotonic()
    try:
        target = resolve(url)
    except UnsafeURL as e:
        return Response(None, None, {}, 0, f"Refused: {e}")
    host_header = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
    if ":" in target.host:
        host_header = f"[{target.host}]" if target.port in (80, 443) else f"[{target.host}]:{target.port}"
    headers = {"Host": host_header, "User-Agent": USER_AGENT, **headers}
    deadline = start + timeout
    try:
        resp = _pool(target, target.addresses[0], timeout).urlopen(
            "POST", target.path, body=body, headers=headers, redirect=False,
            preload_content=False, retries=False, assert_same_host=False)
        try:
            kept = resp.read(RESPONSE_KEEP, decode_content=True) if time.monotonic() < deadline else b""
        finally:
            resp.release_conn() if resp.length_remaining == 0 else resp.close()
        return Response(resp.status, kept.decode("utf-8", "replace"), dict(resp.headers),
                        _ms(start), None)
    except urllib3.exceptions.TimeoutError:
        return Response(None, None, {}, _ms(start), f"Timed out after {timeout:g} s")
    except (urllib3.exceptions.HTTPError, OSError) as e:
        return Response(None, None, {}, _ms(start), f"Connection failed: {_reason(e)}")


def _ms(start: float) -> int:
    return int((time.monotonic() - start) * 1000)


def _reason(error: Exception) -> str:
    reason = getattr(error, "reason", None) or error
    return str(reason)[:300]
