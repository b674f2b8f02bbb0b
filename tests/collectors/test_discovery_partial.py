"""A discovery that loses a piece of its sweep keeps what the other pieces found: the piece's
failure is recorded (summary, status "partial", the run's error) and the hosts found elsewhere
are collected and reconciled. Addresses that answer the sweep but no management protocol are
counted apart from real failures."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading

import pytest
from sqlmodel import Session, select

from collectors import nmap as N
from collectors import service
from collectors.records import CollectionTimeout, DeviceFacts, Unreachable
from collectors.runner import Outcome
from inventory.models import Device, ScanRun, Subnet, Zone
from tests.inventory.factories import make_province

HOST_XML = """<host><status state="up" reason="syn-ack" reason_ttl="0"/><address addr="{ip}" addrtype="ipv4"/><hostnames/><ports>{ports}</ports></host>"""
OPEN_PORT = """<port protocol="tcp" portid="{port}"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="{name}" method="table" conf="3"/></port>"""


def nmap_xml(hosts: dict[str, dict[int, str]]) -> str:
    body = "".join(HOST_XML.format(ip=ip, ports="".join(OPEN_PORT.format(port=p, name=n) for p, n in ports.items())) for ip, ports in hosts.items())
    return (
        f'<?xml version="1.0"?><nmaprun scanner="nmap" args="nmap" start="1" version="7.93" xmloutputversion="1.05"><scaninfo type="syn" protocol="tcp" numservices="1" services="22"/>{body}'
        '<runstats><finished time="2" timestr="x" elapsed="1.00" summary="x" exit="success"/><hosts up="1" down="0" total="1"/></runstats></nmaprun>'
    )


class FakeNmap:
    """nmap's answers per swept piece: a host table, or an exception (the piece's failure)."""

    def __init__(self, pieces: dict[str, dict[str, dict[int, str]] | BaseException]):
        self.pieces = pieces
        self.calls: list[str] = []

    def __call__(self, command, timeout):
        target = command[-1]
        if "-sU" in command:  # the SNMP probe: nobody answers on UDP here
            return subprocess.CompletedProcess(command, 0, nmap_xml({}), "")
        self.calls.append(target)
        answer = self.pieces[target]
        if isinstance(answer, BaseException):
            raise answer
        return subprocess.CompletedProcess(command, 0, nmap_xml(answer), "")


@pytest.fixture
def site(session):
    """S1's Internet zone is a /23 (swept as two /24s) with one recorded switch at 10.1.2.10."""
    ids = make_province(session)
    subnet = session.exec(select(Subnet).where(Subnet.zone_id == ids["S1"]["internet"])).one()
    subnet.cidr = "10.1.2.0/23"
    switch = Device(site_id=ids["S1"]["site"], zone_id=ids["S1"]["internet"], device_class="access_switch", mgmt_ip="10.1.2.10", hostname="sw-core")
    session.add_all([subnet, switch])
    session.commit()
    return ids


def answers(by_address: dict[str, DeviceFacts | Exception]):
    def run_sync(targets, book, options=None):
        out = []
        for t in targets:
            got = by_address[t.address]
            out.append(Outcome(t, (got,), None, ("snmp",), 3) if isinstance(got, DeviceFacts) else Outcome(t, (), got, (f"snmp x: {got.kind}",), 3))
        return out

    return run_sync


