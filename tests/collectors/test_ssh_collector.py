"""SshCollector against a small fakenos lab on 127.253.x.y, plus its pure parsers."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest
from pydantic import SecretStr

from collectors import ssh as S
from collectors.base import Collector
from collectors.lab import configs as C
from collectors.lab.spec import LabDevice, SshAccess
from collectors.records import (
    AuthenticationFailed,
    CollectionTimeout,
    ProtocolError,
    SshCredential,
    Target,
    Unreachable,
)
from tests.lab.support import run_port

PORT = run_port(7919)  # not the port tests/lab uses for the same pid
BANNER_BYTES = 64 * 1024


def _banner_config(hostname: str, secret: str) -> str:
    """A hardened config with a ~64 KB ``banner motd`` (the kind legal departments write)."""
    base = C.cisco_ios_config(hostname, frozenset(), enable_secret=secret)
    line = "Authorised access only. Activity is logged and monitored by the provincial office."
    body, n = [], 0
    while sum(len(x) + 1 for x in body) < BANNER_BYTES:
        body.append(f"{n:05d} {line}")
        n += 1
    banner = "banner motd ^C\n" + "\n".join(body) + "\n^C\n"
    return base.replace("\nline con 0", "\n" + banner + "line con 0", 1) if "\nline con 0" in base else base.replace("\nend\n", "\n" + banner + "end\n")


def _device(n: int, hostname: str, platform: str = "cisco_ios", *, behaviour="normal", violations=(), model: str | None = None, version: str | None = None, config: str | None = None) -> LabDevice:
    if platform == "cisco_ios":
        secret = f"En-{n}-Secret!"
        cfg = config or C.cisco_ios_config(hostname, frozenset(violations), enable_secret=secret)
        model, version, serial, vendor = model or "WS-C2960X-24TS-L", version or "15.2(7)E8", f"FOC22{n:04d}ZZ", "Cisco"
    else:
        secret = ""
        cfg = C.fortios_config(hostname, frozenset(violations))
        model, version, serial, vendor = "FortiGate-60F", "7.2.8", f"FGT60FTK23{n:06d}", "Fortinet"
    return LabDevice(
        key=f"sshc-{n}", site_code="DB", zone="party_wan",
        device_class="access_switch" if platform == "cisco_ios" else "firewall",
        hostname=hostname, address=f"127.253.{n // 200}.{n % 200 + 1}", vendor=vendor, model=model,
        serial=serial, os_name="IOS" if platform == "cisco_ios" else "FortiOS", os_version=version,
        sys_object_id="1.3.6.1.4.1.9.1.1208", sys_descr="", country_of_origin="", recorded=True,
        behaviour=behaviour, ssh=SshAccess(PORT, platform, "kiemke", f"Pw-{n}-s3cr3t-login", secret, cfg),
    )  # fmt: skip


HARD = _device(1, "SW-SSHC-HARD")
BAD = _device(2, "SW-SSHC-BAD", violations={"net.telnet_off", "net.snmp_no_default_community", "net.http_mgmt_off", "net.enable_secret", "net.password_encryption"})
XE = _device(3, "SW-SSHC-XE", model="C9200L-24T-4G", version="17.9.4")
FGT = _device(4, "FGT-SSHC-01", "fortinet", violations={"net.fw_default_deny"})
SLOW = _device(5, "SW-SSHC-SLOW", behaviour="slow")
HANG = _device(6, "SW-SSHC-HANG", behaviour="hang")
BIG = _device(7, "SW-SSHC-BANNER", config=_banner_config("SW-SSHC-BANNER", "En-7-Secret!"))
DEVICES = [HARD, BAD, XE, FGT, SLOW, HANG, BIG]
CLOSED_ADDRESS = "127.253.0.200"  # nothing listens here


def _target(dev: LabDevice, **kw) -> Target:
    return Target(address=dev.address, platform=dev.ssh.platform, hostname=dev.hostname, **kw)


def _cred(dev: LabDevice, *, password: str | None = None, secret: str | None = None) -> SshCredential:
    ssh = dev.ssh
    return SshCredential(
        name="lab",
        username=ssh.username,
        password=SecretStr(password if password is not None else ssh.password),
        secret=SecretStr(secret if secret is not None else ssh.secret) if ssh.platform == "cisco_ios" else None,
        port=ssh.port,
    )


def _collect(dev: LabDevice, timeout: float = 20, **cred) -> tuple:
    t0 = time.monotonic()
    facts = asyncio.run(S.SshCollector().collect(_target(dev), _cred(dev, **cred), timeout))
    return facts, time.monotonic() - t0


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    pytest.importorskip("fakenos")
    pytest.importorskip("netmiko")
    from collectors.lab.ssh_devices import SshLab

    ssh_lab = SshLab(DEVICES, tmp_path_factory.mktemp("sshc-lab"), workers=2, die_with_parent=True)
    ssh_lab.start(timeout=60)
    yield ssh_lab
    ssh_lab.stop()


# ------------------------------------------------------------------------- pure parts


def test_is_a_collector():
    assert isinstance(S.SshCollector(), Collector)
    assert S.SshCollector.name == "ssh"


def test_clean_cisco_config_drops_preamble_and_volatile_lines():
    body = C.cisco_ios_config("SW-X", frozenset())
    served = C.cisco_ios_show_running_config(body)
    assert served.startswith("Building configuration...")
    assert S.clean_cisco_config(served) == body
    real = ("Building configuration...\r\n\r\nCurrent configuration : 9876 bytes\r\n!\r\n"
            "! Last configuration change at 10:01:02 ICT Mon Mar 24 2025 by admin\r\n"
            "! NVRAM config last updated at 10:01:05 ICT Mon Mar 24 2025 by admin\r\n!\r\n"
            "version 15.2\r\nntp clock-period 36028797018963968\r\nntp server 10.0.0.2\r\nend\r\n")  # fmt: skip
    assert S.clean_cisco_config(real) == "!\n!\nversion 15.2\nntp server 10.0.0.2\nend\n"


def test_parse_cisco_and_fortios():
    ver = C.cisco_ios_show_version("SW-1", "C9200L-24T-4G", "JAE1", "17.9.4")
    inv = C.cisco_ios_show_inventory("C9200L-24T-4G", "JAE1")
    f = S.parse_cisco(ver, inv)
    assert (f["sys_name"], f["model"], f["serial"], f["os_version"], f["os_name"]) == ("SW-1", "C9200L-24T-4G", "JAE1", "17.9.4", "IOS-XE")
    assert f["uptime_seconds"] == 12 * 7 * 86400 + 3 * 86400 + 4 * 3600 + 5 * 60
    assert S.parse_cisco(C.cisco_ios_show_version("SW-2", "WS-C2960X-24TS-L", "F1", "15.2(7)E8"), "")["os_name"] == "IOS"
    status = C.fortios_get_system_status("FGT-1", "FortiGate-100F", "FG100F1", "7.4.3")
    g = S.parse_fortios_status(status)
    assert (g["sys_name"], g["model"], g["serial"], g["os_version"]) == ("FGT-1", "FortiGate-100F", "FG100F1", "7.4.3")
    # the regex fallback serves text ntc-templates rejects
    odd = status + "Some-New-Field-In-7.6: yes\n"
    assert S.parse_fortios_status(odd)["serial"] == "FG100F1"


def test_connect_params_are_bounded():
    params = S.connect_params(_target(FGT), _cred(FGT), timeout=4)
    assert params["disabled_algorithms"] == S.FORTINET_DISABLED_ALGORITHMS
    assert max(params[k] for k in ("conn_timeout", "banner_timeout", "auth_timeout", "read_timeout_override")) <= 4
    assert "secret" not in params
    assert S.connect_params(_target(HARD), _cred(HARD), 30)["secret"] == HARD.ssh.secret


def test_unknown_platform_is_a_config_error():
    with pytest.raises(S.UnsupportedPlatform, match="SSH platform 'mikrotik_routeros' of 127.0.0.1 is not supported") as err:
        asyncio.run(S.SshCollector().collect(Target(address="127.0.0.1", platform="mikrotik_routeros"), _cred(HARD), 5))
    assert err.value.kind == "config"


def test_unexpected_library_error_is_a_protocol_error_without_secrets():
    password = HARD.ssh.password

    def boom(**params):
        raise RuntimeError(f"weird failure talking to {params['host']} with {params['password']}")

    with pytest.raises(ProtocolError, match=f"failed: RuntimeError: weird failure talking to {HARD.address}") as err:
        asyncio.run(S.SshCollector(connect=boom).collect(_target(HARD), _cred(HARD), 5))
    assert password not in str(err.value) and password not in repr(err.value)
    assert "RuntimeError" in str(err.value) and "***" in str(err.value)


# ------------------------------------------------------------------------- against the lab


@pytest.mark.lab
@pytest.mark.parametrize("dev", [HARD, BAD, XE], ids=lambda d: d.hostname)
def test_cisco_facts_and_config(lab, dev):
    facts, elapsed = _collect(dev)
    assert facts.source == "ssh" and facts.address == dev.address
    assert (facts.sys_name, facts.serial, facts.model, facts.os_version) == (dev.hostname, dev.serial, dev.model, dev.os_version)
    assert facts.vendor == "Cisco"
    assert facts.os_name == ("IOS-XE" if dev is XE else "IOS")
    assert facts.uptime_seconds and facts.uptime_seconds > 86400
    assert facts.running_config == dev.ssh.running_config
    assert facts.warnings == ()
    assert elapsed < 10, elapsed
    if dev is BAD:
        assert f"enable password {dev.ssh.secret}" in facts.running_config.splitlines()


@pytest.mark.lab
def test_fortinet_facts_and_config(lab):
    facts, elapsed = _collect(FGT)
    assert (facts.sys_name, facts.serial, facts.model, facts.os_version) == (FGT.hostname, FGT.serial, FGT.model, "7.2.8")
    assert (facts.vendor, facts.os_name) == ("Fortinet", "FortiOS")
    served = FGT.ssh.running_config.splitlines(keepends=True)
    assert served[1].startswith("#conf_file_ver=")  # changes on every save: dropped for stable snapshots
    assert facts.running_config == "".join(served[:1] + served[2:])
    assert '        set name "temp-allow-all"' in facts.running_config.splitlines()
    assert elapsed < 10, elapsed


@pytest.mark.lab
def test_64k_banner_comes_through_whole(lab):
    assert len(BIG.ssh.running_config) > BANNER_BYTES
    facts, _ = _collect(BIG, timeout=30)
    assert facts.running_config == BIG.ssh.running_config
    assert facts.sys_name == BIG.hostname


@pytest.mark.lab
def test_slow_device_is_collected_within_budget(lab):
    facts, elapsed = _collect(SLOW, timeout=30)
    assert facts.serial == SLOW.serial and facts.running_config == SLOW.ssh.running_config
    assert elapsed >= 4 * 1.5, elapsed  # the lab answers each command after ~2 s


@pytest.mark.lab
def test_wrong_password_is_auth_failed_fast_and_secret_free(lab, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-Pa55-do-not-leak"
    for dev in (HARD, FGT):
        t0 = time.monotonic()
        with pytest.raises(AuthenticationFailed, match="SSH login refused") as err:
            asyncio.run(S.SshCollector().collect(_target(dev), _cred(dev, password=wrong), 20))
        assert time.monotonic() - t0 < 6
        exc = err.value
        assert exc.kind == "auth"
        assert str(exc) == f"SSH login refused for user 'kiemke' on {dev.address}:{PORT}"
        for text in (str(exc), repr(exc), exc.message, caplog.text):
            assert wrong not in text and dev.ssh.password not in text
        assert exc.__cause__ is None and exc.__suppress_context__


@pytest.mark.lab
def test_wrong_enable_secret_keeps_the_facts_and_warns(lab):
    facts, _ = _collect(HARD, secret="not-the-enable-secret")
    assert facts.serial == HARD.serial
    assert facts.running_config is None
    assert facts.warnings == ("enable secret refused: running-config not collected",)


@pytest.mark.lab
def test_hanging_device_times_out_within_budget(lab):
    t0 = time.monotonic()
    with pytest.raises(CollectionTimeout, match=f"SSH (timed out|collection from) .*{HANG.address}") as err:
        asyncio.run(S.SshCollector().collect(_target(HANG), _cred(HANG), 4))
    elapsed = time.monotonic() - t0
    assert 3 <= elapsed < 4 + 3, elapsed
    assert err.value.kind == "timeout"
    assert HANG.ssh.password not in str(err.value) and HANG.ssh.secret not in str(err.value)


@pytest.mark.lab
def test_closed_port_is_unreachable(lab):
    with pytest.raises(ConnectionRefusedError, match="refused"):
        socket.create_connection((CLOSED_ADDRESS, PORT), timeout=1).close()
    t0 = time.monotonic()
    with pytest.raises(Unreachable, match="SSH connection refused") as err:
        asyncio.run(S.SshCollector().collect(Target(address=CLOSED_ADDRESS, platform="cisco_ios"), _cred(HARD), 10))
    assert time.monotonic() - t0 < 3
    assert str(err.value) == f"SSH connection refused by {CLOSED_ADDRESS}:{PORT}"


@pytest.mark.lab
def test_concurrent_visits(lab):
    """The collector is async: one event loop drives several devices at once."""

    async def all_of_them():
        collector = S.SshCollector()
        devs = [HARD, BAD, XE, FGT]
        return await asyncio.gather(*(collector.collect(_target(d), _cred(d), 20) for d in devs)), devs

    t0 = time.monotonic()
    results, devs = asyncio.run(all_of_them())
    elapsed = time.monotonic() - t0
    assert [f.serial for f in results] == [d.serial for d in devs]
    assert elapsed < 10, elapsed


def test_a_stuck_worker_is_cut_off_by_the_event_loop(monkeypatch):
    """Belt and braces: should a library call ignore its timeouts, the visit still ends."""
    monkeypatch.setattr(S, "GRACE", 0.2)
    dropped = []

    class StuckConn:
        remote_conn = None

        def paramiko_cleanup(self):
            dropped.append(True)

    def stuck_connect(**params):
        time.sleep(1.5)
        return StuckConn()

    async def visit():
        t0 = time.monotonic()
        with pytest.raises(CollectionTimeout, match="did not finish within 0.3 s"):
            await S.SshCollector(connect=stuck_connect).collect(_target(HARD), _cred(HARD), 0.3)
        return time.monotonic() - t0

    assert asyncio.run(visit()) < 1.0  # asyncio.run itself then waits for the worker thread
    assert dropped == [True]  # the late connection was closed, not leaked


def test_doc_examples():
    import doctest

    assert doctest.testmod(S).failed == 0
