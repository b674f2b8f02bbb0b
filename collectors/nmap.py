"""Discovery with nmap: who answers in a subnet, which TCP ports are open, is there SSH or SNMP.

Safety first: every target passes ``Scope.check`` before any process starts. A scope is the
allow-list of the site zones' subnets plus loopback; a subnet or address that is not wholly
inside it, a hostname, an nmap range expression or anything else that is not a plain IPv4
address/network raises ``TargetRefused``. nmap only ever sees the canonical ``str()`` of the
checked network, never the caller's text, and always runs with ``-n`` (no DNS lookups).

One scan is up to two nmap runs, each bounded by the time left of ``timeout``:

1. host discovery + TCP: nmap's own top ``top_ports`` ports (from ``nmap-services``) plus
   ``tcp_ports`` (SSH on 22 and 2222 by default), ``-sS`` as root else ``-sT``, and
   ``-sV --version-light`` so SSH is recognised on any port; ``--host-timeout`` keeps a silent
   listener from stalling the run.
2. SNMP (root only, raw UDP): ``-sU -Pn`` on ``snmp_ports`` (161 by default; the lab's agents
   listen on 1161) of the hosts found up, with an SNMPv3 engine-discovery request as the
   payload for every port (``--data``), so an agent answers without any community string.
   UDP ports are reported negated in ``open_ports`` (-161), as ``DeviceFacts`` documents.

With ``netns`` the runs happen inside that network namespace (``ip netns exec``): that is how
the lab subnet is scanned without traffic ever leaving the machine. XML (``-oX -``) is parsed
by python-nmap's ``PortScanner.analyse_nmap_xml_scan``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from collectors.records import CollectionTimeout, DeviceFacts, ProtocolError, TargetRefused

log = logging.getLogger(__name__)

IPv4Network = ipaddress.IPv4Network
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
MIN_ALLOWED_PREFIX = 8  # an allow-list entry wider than a /8 is a configuration mistake
MAX_SCAN_ADDRESSES = 65536  # /16; larger targets are refused (split them per zone subnet)
SSH_PORTS = (22, 2222)
SNMP_PORTS = (161,)
# An unauthenticated SNMPv3 engine-discovery GetRequest (RFC 3414 4.), which every v3-capable
# agent answers with a Report, without any community or user. nmap's own payload for udp/161
# is the same message with other ids; pysnmp 7 (snmpsim) leaves that one unanswered.
SNMPV3_DISCOVERY = "303a020103300f020204d2020300ffe30401040201030410300e0400020100020100040004000400301204000400a00c020210e10201000201003000"
_NETNS_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_IPV4_TEXT = re.compile(r"^\d{1,3}(\.\d{1,3}){3}(/\d{1,2})?$")

Runner = Callable[[Sequence[str], float], "subprocess.CompletedProcess[str]"]


# ------------------------------------------------------------------------- the allow-list


class Scope:
    """Where kiemke may send packets: whole IPv4 networks, e.g. zone subnets + 127.0.0.0/8.

    >>> scope = Scope.from_zone_subnets(["10.99.1.0/24"])
    >>> scope.check("10.99.1.0/25")
    IPv4Network('10.99.1.0/25')
    >>> scope.check("10.99.0.0/16")
    Traceback (most recent call last):
    ...
    collectors.records.TargetRefused: 10.99.0.0/16 is outside the scanning allow-list
    """

    def __init__(self, allowed: Iterable[IPv4Network | str], *, max_addresses: int = MAX_SCAN_ADDRESSES) -> None:
        nets: list[IPv4Network] = []
        for item in allowed:
            net = ipaddress.ip_network(item, strict=True) if isinstance(item, str) else item
            if not isinstance(net, IPv4Network):
                log.info("allow-list entry %s ignored: kiemke scans IPv4 only", net)
                continue
            if net.prefixlen < MIN_ALLOWED_PREFIX:
                raise ValueError(f"allow-list entry {net} is wider than /{MIN_ALLOWED_PREFIX}")
            nets.append(net)
        self.allowed: tuple[IPv4Network, ...] = tuple(ipaddress.collapse_addresses(nets))
        self.max_addresses = max_addresses

    @classmethod
    def from_zone_subnets(cls, subnets: Iterable[str] | Mapping[Any, Iterable[str]], *, loopback: bool = True,
                          max_addresses: int = MAX_SCAN_ADDRESSES) -> Scope:  # fmt: skip
        """From the site zones' subnets (a list of CIDRs, or ``repository.zone_subnets()``)."""
        if isinstance(subnets, Mapping):
            subnets = [cidr for cidrs in subnets.values() for cidr in cidrs]
        nets: list[IPv4Network | str] = list(subnets)
        if loopback:
            nets.append(LOOPBACK)
        return cls(nets, max_addresses=max_addresses)

    def __repr__(self) -> str:
        return f"Scope({[str(n) for n in self.allowed]})"

    def check(self, target: object) -> IPv4Network:
        """The target as a network, or ``TargetRefused`` (nothing is sent either way)."""
        if isinstance(target, (ipaddress.IPv4Address, ipaddress.IPv4Network)):
            text = str(target)
        elif isinstance(target, str):
            text = target.strip()
        else:
            raise TargetRefused(f"{target!r} is not an IPv4 address or network")
        shown = text[:80]
        if not _IPV4_TEXT.match(text):
            raise TargetRefused(f"{shown!r} is not an IPv4 address or network (hostnames and nmap ranges are refused)")
        try:
            net = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            raise TargetRefused(f"{shown!r} is not a valid IPv4 network: {exc}") from None
        assert isinstance(net, IPv4Network)
        if net.prefixlen == 0 or net.is_unspecified or net.is_multicast or net.is_reserved or net.is_link_local:
            raise TargetRefused(f"{net} is not a scannable network")
        if not any(net.subnet_of(a) for a in self.allowed):
            raise TargetRefused(f"{net} is outside the scanning allow-list")
        if net.num_addresses > self.max_addresses:
            raise TargetRefused(f"{net} has {net.num_addresses} addresses; at most {self.max_addresses} per scan")
        return net

    def __contains__(self, target: object) -> bool:
        try:
            self.check(target)
        except TargetRefused:
            return False
        return True


