"""The nmap lab: a commune subnet of a few hosts inside network namespaces this lab creates.

Layout: namespace `kklab-<tag>-core` holds a bridge with the scanner's address (x.x.x.1); each
host is a namespace `kklab-<tag>-hN` joined to the bridge by a veth pair (created inside the
namespaces, so no name reaches the host's own), running `netns_listener` on its ports. No
namespace has a route out, so scanning the subnet from inside the core namespace can only reach
these hosts. The tag comes from the lab's directory: two labs on one machine (the demo and a
test run) keep apart. Root only; `stop()` removes the lab's namespaces, even after a crash.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

PREFIX = "kklab-"
_UNTAGGED = re.compile(r"kklab-(?:core|h\d+)")
SUBNET = "10.99.1.0/24"


@dataclass(frozen=True)
class NetnsHost:
    name: str
    role: str
    ip: str
    ports: tuple[int, ...]


def default_hosts(subnet: str = SUBNET) -> list[NetnsHost]:
    net = ipaddress.ip_network(subnet)
    plan = [
        ("sw-access", "access_switch", (22, 23, 80)),
        ("fw-edge", "firewall", (22, 443)),
        ("printer-1", "printer", (80, 9100)),
        ("pc-ketoan", "desktop", (135, 445, 3389)),
        ("srv-files", "server", (22, 445)),
    ]
    return [NetnsHost(name, role, str(net.network_address + 10 + n), ports) for n, (name, role, ports) in enumerate(plan)]


class NetnsUnavailable(RuntimeError):
    pass


def available() -> str | None:
    """None when the nmap lab can run here, else the reason it cannot."""
    if os.geteuid() != 0:
        return "the nmap lab needs root (network namespaces); skipped"
    if shutil.which("ip") is None:
        return "the nmap lab needs iproute2 (`ip`); skipped"
    if shutil.which("nmap") is None:
        return "the nmap lab needs nmap (apt-get install nmap); skipped"
    return None


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def exec_in(namespace: str, command: list[str]) -> list[str]:
    """A command line that runs `command` inside `namespace`."""
    return ["ip", "netns", "exec", namespace, *command]


def lab_prefix(workdir: Path) -> str:
    """`kklab-<tag>-`: the namespace prefix of the lab kept in `workdir`."""
    tag = hashlib.sha1(str(Path(workdir).resolve()).encode()).hexdigest()[:6]  # noqa: S324 - a name, not a secret
    return f"{PREFIX}{tag}-"


class NetnsLab:
    def __init__(self, workdir: Path, hosts: list[NetnsHost] | None = None, subnet: str = SUBNET) -> None:
        self.workdir = Path(workdir)
        self.subnet = subnet
        self.hosts = hosts if hosts is not None else default_hosts(subnet)
        self.prefix = lab_prefix(self.workdir)

    @property
    def scanner_namespace(self) -> str:
        return f"{self.prefix}core"

    def host_namespace(self, index: int) -> str:
        return f"{self.prefix}h{index}"

    def start(self, timeout: float = 20) -> list[int]:
        reason = available()
        if reason:
            raise NetnsUnavailable(reason)
        self.stop()
        self.workdir.mkdir(parents=True, exist_ok=True)
        prefix_len = ipaddress.ip_network(self.subnet).prefixlen
        gateway = str(ipaddress.ip_network(self.subnet).network_address + 1)
        core = self.scanner_namespace
        _ip("netns", "add", core)
        _ip("-n", core, "link", "set", "lo", "up")
        _ip("-n", core, "link", "add", "br0", "type", "bridge")
        _ip("-n", core, "addr", "add", f"{gateway}/{prefix_len}", "dev", "br0")
        _ip("-n", core, "link", "set", "br0", "up")
        pids = []
        for n, host in enumerate(self.hosts):
            namespace = self.host_namespace(n)
            outer, inner = f"kkv{n}a", f"kkv{n}b"
            _ip("netns", "add", namespace)
            _ip("-n", namespace, "link", "set", "lo", "up")
            _ip("link", "add", outer, "netns", core, "type", "veth", "peer", "name", inner, "netns", namespace)
            _ip("-n", core, "link", "set", outer, "master", "br0")
            _ip("-n", core, "link", "set", outer, "up")
            _ip("-n", namespace, "addr", "add", f"{host.ip}/{prefix_len}", "dev", inner)
            _ip("-n", namespace, "link", "set", inner, "up")
            log = open(self.workdir / f"{host.name}.log", "w")  # noqa: SIM115 (the listener child owns the log after Popen)
            proc = subprocess.Popen(
                exec_in(namespace, [sys.executable, "-m", "collectors.lab.netns_listener", "--ports", ",".join(map(str, host.ports)), "--name", host.name]),
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                cwd=str(Path(__file__).resolve().parents[2]),
            )  # fmt: skip
            pids.append(proc.pid)
        (self.workdir / "pids").write_text("\n".join(map(str, pids)))
        self._wait_ready(time.monotonic() + timeout)
        return pids

    def _wait_ready(self, deadline: float) -> None:
        pending = {(host.ip, host.ports[0]) for host in self.hosts}
        while pending and time.monotonic() < deadline:
            for ip, port in list(pending):
                probe = subprocess.run(
                    exec_in(self.scanner_namespace, [sys.executable, "-c", f"import socket; socket.create_connection(('{ip}', {port}), 1).close()"]),
                    capture_output=True,
                )
                if probe.returncode == 0:
                    pending.discard((ip, port))
            if pending:
                time.sleep(0.2)
        if pending:
            raise NetnsUnavailable(f"nmap lab hosts did not come up: {sorted(pending)}")

    def stop(self) -> None:
        pid_file = self.workdir / "pids"
        if pid_file.exists():
            for line in pid_file.read_text().split():
                try:
                    os.killpg(int(line), signal.SIGTERM)
                except (ProcessLookupError, PermissionError, ValueError):
                    pass
            pid_file.unlink()
        if shutil.which("ip") is None or os.geteuid() != 0:
            return
        legacy = [n for n in namespaces() if _UNTAGGED.fullmatch(n)]  # named before labs had tags
        for namespace in namespaces(self.prefix) + legacy:
            # Killing what still runs inside, then deleting the namespace, frees its veths too.
            pids = _ip("netns", "pids", namespace, check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            _ip("netns", "del", namespace, check=False)

    def describe(self) -> dict:
        return {"subnet": self.subnet, "scanner_namespace": self.scanner_namespace, "hosts": [asdict(h) for h in self.hosts]}


def namespaces(prefix: str = PREFIX) -> list[str]:
    """Lab namespaces that exist: one lab's (its prefix), or every lab's."""
    if shutil.which("ip") is None:
        return []
    listing = _ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in listing.splitlines() if line.startswith(prefix)]
