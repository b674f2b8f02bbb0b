"""The nmap lab: a commune subnet of a few hosts inside network namespaces this lab creates.

Layout: namespace `kklab-core` holds a bridge with the scanner's address (x.x.x.1); each host
is a namespace `kklab-hN` joined to the bridge by a veth pair, running `netns_listener` on its
ports. No namespace has a route out, so scanning the subnet from inside `kklab-core` can only
reach these hosts. Root only; `stop()` removes every `kklab-` namespace, even after a crash.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

PREFIX = "kklab-"
CORE = f"{PREFIX}core"
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


class NetnsLab:
    def __init__(self, workdir: Path, hosts: list[NetnsHost] | None = None, subnet: str = SUBNET) -> None:
        self.workdir = Path(workdir)
        self.subnet = subnet
        self.hosts = hosts if hosts is not None else default_hosts(subnet)

    @property
    def scanner_namespace(self) -> str:
        return CORE

    def start(self, timeout: float = 20) -> list[int]:
        reason = available()
        if reason:
            raise NetnsUnavailable(reason)
        self.stop()
        self.workdir.mkdir(parents=True, exist_ok=True)
        prefix_len = ipaddress.ip_network(self.subnet).prefixlen
        gateway = str(ipaddress.ip_network(self.subnet).network_address + 1)
        _ip("netns", "add", CORE)
        _ip("-n", CORE, "link", "set", "lo", "up")
        _ip("-n", CORE, "link", "add", "br0", "type", "bridge")
        _ip("-n", CORE, "addr", "add", f"{gateway}/{prefix_len}", "dev", "br0")
        _ip("-n", CORE, "link", "set", "br0", "up")
        pids = []
        for n, host in enumerate(self.hosts):
            namespace = f"{PREFIX}h{n}"
            outer, inner = f"kkv{n}a", f"kkv{n}b"
            _ip("netns", "add", namespace)
            _ip("-n", namespace, "link", "set", "lo", "up")
            _ip("link", "add", outer, "netns", CORE, "type", "veth", "peer", "name", inner, "netns", namespace)
            _ip("-n", CORE, "link", "set", outer, "master", "br0")
            _ip("-n", CORE, "link", "set", outer, "up")
            _ip("-n", namespace, "addr", "add", f"{host.ip}/{prefix_len}", "dev", inner)
            _ip("-n", namespace, "link", "set", inner, "up")
            log = open(self.workdir / f"{host.name}.log", "w")
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
                    exec_in(CORE, [sys.executable, "-c", f"import socket; socket.create_connection(('{ip}', {port}), 1).close()"]),
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
        for namespace in namespaces():
            # Killing what still runs inside, then deleting the namespace, frees its veths too.
            pids = _ip("netns", "pids", namespace, check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            _ip("netns", "del", namespace, check=False)

    def describe(self) -> dict:
        return {"subnet": self.subnet, "scanner_namespace": CORE, "hosts": [asdict(h) for h in self.hosts]}


def namespaces() -> list[str]:
    if shutil.which("ip") is None:
        return []
    listing = _ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in listing.splitlines() if line.startswith(PREFIX)]