# ------------------------------------------------------------------------- ports


def _services_file(nmap: str) -> Path | None:
    found = shutil.which(nmap)
    candidates = []
    if found:
        candidates.append(Path(found).resolve().parent.parent / "share" / "nmap" / "nmap-services")
    candidates += [Path("/usr/share/nmap/nmap-services"), Path("/usr/local/share/nmap/nmap-services")]
    return next((p for p in candidates if p.is_file()), None)


@lru_cache(maxsize=4)
def _service_table(nmap: str) -> tuple[tuple[tuple[int, float], ...], dict[int, str]]:
    """((port, frequency) of TCP ports, most frequent first), {port: service name}."""
    path = _services_file(nmap)
    freq: list[tuple[int, float]] = []
    names: dict[int, str] = {}
    if path is None:
        return (), {}
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) < 3 or line.startswith("#") or not parts[1].endswith("/tcp"):
            continue
        try:
            port, f = int(parts[1].split("/")[0]), float(parts[2])
        except ValueError:
            continue
        freq.append((port, f))
        names.setdefault(port, parts[0])
    freq.sort(key=lambda pf: -pf[1])
    return tuple(freq), names


_FALLBACK_TOP = (80, 23, 443, 21, 22, 25, 3389, 110, 445, 139, 143, 53, 135, 3306, 8080, 161, 8443, 9100, 515, 631)


def tcp_port_list(top_ports: int, extra: Iterable[int], nmap: str = "nmap") -> list[int]:
    """nmap's ``--top-ports N`` list (as nmap-services ranks it) plus ``extra``, sorted."""
    freq, _ = _service_table(nmap)
    top = [p for p, _ in freq[:top_ports]] if freq else list(_FALLBACK_TOP[:top_ports])
    return sorted(set(top) | set(extra))


def _check_ports(ports: Iterable[int], what: str) -> tuple[int, ...]:
    out = tuple(sorted({int(p) for p in ports}))
    if any(not 1 <= p <= 65535 for p in out):
        raise ValueError(f"{what}: ports must be 1..65535, got {out}")
    return out


