"""A real coturn for the tests: deploy/turnserver.conf with the addresses, ports and secret of
the test, and a STUN binding request to know it answers."""

import os
import secrets
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TURNSERVER = "/usr/sbin/turnserver" if Path("/usr/sbin/turnserver").exists() else "/usr/bin/turnserver"


def require_turnserver():
    if not Path(TURNSERVER).exists():
        if os.environ.get("CI"):
            pytest.fail("CI must run the TURN tests, but turnserver is missing (apt-get install coturn)")
        pytest.skip("TURN tests need coturn (apt-get install coturn)")


def free_udp_ports(count: int, host: str = "127.0.0.1") -> int:
    """The first of `count` consecutive UDP ports that are free now (coturn's relay range)."""
    for base in range(42000 + secrets.randbelow(300) * 20, 60000, 20):
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(s)
                s.bind((host, port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free UDP port range")


def stun_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """A STUN Binding request (RFC 5389) gets a Binding success response."""
    request = struct.pack("!HHI12s", 0x0001, 0, 0x2112A442, secrets.token_bytes(12))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(request, (host, port))
            data = s.recv(2048)
        except OSError:
            return False
    return len(data) >= 20 and struct.unpack("!H", data[:2])[0] == 0x0101 and data[8:20] == request[8:20]


class Turn:
    """One turnserver process; `urls` and `secret` are what the app's ICE_TURN_* settings get."""

    def __init__(self, workdir: Path, listen_ip: str = "127.0.0.1", relay_ip: str | None = None,
                 allowed_peers: tuple = ("127.0.0.1",), netns: str | None = None):
        require_turnserver()
        self.host, self.secret = listen_ip, secrets.token_hex(16)
        self.log = workdir / "turn.log"
        self.port = free_udp_ports(1, "127.0.0.1")
        relay_base = free_udp_ports(40, "127.0.0.1")
        command = [
            TURNSERVER, "-c", str(ROOT / "deploy/turnserver.conf"), "--listening-ip", listen_ip,
            "--relay-ip", relay_ip or listen_ip, "--listening-port", str(self.port),
            "--min-port", str(relay_base), "--max-port", str(relay_base + 39),
            "--static-auth-secret", self.secret, "--realm", "converc.test", "--no-tls", "--no-dtls",
            "--userdb", str(workdir / "turndb"), "--pidfile", str(workdir / "turn.pid"),
            "--verbose",
            "--cert", "/nonexistent", "--pkey", "/nonexistent",
        ]
        if listen_ip.startswith("127."):
            command.append("--allow-loopback-peers")
        for peer in allowed_peers:
            command += ["--allowed-peer-ip", peer]
        if netns:
            command = ["ip", "netns", "exec", netns, *command]
        # deploy/turnserver.conf logs to stdout (journald in production): here, to a file
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready(netns)

    def _wait_ready(self, netns):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"turnserver exited: {self.log.read_text()[-2000:]}")
            if netns or stun_answers(self.host, self.port):
                if not netns or self.log.exists() and "listener opened on" in self.log.read_text():
                    return
            time.sleep(0.1)
        self.stop()
        log = self.log.read_text()[-2000:] if self.log.exists() else ""
        raise RuntimeError(f"turnserver did not answer: {log}")

    @property
    def urls(self) -> str:
        return f"turn:{self.host}:{self.port}?transport=udp"

    def app_env(self) -> dict:
        return {"ICE_TURN_URLS": self.urls, "ICE_TURN_SECRET": self.secret,
                "ICE_STUN_URLS": f"stun:{self.host}:{self.port}"}

    def allocations_for(self, label_prefix: str) -> int:
        """How many ALLOCATE requests of users whose name holds this label succeeded."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return sum(1 for line in text.splitlines()
                   if label_prefix in line and "ALLOCATE" in line and "success" in line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