def test_a_piece_that_times_out_loses_only_its_own_hosts(engine, site, monkeypatch):
    fake = FakeNmap({
        "10.1.2.0/24": {"10.1.2.10": {}, "10.1.2.50": {22: "ssh"}, "10.1.2.60": {80: "http"}},
        "10.1.3.0/24": subprocess.TimeoutExpired("nmap", 60),
    })  # fmt: skip
    monkeypatch.setattr(N, "run_subprocess", fake)
    monkeypatch.setattr(service, "run_sync", answers({
        "10.1.2.50": DeviceFacts(address="10.1.2.50", source="snmp", sys_name="rogue-ap", serial="AP-1"),
        "10.1.2.60": CollectionTimeout("no SNMP answer from 10.1.2.60:161 within 3 s (wrong community?)"),  # a web camera
        "10.1.2.10": Unreachable("nothing listens for SNMP at 10.1.2.10:161 (port unreachable)"),  # the recorded switch
    }))  # fmt: skip
    phases = []
    result = service.discover(engine, None, site="S1", zone="internet", nmap_timeout=60, on_phase=lambda name, counts: phases.append((name, counts)))

    assert fake.calls == ["10.1.2.0/24", "10.1.3.0/24"]  # both pieces tried
    assert result.status == "partial"
    summary = result.summary
    assert summary["subnets"] == ["10.1.2.0/23"] and summary["pieces"] == 2
    assert summary["subnet_errors"] == [{"subnet": "10.1.3.0/24", "kind": "timeout", "message": "nmap TCP scan did not finish within 60 s"}]
    assert (summary["hosts_found"], summary["answered"], summary["not_manageable"], summary["unreachable"], summary["errors"]) == (3, 1, 1, 1, 0)
    assert summary["created"] == 1 and "manageable" not in summary and summary["manageable_silent"] == []
    with Session(engine) as session:
        run = session.get(ScanRun, result.scan_run_id)
        assert run.status == "partial" and "10.1.3.0/24: timeout: nmap TCP scan did not finish within 60 s" in run.error
        assert run.params["nmap_timeout"] == 60
        assert session.exec(select(Device).where(Device.mgmt_ip == "10.1.2.50")).one().source == "discovered"

    sweeps = [counts for name, counts in phases if name == "sweep"]
    assert sweeps[-1] == {"subnets_done": 2, "subnets": 2, "addresses_done": 512, "addresses": 512, "hosts_found": 3, "subnets_failed": 1}
    assert [c["subnets_done"] for c in sweeps] == sorted(c["subnets_done"] for c in sweeps)  # counts only grow
    assert "probe" in [name for name, _ in phases]  # the SNMP pass of the piece that answered (root only)
    assert phases[-1] == ("collect", {"hosts_found": 3})


def test_addresses_that_answer_nothing_manageable_are_not_failures(engine, site, monkeypatch):
    monkeypatch.setattr(N, "run_subprocess", FakeNmap({"10.1.2.0/24": {"10.1.2.60": {80: "http"}, "10.1.2.61": {9100: "jetdirect"}}, "10.1.3.0/24": {}}))
    silent = CollectionTimeout("no SNMP answer within 3 s")
    monkeypatch.setattr(service, "run_sync", answers({"10.1.2.60": silent, "10.1.2.61": silent}))
    result = service.discover(engine, None, site="S1", zone="internet")
    assert result.status == "ok" and result.summary["not_manageable"] == 2 and result.summary["errors"] == 0


def test_a_management_port_that_stays_silent_is_a_real_error(engine, site, monkeypatch):
    """SSH was seen open by the sweep: a device that then refuses the login is an error to fix."""
    from collectors.records import AuthenticationFailed

    monkeypatch.setattr(N, "run_subprocess", FakeNmap({"10.1.2.0/24": {"10.1.2.70": {22: "ssh"}}, "10.1.3.0/24": {}}))
    monkeypatch.setattr(service, "run_sync", answers({"10.1.2.70": CollectionTimeout("no SNMP answer within 3 s")}))
    assert service.discover(engine, None, site="S1", zone="internet").summary["errors"] == 1
    monkeypatch.setattr(service, "run_sync", answers({"10.1.2.70": AuthenticationFailed("SSH login refused for user 'x' on 10.1.2.70:22")}))
    result = service.discover(engine, None, site="S1", zone="internet")
    assert result.status == "failed" and result.summary["errors"] == 1


def test_every_piece_failing_fails_the_run_without_raising(engine, site, monkeypatch):
    fake = FakeNmap({"10.1.2.0/24": subprocess.TimeoutExpired("nmap", 5), "10.1.3.0/24": subprocess.TimeoutExpired("nmap", 5)})
    monkeypatch.setattr(N, "run_subprocess", fake)
    monkeypatch.setattr(service, "run_sync", answers({}))
    result = service.discover(engine, None, site="S1", zone="internet", nmap_timeout=5)
    assert result.status == "failed" and len(result.summary["subnet_errors"]) == 2
    with Session(engine) as session:
        assert session.get(ScanRun, result.scan_run_id).error.startswith("2 subnet piece(s) not swept")