# ------------------------------------------------------------------------- running nmap


def run_subprocess(command: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run nmap; the one place a process is started (tests replace it)."""
    return subprocess.run(list(command), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@dataclass(frozen=True)
class _Pass:
    hosts: dict[str, dict[str, Any]]
    elapsed: float


class NmapDiscovery:
    """Find hosts, open TCP ports, SSH and SNMP in an allowed subnet with nmap."""

    name = "nmap"

    def __init__(self, scope: Scope, *, nmap: str = "nmap", runner: Runner | None = None) -> None:
        self.scope = scope
        self.nmap = nmap
        self._run = runner or run_subprocess
        self._parser: Any = None

    async def scan_async(self, subnet: str, **kw: Any) -> list[DeviceFacts]:
        return await asyncio.to_thread(self.scan, subnet, **kw)

    def scan(
        self,
        subnet: str,
        *,
        netns: str | None = None,
        top_ports: int = 100,
        tcp_ports: Iterable[int] = SSH_PORTS,
        snmp_ports: Iterable[int] = SNMP_PORTS,
        version_detection: bool = True,
        timeout: float,
        on_pass: Callable[[str], None] | None = None,
    ) -> list[DeviceFacts]:
        """Scan ``subnet`` (a network or one address); one ``DeviceFacts`` per host found up.
        ``on_pass`` is told "sweep" before the TCP pass and "probe" before the SNMP (UDP) one."""
        net = self.scope.check(subnet)  # before anything else: a refused target costs no packet
        if netns is not None and not _NETNS_NAME.match(netns):
            raise ValueError(f"bad network namespace name {netns!r}")
        if not 0 <= top_ports <= 1000:
            raise ValueError("top_ports must be 0..1000")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        tcp = tcp_port_list(top_ports, _check_ports(tcp_ports, "tcp_ports"), self.nmap)
        udp = _check_ports(snmp_ports, "snmp_ports")
        root = os.geteuid() == 0
        deadline = time.monotonic() + timeout
        warnings: list[str] = []

        if on_pass is not None:
            on_pass("sweep")
        tcp_pass = self._pass(self._tcp_args(net, tcp, root, version_detection, timeout), netns, deadline, "TCP")
        up = {ip: h for ip, h in tcp_pass.hosts.items() if h.get("status", {}).get("state") == "up"}
        udp_hosts: dict[str, dict[str, Any]] = {}
        if udp and up:
            if not root:
                warnings.append(f"UDP {','.join(map(str, udp))} (SNMP) not scanned: needs root")
            else:
                targets = [str(self.scope.check(ip).network_address) for ip in sorted(up, key=ipaddress.ip_address)]
                left = deadline - time.monotonic()
                if left < 1:
                    warnings.append("UDP (SNMP) not scanned: no time left")
                else:
                    if on_pass is not None:
                        on_pass("probe")
                    udp_hosts = self._pass(self._udp_args(targets, udp, left), netns, deadline, "UDP").hosts
        _, table = _service_table(self.nmap)
        return [_facts(ip, host, udp_hosts.get(ip, {}), table, tuple(warnings)) for ip, host in sorted(up.items(), key=lambda kv: ipaddress.ip_address(kv[0])) if ipaddress.ip_address(ip) in net]

    # -- argument lists ---------------------------------------------------------------------

    @staticmethod
    def _host_timeout(timeout: float) -> str:
        return f"{max(2, int(timeout * 0.8))}s"

    def _tcp_args(self, net: IPv4Network, ports: list[int], root: bool, version: bool, timeout: float) -> list[str]:
        args = ["-n", "-T4", "--max-retries", "1", "--host-timeout", self._host_timeout(timeout)]
        if not ports:
            return [*args, "-sn", str(net)]  # ping sweep only
        args.append("-sS" if root else "-sT")
        if version:
            args += ["-sV", "--version-light"]
        return [*args, "-p", "T:" + ",".join(map(str, ports)), str(net)]

    def _udp_args(self, hosts: list[str], ports: tuple[int, ...], timeout: float) -> list[str]:
        return ["-n", "-Pn", "-sU", "-p", "U:" + ",".join(map(str, ports)), "--data", SNMPV3_DISCOVERY,
                "--max-retries", "1", "--host-timeout", self._host_timeout(timeout), *hosts]  # fmt: skip

    # -- one nmap run -----------------------------------------------------------------------

    def _pass(self, args: list[str], netns: str | None, deadline: float, what: str) -> _Pass:
        command = [self.nmap, "-oX", "-", *args]
        if netns is not None:
            command = ["ip", "netns", "exec", netns, *command]
        left = deadline - time.monotonic()
        if left <= 0:
            raise CollectionTimeout(f"nmap {what} scan: no time left")
        t0 = time.monotonic()
        try:
            done = self._run(command, left)
        except subprocess.TimeoutExpired:
            raise CollectionTimeout(f"nmap {what} scan did not finish within {left:.0f} s") from None
        except OSError as exc:
            raise ProtocolError(f"cannot run nmap: {exc.strerror or exc}") from None
        if done.returncode != 0:
            raise ProtocolError(f"nmap {what} scan failed (exit {done.returncode}): {_first_line(done.stderr)}")
        try:
            result = self._xml_parser().analyse_nmap_xml_scan(nmap_xml_output=done.stdout, nmap_err=done.stderr or "")
        except Exception as exc:  # noqa: BLE001 - python-nmap raises PortScannerError or XML errors
            raise ProtocolError(f"nmap {what} scan: unreadable output ({type(exc).__name__}: {_first_line(str(exc))})") from None
        errors = result.get("nmap", {}).get("scaninfo", {}).get("error")
        if errors:
            log.warning("nmap %s scan reported: %s", what, _first_line(" ".join(errors)))
        elapsed = time.monotonic() - t0
        log.debug("nmap %s pass: %d hosts in %.1f s", what, len(result.get("scan", {})), elapsed)
        return _Pass(result.get("scan", {}), elapsed)

    def _xml_parser(self) -> Any:
        if self._parser is None:
            import nmap as python_nmap

            # PortScanner() looks for the nmap binary (runs `nmap -V`, which sends nothing).
            self._parser = python_nmap.PortScanner(nmap_search_path=(self.nmap, "nmap", "/usr/bin/nmap", "/usr/local/bin/nmap"))
        return self._parser


SWEEP_PIECE_PREFIX = 24  # a wider subnet is swept /24 by /24: a timeout then loses one piece only


def sweep_pieces(network: IPv4Network | str) -> list[IPv4Network]:
    """The pieces one subnet is swept in: itself up to a /24, else its /24s."""
    net = ipaddress.ip_network(network) if isinstance(network, str) else network
    assert isinstance(net, IPv4Network)
    if net.prefixlen >= SWEEP_PIECE_PREFIX:
        return [net]
    return list(net.subnets(new_prefix=SWEEP_PIECE_PREFIX))


def _first_line(text: str | None) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[0][:200] if lines else "(no message)"


def _facts(ip: str, host: dict[str, Any], udp_host: dict[str, Any], table: dict[int, str], warnings: tuple[str, ...]) -> DeviceFacts:
    open_ports: list[int] = []
    services: list[tuple[int, str]] = []
    for port, info in sorted(host.get("tcp", {}).items()):
        if info.get("state") != "open":
            continue
        open_ports.append(int(port))
        name = info.get("name") or ""
        if name in ("", "tcpwrapped", "unknown"):
            name = table.get(int(port), name or "unknown")
        services.append((int(port), name))
    for port, info in sorted(udp_host.get("udp", {}).items()):
        if info.get("state") == "open":  # an SNMP reply came back ("open|filtered" means silence)
            open_ports.append(-int(port))
            services.append((-int(port), "snmp"))
    mac = host.get("addresses", {}).get("mac")
    return DeviceFacts(
        address=ip,
        source="nmap",
        open_ports=tuple(open_ports),
        services=tuple(services),
        mac=mac.lower() if mac else None,
        warnings=warnings,
    )
