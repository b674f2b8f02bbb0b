"""NmapDiscovery: the allow-list (no packet to a refused target), the command it runs, and real
scans of the namespace lab (10.99.1.0/24, from inside ``kklab-core`` only) and of loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from collectors import nmap as N
from collectors.lab import netns
from collectors.records import CollectionTimeout, ProtocolError, TargetRefused
from tests.lab.support import run_port

LAB_SUBNET = netns.SUBNET  # 10.99.1.0/24


def _scope() -> N.Scope:
    return N.Scope.from_zone_subnets([LAB_SUBNET])


class Recorder:
    """A runner that records command lines and answers with canned nmap XML."""

    def __init__(self, stdout: str = "", returncode: int = 0, stderr: str = "", exc: Exception | None = None):
        self.calls: list[list[str]] = []
        self.stdout, self.returncode, self.stderr, self.exc = stdout, returncode, stderr, exc

    def __call__(self, command, timeout):
        self.calls.append(list(command))
        if self.exc is not None:
            raise self.exc
        return subprocess.CompletedProcess(command, self.returncode, self.stdout, self.stderr)


XML = """<?xml version="1.0"?>
<nmaprun scanner="nmap" args="nmap" start="1" version="7.93" xmloutputversion="1.05">
<scaninfo type="syn" protocol="tcp" numservices="2" services="22,80"/>
<host><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="10.99.1.10" addrtype="ipv4"/><address addr="52:14:B6:2B:39:4D" addrtype="mac"/>
<hostnames/><ports>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="ssh" product="OpenSSH" method="probed" conf="10"/></port>
<port protocol="tcp" portid="80"><state state="closed" reason="reset" reason_ttl="64"/><service name="http" method="table" conf="3"/></port>
<port protocol="tcp" portid="445"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="tcpwrapped" method="probed" conf="8"/></port>
</ports></host>
<runstats><finished time="2" timestr="x" elapsed="1.00" summary="x" exit="success"/><hosts up="1" down="255" total="256"/></runstats>
</nmaprun>
"""


@pytest.fixture
def no_process(monkeypatch):
    """Fail the test if anything starts a process (nmap, `nmap -V`, ip netns exec ...)."""
    started = []

    def refuse(*args, **kwargs):
        started.append(args)
        raise AssertionError(f"a process was started: {args!r}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(os, "execvp", refuse)
    return started


# ------------------------------------------------------------------------- the allow-list


@pytest.mark.parametrize(
    "target",
    [
        "8.8.8.8",  # public
        "1.1.1.0/24",
        "10.0.0.0/8",  # contains the allowed /24 but is not inside it
        "10.99.0.0/23",
        "10.99.2.1",
        "0.0.0.0/0",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "router.example.com",  # hostnames are never resolved
        "localhost",
        "kklab-core",
        "10.99.1.1-20",  # nmap range syntax
        "10.99.1.*",
        "10.99.1.0/24 8.8.8.8",
        "10.99.1.0/24,8.8.8.8",
        "-iL /etc/hosts",
        "--script=broadcast 10.99.1.1",
        "10.99.1.5/24",  # host bits set: ambiguous
        "::1",
        "2001:db8::/64",
        "",
        "127.0.0.0/8",  # allowed, but more addresses than one scan may cover
        "127.0.0.0/15",
    ],
)
def test_refused_targets_send_nothing(target, no_process):
    runner = Recorder(XML)
    discovery = N.NmapDiscovery(_scope(), runner=runner)
    with pytest.raises(TargetRefused, match=r"is not an IPv4|is not a valid IPv4|is not a scannable|outside the scanning allow-list|at most") as err:
        discovery.scan(target, netns="kklab-core", timeout=10)
    assert err.value.kind == "refused"
    assert runner.calls == [] and no_process == []


def test_scope_accepts_inside_targets():
    scope = _scope()
    assert scope.check("10.99.1.0/24") == N.ipaddress.ip_network("10.99.1.0/24")
    assert str(scope.check("10.99.1.12")) == "10.99.1.12/32"
    assert str(scope.check(" 10.99.1.128/25 ")) == "10.99.1.128/25"
    assert str(scope.check("127.253.0.1")) == "127.253.0.1/32"
    assert "10.99.1.14" in scope and "10.99.3.1" not in scope
    assert "127.0.0.1" not in N.Scope.from_zone_subnets([LAB_SUBNET], loopback=False)
    # zone_subnets() shape: {zone id: [cidr, ...]}
    assert str(N.Scope.from_zone_subnets({1: ["10.1.0.0/24"], 2: ["10.2.0.0/24"]}, loopback=False).allowed[1]) == "10.2.0.0/24"


def test_scope_rejects_silly_allow_lists():
    for wide in ("0.0.0.0/0", "10.0.0.0/7"):
        with pytest.raises(ValueError, match="is wider than"):
            N.Scope([wide])
    with pytest.raises(ValueError, match="host bits set"):
        N.Scope(["10.99.1.5/24"])
    assert N.Scope(["fd00::/64", "10.1.0.0/16"]).allowed == (N.ipaddress.ip_network("10.1.0.0/16"),)  # IPv6 ignored
    assert str(N.Scope(["10.1.0.0/16"]).check("10.1.0.0/16")) == "10.1.0.0/16"


# ------------------------------------------------------------------------- command and parsing


def test_command_line_and_parsing(monkeypatch):
    monkeypatch.setattr(N.os, "geteuid", lambda: 0)
    runner = Recorder(XML)
    facts = N.NmapDiscovery(_scope(), runner=runner).scan("10.99.1.0/24", netns="kklab-core", top_ports=100, snmp_ports=(), timeout=20)
    (cmd,) = runner.calls
    assert cmd[:5] == ["ip", "netns", "exec", "kklab-core", "nmap"]
    assert cmd[-1] == "10.99.1.0/24"
    for flag in ("-n", "-sS", "-sV", "--version-light", "-oX", "--host-timeout"):
        assert flag in cmd
    ports = [int(p) for p in cmd[cmd.index("-p") + 1].removeprefix("T:").split(",")]
    assert {22, 2222, 23, 80, 443, 135, 445, 3389, 9100} <= set(ports)
    assert len(ports) == 101  # nmap's top 100 plus 2222
    assert ports == N.tcp_port_list(100, (22, 2222))
    assert cmd[cmd.index("--host-timeout") + 1] == "16s"
    (f,) = facts
    assert (f.address, f.source, f.open_ports, f.mac) == ("10.99.1.10", "nmap", (22, 445), "52:14:b6:2b:39:4d")
    assert f.services == ((22, "ssh"), (445, "microsoft-ds"))  # tcpwrapped -> the port's usual name
    assert f.macs == ("52:14:b6:2b:39:4d",)


def test_without_root_connect_scan_and_no_udp(monkeypatch):
    monkeypatch.setattr(N.os, "geteuid", lambda: 1000)
    runner = Recorder(XML)
    (f,) = N.NmapDiscovery(_scope(), runner=runner).scan("10.99.1.10", timeout=20)
    (cmd,) = runner.calls  # no UDP pass
    assert "-sT" in cmd and "-sS" not in cmd and cmd[0] == "nmap"
    assert f.warnings == ("UDP 161 (SNMP) not scanned: needs root",)


def test_udp_pass_targets_only_hosts_found_up(monkeypatch):
    monkeypatch.setattr(N.os, "geteuid", lambda: 0)
    runner = Recorder(XML)
    N.NmapDiscovery(_scope(), runner=runner).scan("10.99.1.0/24", netns="kklab-core", snmp_ports=(161, 1161), timeout=20)
    tcp, udp = runner.calls
    assert udp[:4] == ["ip", "netns", "exec", "kklab-core"]
    assert udp[-1] == "10.99.1.10" and "-sU" in udp and "U:161,1161" in udp
    assert udp[udp.index("--data") + 1] == N.SNMPV3_DISCOVERY


@pytest.mark.parametrize(
    "runner, error, message",
    [
        (Recorder("", returncode=1, stderr='Cannot open network namespace "kklab-nope"'), ProtocolError, "scan failed .exit 1.: Cannot open"),
        (Recorder("this is not xml"), ProtocolError, "unreadable output"),
        (Recorder(exc=FileNotFoundError(2, "No such file or directory")), ProtocolError, "cannot run nmap: No such file"),
        (Recorder(exc=subprocess.TimeoutExpired("nmap", 5)), CollectionTimeout, "did not finish within"),
    ],
)
def test_nmap_failures_become_collector_errors(runner, error, message, monkeypatch):
    monkeypatch.setattr(N.os, "geteuid", lambda: 0)
    with pytest.raises(error, match=message):
        N.NmapDiscovery(_scope(), runner=runner).scan("10.99.1.0/24", netns="kklab-core", timeout=5)


def test_bad_arguments():
    discovery = N.NmapDiscovery(_scope(), runner=Recorder(XML))
    with pytest.raises(ValueError, match="bad network namespace name"):
        discovery.scan("10.99.1.0/24", netns="kklab-core; reboot", timeout=5)
    with pytest.raises(ValueError, match="ports must be 1..65535"):
        discovery.scan("10.99.1.0/24", tcp_ports=(0,), timeout=5)
    with pytest.raises(ValueError, match="top_ports must be 0..1000"):
        discovery.scan("10.99.1.0/24", top_ports=5000, timeout=5)


# ------------------------------------------------------------------------- real scans

NEEDS_NMAP = pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed (apt-get install nmap)")


@pytest.fixture(scope="module")
def netns_lab(tmp_path_factory):
    reason = netns.available()
    if reason:
        pytest.skip(reason)
    lab = netns.NetnsLab(tmp_path_factory.mktemp("netns"))  # its own namespace names: no other lab is touched
    try:
        lab.start()
    except netns.NetnsUnavailable as exc:
        lab.stop()
        pytest.skip(f"nmap lab did not start: {exc}")
    yield lab
    lab.stop()


def _veth_mac(lab: netns.NetnsLab, index: int) -> str:
    out = subprocess.run(["ip", "-n", lab.host_namespace(index), "-o", "link", "show", f"kkv{index}b"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return out.split("link/ether", 1)[1].split()[0].lower()


@pytest.mark.lab
def test_netns_lab_scan_finds_every_host_and_port(netns_lab):
    described = netns_lab.describe()
    scanner = described["scanner_namespace"]
    t0 = time.monotonic()
    facts = N.NmapDiscovery(_scope()).scan(described["subnet"], netns=scanner, timeout=30)
    elapsed = time.monotonic() - t0
    by_ip = {f.address: f for f in facts}
    gateway = str(N.ipaddress.ip_network(described["subnet"]).network_address + 1)  # the scanner itself
    assert set(by_ip) - {gateway} == {h["ip"] for h in described["hosts"]}
    for n, host in enumerate(described["hosts"]):
        f = by_ip[host["ip"]]
        assert f.source == "nmap"
        assert f.open_ports == tuple(sorted(host["ports"])), host["name"]
        assert f.mac == _veth_mac(netns_lab, n)
        if 22 in host["ports"]:
            assert (22, "ssh") in f.services
        assert f.warnings == ()
    assert elapsed < 30, elapsed


@pytest.mark.lab
@NEEDS_NMAP
def test_loopback_scan_finds_the_ssh_port(tmp_path):
    pytest.importorskip("fakenos")
    from collectors.lab.ssh_devices import SshLab
    from tests.collectors.test_ssh_collector import HARD

    port = run_port(104729)
    dev = _moved(HARD, port, "127.252.7.1")
    lab = SshLab([dev], tmp_path / "ssh", workers=1, die_with_parent=True)
    lab.start(timeout=30)
    try:
        t0 = time.monotonic()
        facts = N.NmapDiscovery(_scope()).scan(dev.address, top_ports=20, tcp_ports=(22, port), snmp_ports=(), timeout=30)
        elapsed = time.monotonic() - t0
    finally:
        lab.stop()
    (f,) = facts
    assert f.address == dev.address
    assert port in f.open_ports
    assert (port, "ssh") in f.services
    assert elapsed < 20, elapsed


def _moved(dev, port: int, address: str):
    import dataclasses

    return dataclasses.replace(dev, address=address, ssh=dataclasses.replace(dev.ssh, port=port))


@pytest.mark.lab
@NEEDS_NMAP
@pytest.mark.skipif(os.geteuid() != 0, reason="UDP (SNMP) scanning needs root")
def test_loopback_scan_finds_an_snmp_agent_on_a_high_port(tmp_path):
    pytest.importorskip("snmpsim")
    from collectors.lab.snmp_agents import SnmpLab
    from collectors.lab.spec import LabDevice, SnmpAccess

    port = run_port(15485863)
    dev = LabDevice(
        key="nmap-snmp", site_code="DB", zone="party_wan", device_class="access_switch", hostname="SW-NMAP-SNMP",
        address="127.252.8.1", vendor="Cisco", model="C9200L-24T-4G", serial="JAE0000NMAP", os_name="IOS-XE",
        os_version="17.9.4", sys_object_id="1.3.6.1.4.1.9.1.2694", sys_descr="x", country_of_origin="",
        recorded=True, snmp=SnmpAccess(port, "Kk-nmap-ro", "kiemke", "auth-secret-nmap", "priv-secret-nmap"),
    )  # fmt: skip
    lab = SnmpLab([dev], tmp_path / "snmp")
    lab.start(timeout=30)
    try:
        facts = N.NmapDiscovery(_scope()).scan(dev.address, top_ports=0, tcp_ports=(), snmp_ports=(161, port), timeout=20)
    finally:
        lab.stop()
    (f,) = facts
    assert f.open_ports == (-port,)  # 161 is closed here; the agent answered the v3 discovery on `port`
    assert f.services == ((-port, "snmp"),)


def test_doc_examples():
    import doctest

    assert doctest.testmod(N).failed == 0