def test_missing_nmap_stops_after_the_first_piece(engine, site, monkeypatch):
    fake = FakeNmap({"10.1.2.0/24": FileNotFoundError(2, "No such file or directory"), "10.1.3.0/24": {}})
    monkeypatch.setattr(N, "run_subprocess", fake)
    monkeypatch.setattr(service, "run_sync", answers({}))
    result = service.discover(engine, None, site="S1", zone="internet")
    assert fake.calls == ["10.1.2.0/24"]
    assert [e["kind"] for e in result.summary["subnet_errors"]] == ["protocol", "skipped"]
    assert result.summary["subnet_errors"][0]["message"] == "cannot run nmap: No such file or directory"
    assert result.status == "failed"


def test_a_subnet_outside_the_zones_is_still_refused_at_once(engine, site, monkeypatch):
    monkeypatch.setattr(N, "run_subprocess", FakeNmap({}))
    with pytest.raises(service.ServiceError, match="not inside any zone subnet"):
        service.discover(engine, None, site="S1", subnet="10.9.9.0/24")
    with Session(engine) as session:
        assert session.exec(select(ScanRun)).one().status == "error"


def test_sweep_pieces():
    assert [str(n) for n in N.sweep_pieces("10.1.2.0/23")] == ["10.1.2.0/24", "10.1.3.0/24"]
    assert [str(n) for n in N.sweep_pieces("10.1.2.0/26")] == ["10.1.2.0/26"]
    assert len(N.sweep_pieces("10.1.0.0/16")) == 256


def serve_banner(listener: socket.socket) -> None:
    """Greet like an SSH server, so nmap's version probe ends at once (a silent port holds it
    until the host timeout, and nmap then drops the host)."""
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return  # closed
        with conn:
            try:
                conn.settimeout(5)
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
                while conn.recv(512):  # let nmap close first: no TIME_WAIT left on the listening address
                    pass
            except OSError:
                pass


@pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed")
def test_real_nmap_timeout_keeps_the_other_piece(engine, session, monkeypatch):
    """Real nmap on loopback: the second zone subnet gets no time (a real nmap timeout), the first
    one's listener is found, collected and recorded."""
    ids = make_province(session)
    for subnet in session.exec(select(Subnet).join(Zone).where(Zone.site_id == ids["S1"]["site"], Zone.kind == "internet")):
        subnet.cidr = "127.77.0.0/30"
        session.add(subnet)
    session.add(Subnet(zone_id=ids["S1"]["internet"], cidr="127.77.1.0/30"))
    session.commit()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a previous run's connections may linger
    listener.bind(("127.77.0.1", 2222))  # kiemke's extra SSH port: always in the port list
    listener.listen(8)
    threading.Thread(target=serve_banner, args=(listener,), daemon=True).start()

    real = N.run_subprocess

    def runner(command, timeout):
        # The piece 127.77.1.0/30 gets 10 ms: nmap cannot finish and is killed.
        return real(command, 0.01 if "127.77.1.0/30" in command else timeout)

    monkeypatch.setattr(N, "run_subprocess", runner)
    monkeypatch.setattr(service, "run_sync", answers({"127.77.0.1": CollectionTimeout("no SNMP answer within 1 s")}))
    try:
        result = service.discover(engine, None, site="S1", zone="internet", nmap_timeout=60)
    finally:
        listener.close()
    summary = result.summary
    assert [e["subnet"] for e in summary["subnet_errors"]] == ["127.77.1.0/30"] and summary["subnet_errors"][0]["kind"] == "timeout"
    assert summary["hosts_found"] == 1 and summary["errors"] == 1  # SSH seen on 2222 and yet silent: an error, not "not manageable"
    assert result.status == "partial"
