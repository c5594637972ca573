"""Two private networks, each behind its own NAT router, made of Linux network namespaces:

    visitor ns 10.231.11.2 ─ router ns (nft masquerade) 10.231.21.2 ─┐
                                                                     ├─ this machine: 10.231.21.1
    rep ns     10.231.12.2 ─ router ns (nft masquerade) 10.231.22.2 ─┘      (the "public" side)

The app and coturn listen on 10.231.21.1. The private networks have no route to each other and
this machine does not forward between its links, so two browsers inside them can reach each
other only through what STUN and TURN tell them. Only the namespaces' own addresses are used.
"""

import os
import shutil
import subprocess
import uuid

import pytest

PUBLIC = "10.231.21.1"


def _run(*command):
    subprocess.run(command, check=True, capture_output=True)


def _cannot_reason() -> str | None:
    if shutil.which("ip") is None or shutil.which("nft") is None:
        return "needs iproute2 and nftables (apt-get install iproute2 nftables)"
    probe = f"cvp{uuid.uuid4().hex[:8]}"
    try:
        _run("ip", "netns", "add", probe)
        _run("ip", "netns", "exec", probe, "nft", "add", "table", "ip", "nat")
    except (subprocess.CalledProcessError, OSError) as e:
        detail = getattr(e, "stderr", b"") or b""
        return f"cannot create network namespaces with NAT (needs CAP_NET_ADMIN): {detail.decode().strip()}"
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def require_netns():
    reason = _cannot_reason()
    if reason:
        if os.environ.get("CI_REQUIRE_NETNS"):
            pytest.fail(reason)
        pytest.skip(reason)


class NattedNetworks:
    """Create with `up()`, remove everything with `down()`; `ns["visitor"]` and `ns["rep"]` name
    the namespaces the browsers run in."""

    SIDES = {"visitor": 1, "rep": 2}

    def __init__(self):
        self.tag = uuid.uuid4().hex[:6]
        self.ns = {side: f"cv{side[0]}{self.tag}" for side in self.SIDES}
        self.routers = {side: f"cvr{side[0]}{self.tag}" for side in self.SIDES}
        self.created: list[str] = []

    def up(self):
        try:
            for side, n in self.SIDES.items():
                self._side(side, n)
        except BaseException:
            self.down()
            raise
        return self

    def _side(self, side: str, n: int):
        ns, router, t = self.ns[side], self.routers[side], self.tag
        for name in (router, ns):
            _run("ip", "netns", "add", name)
            self.created.append(name)
            _run("ip", "-n", name, "link", "set", "lo", "up")
        host_if, pub_if = f"h{side[0]}{t}", f"p{side[0]}{t}"
        lan_if, client_if = f"l{side[0]}{t}", f"c{side[0]}{t}"
        # the router's public link, to this machine
        _run("ip", "link", "add", host_if, "type", "veth", "peer", "name", pub_if, "netns", router)
        _run("ip", "addr", "add", f"10.231.2{n}.1/24", "dev", host_if)
        _run("ip", "link", "set", host_if, "up")
        _run("ip", "-n", router, "addr", "add", f"10.231.2{n}.2/24", "dev", pub_if)
        _run("ip", "-n", router, "link", "set", pub_if, "up")
        _run("ip", "-n", router, "route", "add", "default", "via", f"10.231.2{n}.1")
        # the private LAN behind it
        _run("ip", "-n", router, "link", "add", lan_if, "type", "veth",
             "peer", "name", client_if, "netns", ns)
        _run("ip", "-n", router, "addr", "add", f"10.231.1{n}.1/24", "dev", lan_if)
        _run("ip", "-n", router, "link", "set", lan_if, "up")
        _run("ip", "-n", ns, "addr", "add", f"10.231.1{n}.2/24", "dev", client_if)
        _run("ip", "-n", ns, "link", "set", client_if, "up")
        _run("ip", "-n", ns, "route", "add", "default", "via", f"10.231.1{n}.1")
        # NAT: the router forwards its LAN out of its public link, masquerading it
        _run("ip", "netns", "exec", router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        script = (f"table ip nat {{\n chain post {{\n  type nat hook postrouting priority 100;\n"
                  f"  oifname \"{pub_if}\" masquerade\n }}\n}}\n")
        subprocess.run(["ip", "netns", "exec", router, "nft", "-f", "-"], input=script.encode(),
                       check=True, capture_output=True)

    def drop(self, side: str):
        """Cut that side's network: its router forwards nothing until `restore`."""
        script = ("table inet blip {\n chain cut {\n"
                  "  type filter hook forward priority 0; policy drop;\n }\n}\n")
        subprocess.run(["ip", "netns", "exec", self.routers[side], "nft", "-f", "-"], input=script.encode(),
                       check=True, capture_output=True)

    def restore(self, side: str):
        _run("ip", "netns", "exec", self.routers[side], "nft", "delete", "table", "inet", "blip")

    def down(self):
        # deleting a namespace deletes its veths, and with them their peers on this machine
        for name in reversed(self.created):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)

    def exec_prefix(self, side: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns[side]]
