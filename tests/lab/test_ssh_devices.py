"""The SSH half of the lab: configs.py (pure) and SshLab (fakenos servers on 127.251.x.y)."""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import time
from collections import Counter
from pathlib import Path

import pytest

from collectors.lab import configs as C
from collectors.lab.spec import NETWORK_CONFIG_RULES, LabDevice, SshAccess
from tests.lab.support import run_port

# ------------------------------------------------------------------------------- configs.py

# rule -> regex of the lines its insecure form may add or remove (minimality)
CISCO_TOUCHES = {
    "net.telnet_off": r"^ transport input (telnet )?ssh$",
    "net.ssh_v2_only": r"^ip ssh version [12]$",
    "net.snmp_v3_only": r"^snmp-server community Kk\d+ro RO MGMT-ACL$",
    "net.snmp_no_default_community": r"^snmp-server community public RO MGMT-ACL$",
    "net.snmp_no_rw_community": r"^snmp-server community Kk\d+rw RW MGMT-ACL$",
    "net.ntp_two_servers": r"^ntp server ",
    "net.remote_syslog": r"^logging host ",
    "net.aaa_login": r"^(no )?aaa |^!$|^ server name TACACS-1$|^tacacs server|^ address ipv4 |^ key 7 |^ login local$",
    "net.enable_secret": r"^enable (secret|password) ",
    "net.password_encryption": r"^(no )?service password-encryption$",
    "net.http_mgmt_off": r"^(no )?ip http (server|access-class ipv4 MGMT-ACL)$",
    "net.vty_acl": r"^ access-class MGMT-ACL in$",
    "net.exec_timeout": r"^ exec-timeout (10|30|0) 0$",
    "net.fw_default_deny": r"^ (permit ip any any|deny   ip any any log)$",
}
FORTI_TOUCHES = {
    "net.telnet_off": r"^ +set (allowaccess .*|admin-telnet (en|dis)able)$",
    "net.ssh_v2_only": r"^ +set admin-ssh-v1 (en|dis)able$",
    "net.snmp_v3_only": r"^ *(config system snmp community|edit 1|set name \"Kk\d+ro\"|config hosts|set ip .*|next|end)$",
    "net.snmp_no_default_community": r"^ *(config system snmp community|edit 1|set name \"public\"|config hosts|set ip .*|next|end)$",
    "net.ntp_two_servers": r"^ *(set ntpsync .*|set type custom|set syncinterval 60|config ntpserver|edit [12]|set server .*|next|end)$",
    "net.remote_syslog": r"^ +set (status (en|dis)able|server .*|mode udp|port 514|facility local7)$",
    "net.aaa_login": r"^ +set password ENC ",
    "net.password_encryption": r"^ +set passwd ",
    "net.http_mgmt_off": r"^ +set allowaccess ",
    "net.vty_acl": r"^ +set trusthost1 ",
    "net.exec_timeout": r"^ +set admintimeout \d+$",
    "net.fw_default_deny": r'^ *(edit 2|set name "temp-allow-all"|set (src|dst)intf "any"|set action accept|set (src|dst)addr "all"|set schedule "always"|set service "ALL"|next)$',
}


def _changed(a: str, b: str) -> list[str]:
    ca, cb = Counter(a.splitlines()), Counter(b.splitlines())
    return sorted(((ca - cb) + (cb - ca)).elements())


def _cisco(host: str, violations=(), **kw) -> str:
    return C.cisco_ios_config(host, frozenset(violations), **kw)


def _forti(host: str, violations=()) -> str:
    return C.fortios_config(host, frozenset(violations))


def test_hardened_cisco_has_the_baseline():
    cfg = _cisco("SW-HARD-01", is_firewall=True)
    lines = cfg.splitlines()
    for needed in (
        "service password-encryption",
        "ip ssh version 2",
        "no ip http server",
        "no ip http secure-server",
        "aaa new-model",
        "aaa authentication login default group TACACS-GROUP local",
        "logging host 10.0.0.4",
        "snmp-server group KIEMKE-RO v3 priv read KIEMKE-VIEW access MGMT-ACL",
        " access-class MGMT-ACL in",
        " exec-timeout 10 0",
        " transport input ssh",
        " deny   ip any any log",
        " ip access-group WAN-IN in",
    ):
        assert needed in lines, needed
    assert sum(ln.startswith("ntp server ") for ln in lines) == 2
    assert any(ln.startswith("enable secret 9 $9$") for ln in lines)
    assert not any(ln.startswith(("snmp-server community", "enable password", "ip http server")) for ln in lines)
    assert "telnet" not in cfg
    assert lines[-1] == "end" and "hostname SW-HARD-01" in lines


def test_hardened_fortios_has_the_baseline():
    cfg = _forti("FGT-HARD-01")
    for needed in (
        "set admin-ssh-v1 disable",
        "set admin-telnet disable",
        "set admintimeout 10",
        "set allowaccess ping https ssh snmp",
        "set trusthost1 10.0.0.0 255.255.255.0",
        "set security-level auth-priv",
        'set server "10.0.0.2"',
        'set server "10.0.0.3"',
        'set server "10.0.0.4"',
        'set name "deny-all"',
        "set action deny",
    ):
        assert needed in cfg, needed
    assert "config system snmp community" not in cfg and "set action accept" in cfg
    assert "temp-allow-all" not in cfg and " http " not in cfg


@pytest.mark.parametrize("rule", sorted(CISCO_TOUCHES))
@pytest.mark.parametrize("host", ["SW-DB-01", "SW-MN-07"])  # two hash variants
def test_each_cisco_violation_flips_only_its_lines(rule: str, host: str):
    fw = rule == "net.fw_default_deny"
    hardened, bad = _cisco(host, is_firewall=fw), _cisco(host, {rule}, is_firewall=fw)
    changed = _changed(hardened, bad)
    assert changed, rule
    assert all(re.search(CISCO_TOUCHES[rule], ln) for ln in changed), changed


@pytest.mark.parametrize("rule", sorted(FORTI_TOUCHES))
@pytest.mark.parametrize("host", ["FGT-DB-01", "FGT-MN-07"])
def test_each_fortios_violation_flips_only_its_lines(rule: str, host: str):
    changed = _changed(_forti(host), _forti(host, {rule}))
    assert changed, rule
    assert all(re.search(FORTI_TOUCHES[rule], ln) for ln in changed), changed


def test_cisco_insecure_forms():
    host = "SW-BAD-01"
    assert " transport input telnet ssh" in _cisco(host, {"net.telnet_off"}).splitlines()
    assert "ip ssh version 2" not in _cisco(host, {"net.ssh_v2_only"})
    assert "snmp-server community public RO MGMT-ACL" in _cisco(host, {"net.snmp_no_default_community"}).splitlines()
    assert re.search(r"^snmp-server community \S+ RW", _cisco(host, {"net.snmp_no_rw_community"}), re.M)
    assert len(re.findall(r"^ntp server", _cisco(host, {"net.ntp_two_servers"}), re.M)) <= 1
    assert "logging host" not in _cisco(host, {"net.remote_syslog"})
    no_aaa = _cisco(host, {"net.aaa_login"})
    assert "aaa new-model" not in no_aaa.replace("no aaa new-model", "") and "aaa authentication" not in no_aaa
    secret = "My-Enable-9"
    type7 = _cisco(host, {"net.enable_secret"}, enable_secret=secret)
    enc = re.search(r"^enable password 7 (\S+)$", type7, re.M)
    assert enc and C.type7_decode(enc.group(1)) == secret and "enable secret" not in type7
    plain = _cisco(host, {"net.enable_secret", "net.password_encryption"}, enable_secret=secret)
    assert f"enable password {secret}" in plain.splitlines()
    assert "no service password-encryption" in _cisco(host, {"net.password_encryption"}).splitlines()
    assert "ip http server" in _cisco(host, {"net.http_mgmt_off"}).splitlines()
    assert "access-class" not in _cisco(host, {"net.vty_acl"})
    assert re.search(r"^ exec-timeout (0|30) 0$", _cisco(host, {"net.exec_timeout"}), re.M)
    assert " permit ip any any" in _cisco(host, {"net.fw_default_deny"}, is_firewall=True).splitlines()


def test_fortios_insecure_forms():
    host = "FGT-BAD-01"
    assert "telnet" in re.findall(r"set allowaccess (.*)", _forti(host, {"net.telnet_off"}))[-1].split()
    assert "set admin-ssh-v1 enable" in _forti(host, {"net.ssh_v2_only"})
    assert 'set name "public"' in _forti(host, {"net.snmp_no_default_community"})
    assert len(re.findall(r"^\s+edit \d\n\s+set server", _forti(host, {"net.ntp_two_servers"}), re.M)) <= 1
    assert "config log syslogd setting\n    set status disable\nend" in _forti(host, {"net.remote_syslog"})
    assert "set password ENC" not in _forti(host, {"net.aaa_login"})
    assert re.search(r"set passwd Guest-\d+$", _forti(host, {"net.password_encryption"}), re.M)
    assert "http" in re.findall(r"set allowaccess (.*)", _forti(host, {"net.http_mgmt_off"}))[-1].split()
    assert "trusthost" not in _forti(host, {"net.vty_acl"})
    assert re.search(r"set admintimeout (30|480)$", _forti(host, {"net.exec_timeout"}), re.M)
    allow_all = _forti(host, {"net.fw_default_deny"})
    assert allow_all.index('"temp-allow-all"') < allow_all.index('"deny-all"')


def test_applicability_and_implied():
    assert C.applicable_rules("cisco_ios", is_firewall=True) == frozenset(NETWORK_CONFIG_RULES)
    assert "net.fw_default_deny" not in C.applicable_rules("cisco_ios", is_firewall=False)
    assert C.applicable_rules("fortinet", is_firewall=True) == frozenset(NETWORK_CONFIG_RULES) - {
        "net.enable_secret",
        "net.snmp_no_rw_community",
    }
    with pytest.raises(ValueError, match="rules not applicable to cisco_ios"):
        _cisco("SW-1", {"net.fw_default_deny"})
    with pytest.raises(ValueError, match="rules not applicable to fortinet"):
        _forti("FGT-1", {"net.enable_secret"})
    with pytest.raises(ValueError, match="unknown rule ids"):
        _cisco("SW-1", {"net.no_such_rule"})
    assert C.implied_violations({"net.snmp_no_default_community"}) == {
        "net.snmp_no_default_community",
        "net.snmp_v3_only",
    }
    assert C.implied_violations({"net.snmp_no_rw_community"}) >= {"net.snmp_v3_only"}
    assert C.implied_violations({"net.telnet_off"}) == {"net.telnet_off"}
    assert _cisco("SW-1", {"net.telnet_off"}) == _cisco("SW-1", {"net.telnet_off"})  # deterministic


def test_checker_finds_exactly_the_implied_violations():
    """configs.py and compliance/ agree: every single violation, all of them, none."""
    configcheck = pytest.importorskip("compliance.configcheck")
    from compliance.policy import load_policy

    policy = load_policy()
    for platform, device_class, fw in (
        ("cisco_ios", "access_switch", False),
        ("cisco_ios", "firewall", True),
        ("fortinet", "firewall", True),
    ):
        rules = sorted(C.applicable_rules(platform, is_firewall=fw))
        for violations in [frozenset()] + [frozenset({r}) for r in rules] + [frozenset(rules)]:
            for host in ("SW-DB-01", "SW-MN-07"):
                if platform == "cisco_ios":
                    text = C.cisco_ios_config(host, violations, is_firewall=fw)
                else:
                    text = C.fortios_config(host, violations)
                outcomes = configcheck.check_config_text(text, platform, policy, device_class)
                failed = {o.rule_id for o in outcomes if o.passed is False}
                assert failed == C.implied_violations(violations), (platform, host, sorted(violations))


def test_show_outputs_parse_with_ntc_templates():
    from ntc_templates.parse import parse_output

    ver = parse_output(
        platform="cisco_ios",
        command="show version",
        data=C.cisco_ios_show_version("SW-DB-01", "WS-C2960X-24TS-L", "FOC2001X0AB", "15.2(7)E8"),
    )[0]
    assert (ver["hostname"], ver["version"], ver["serial"], ver["hardware"]) == (
        "SW-DB-01",
        "15.2(7)E8",
        ["FOC2001X0AB"],
        ["WS-C2960X-24TS-L"],
    )
    inv = parse_output(platform="cisco_ios", command="show inventory", data=C.cisco_ios_show_inventory("C9200L-24T-4G", "JAE2301ABCD"))
    assert (inv[0]["pid"], inv[0]["sn"]) == ("C9200L-24T-4G", "JAE2301ABCD")
    status = C.fortios_get_system_status("FGT-DB-01", "FortiGate-60F", "FGT60FTK2209ABCD", "7.2.8")
    assert re.search(r"^Version: FortiGate-60F v7\.2\.8,build\d+,\d+ \(GA", status, re.M)
    assert "Serial-Number: FGT60FTK2209ABCD" in status and "Hostname: FGT-DB-01" in status


# ------------------------------------------------------------------------------- the SSH lab

PORT = run_port(0)  # concurrent runs of this module must not share endpoints
FORTI_KEX = {"kex": ["diffie-hellman-group-exchange-sha1", "diffie-hellman-group-exchange-sha256"]}


def _device(n: int, hostname: str, platform: str = "cisco_ios", *, behaviour="normal", violations=(), address: str | None = None, key: str | None = None) -> LabDevice:
    violations = tuple(sorted(violations))
    if platform == "cisco_ios":
        secret = f"En-{n}-secret"
        cfg = C.cisco_ios_config(hostname, frozenset(violations), enable_secret=secret)
        model, version, serial, vendor = "WS-C2960X-24TS-L", "15.2(7)E8", f"FOC21{n:04d}AB", "Cisco"
    else:
        secret = ""
        cfg = C.fortios_config(hostname, frozenset(violations))
        model, version, serial, vendor = "FortiGate-60F", "7.2.8", f"FGT60FTK22{n:06d}", "Fortinet"
    return LabDevice(
        key=key or f"lab-{n}",
        site_code="DB",
        zone="party_wan",
        device_class="access_switch" if platform == "cisco_ios" else "firewall",
        hostname=hostname,
        address=address or f"127.251.1.{n}",
        vendor=vendor,
        model=model,
        serial=serial,
        os_name="IOS" if platform == "cisco_ios" else "FortiOS",
        os_version=version,
        sys_object_id="1.3.6.1.4.1.9.1.1208" if platform == "cisco_ios" else "1.3.6.1.4.1.12356.101.1.644",
        sys_descr="",
        country_of_origin="",
        recorded=True,
        behaviour=behaviour,
        ssh=SshAccess(PORT, platform, "admin", f"Pw-{n}-login", secret, cfg),
        violations=tuple(sorted(C.implied_violations(violations))),
    )


HARD = _device(1, "SW-DB-HARD")
BAD = _device(2, "SW-DB-BAD", violations={"net.telnet_off", "net.snmp_no_default_community", "net.http_mgmt_off", "net.enable_secret", "net.ntp_two_servers"})
FGT = _device(3, "FGT-DB-01", "fortinet", violations={"net.fw_default_deny"})
SLOW = _device(4, "SW-DB-SLOW", behaviour="slow")
HANG = _device(5, "SW-DB-HANG", behaviour="hang")
DEAD = _device(6, "SW-DB-DEAD", behaviour="dead")
DEVICES = [HARD, BAD, FGT, SLOW, HANG, DEAD]


def _connect(dev: LabDevice, **kw):
    from netmiko import ConnectHandler

    assert dev.ssh is not None
    args = dict(host=dev.address, port=dev.ssh.port, username=dev.ssh.username, password=dev.ssh.password, conn_timeout=10, banner_timeout=10, auth_timeout=10)
    if dev.ssh.platform == "fortinet":
        args.update(device_type="fortinet", disabled_algorithms=FORTI_KEX)
    else:
        args.update(device_type="cisco_ios", secret=dev.ssh.secret)
    args.update(kw)
    return ConnectHandler(**args)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    pytest.importorskip("fakenos")
    pytest.importorskip("netmiko")
    from collectors.lab.ssh_devices import SshLab

    workdir = tmp_path_factory.mktemp("sshlab")
    ssh_lab = SshLab(DEVICES, workdir, die_with_parent=True)
    pids = ssh_lab.start(timeout=60)
    ssh_lab.started_pids = pids  # type: ignore[attr-defined]
    yield ssh_lab
    ssh_lab.stop()


@pytest.mark.lab
def test_lab_started_with_pid_file(lab):
    assert lab.started_pids and all(_alive(p) for p in lab.started_pids)
    assert lab.is_running()
    assert sorted(lab.pids()) == sorted(lab.started_pids)
    assert (lab.workdir / "ssh_lab.pids").exists()


@pytest.mark.lab
@pytest.mark.parametrize("dev", [HARD, BAD], ids=lambda d: d.hostname)
def test_cisco_serves_its_own_identity_and_config(lab, dev):
    with _connect(dev) as conn:
        assert conn.find_prompt() == f"{dev.hostname}>"
        ver = conn.send_command("show version", use_textfsm=True)
        assert ver[0]["hostname"] == dev.hostname
        assert ver[0]["version"] == dev.os_version
        assert ver[0]["serial"] == [dev.serial]
        assert ver[0]["hardware"] == [dev.model]
        inv = conn.send_command("show inventory", use_textfsm=True)
        assert (inv[0]["pid"], inv[0]["sn"]) == (dev.model, dev.serial)
        assert "Invalid input" in conn.send_command("show running-config")  # needs enable
        conn.enable()
        assert conn.find_prompt() == f"{dev.hostname}#"
        running = conn.send_command("show running-config")
        assert dev.ssh.running_config.strip() in running
        ntp = conn.send_command("show running-config | include ^ntp server")
        assert ntp.strip().splitlines() == [ln for ln in dev.ssh.running_config.splitlines() if ln.startswith("ntp server")]
    if dev is BAD:
        assert " transport input telnet ssh" in running.splitlines()
        assert "snmp-server community public RO MGMT-ACL" in running.splitlines()
        assert "ip http server" in running.splitlines()
    else:
        assert "ip ssh version 2" in running.splitlines()


@pytest.mark.lab
def test_fortinet_serves_status_and_config(lab):
    with _connect(FGT) as conn:
        assert conn.find_prompt() == f"{FGT.hostname} #"
        status = conn.send_command("get system status")
        assert f"Hostname: {FGT.hostname}" in status
        assert f"Serial-Number: {FGT.serial}" in status
        assert re.search(rf"^Version: {FGT.model} v7\.2\.8,build", status, re.M)
        assert conn.send_command("get system status | grep Virtual").strip().startswith("Virtual domain")
        config = conn.send_command("show full-configuration")
        assert FGT.ssh.running_config.strip() in config
        assert "temp-allow-all" in config


@pytest.mark.lab
def test_wrong_password_is_an_auth_error(lab):
    from netmiko.exceptions import NetmikoAuthenticationException

    with pytest.raises(NetmikoAuthenticationException, match="Authentication"):
        _connect(HARD, password="not-the-password")
    with pytest.raises(NetmikoAuthenticationException, match="Authentication"):
        _connect(FGT, password="not-the-password")


@pytest.mark.lab
def test_wrong_enable_secret_is_refused(lab):
    with _connect(HARD, secret="wrong-secret") as conn:
        with pytest.raises(ValueError, match="enable mode"):
            conn.enable()
        assert conn.find_prompt() == f"{HARD.hostname}>"


@pytest.mark.lab
def test_slow_device_answers_late(lab):
    with _connect(SLOW) as conn:
        t0 = time.monotonic()
        ver = conn.send_command("show version", use_textfsm=True, read_timeout=20)
        assert time.monotonic() - t0 >= 1.5
        assert ver[0]["hostname"] == SLOW.hostname


@pytest.mark.lab
def test_hanging_device_times_out(lab):
    from netmiko.exceptions import ReadTimeout

    with _connect(HANG) as conn:
        assert conn.send_command("show version", use_textfsm=True)[0]["serial"] == [HANG.serial]
        conn.enable()
        t0 = time.monotonic()
        with pytest.raises(ReadTimeout, match="Pattern not detected"):
            conn.send_command("show running-config", read_timeout=3)
        assert time.monotonic() - t0 < 10
        # disconnect() would wait ~10 s for a prompt the hung shell never prints; a collector
        # should drop the transport instead after a ReadTimeout.
        t0 = time.monotonic()
        conn.paramiko_cleanup()
        conn.remote_conn = None
        assert time.monotonic() - t0 < 2


@pytest.mark.lab
def test_dead_device_is_not_served(lab):
    with pytest.raises(ConnectionRefusedError, match="refused"):
        socket.create_connection((DEAD.address, PORT), timeout=2).close()


@pytest.mark.lab
def test_ssh_identification_strings(lab):
    for dev, expected in ((HARD, b"SSH-2.0-Cisco-1.25"), (FGT, b"SSH-2.0-")):
        with socket.create_connection((dev.address, PORT), timeout=5) as s:
            assert s.recv(64).startswith(expected)


@pytest.mark.lab
def test_lab_refuses_bad_endpoints(tmp_path, lab):
    from collectors.lab.ssh_devices import LabEndpointBusy, SshLab

    with pytest.raises(ValueError, match="10.0.0.1 is not IPv4 loopback"):
        SshLab([dataclasses.replace(HARD, address="10.0.0.1")], tmp_path)
    with pytest.raises(ValueError, match="port 22 must be >= 1024"):
        SshLab([dataclasses.replace(HARD, ssh=dataclasses.replace(HARD.ssh, port=22))], tmp_path)
    with pytest.raises(ValueError, match=f"share {HARD.address}:{PORT}"):
        SshLab([HARD, dataclasses.replace(BAD, address=HARD.address)], tmp_path)
    assert lab.is_running()
    busy = SshLab([HARD], tmp_path / "second", die_with_parent=True)  # HARD is served by `lab`
    try:
        with pytest.raises(LabEndpointBusy, match="already in use"):
            busy.start(timeout=10)
        assert not busy.is_running()
    finally:
        busy.stop()


@pytest.mark.lab
def test_many_devices_start_quickly(tmp_path, lab):
    """~110 devices (as in the demo province) answer their SSH banner well within 30 s."""
    from collectors.lab.ssh_devices import SshLab, _ssh_banner

    devices = [_device(100 + i, f"SW-MANY-{i:03d}", "fortinet" if i % 10 == 0 else "cisco_ios", address=f"127.251.{2 + i // 200}.{i % 200 + 1}", key=f"many-{i}") for i in range(110)]
    many = SshLab(devices, tmp_path / "many", die_with_parent=True)
    t0 = time.monotonic()
    try:
        pids = many.start(timeout=60)
        elapsed = time.monotonic() - t0
        assert elapsed < 30, elapsed
        assert all(_ssh_banner(d.address, PORT) for d in devices[::17])
    finally:
        many.stop()
    assert not any(_alive(p) for p in pids)


@pytest.mark.lab
def test_stop_from_a_fresh_object_leaves_no_process(lab):
    """As after a crash: another SshLab on the same workdir kills the recorded workers."""
    from collectors.lab.ssh_devices import SshLab

    pids = lab.pids()
    assert pids
    SshLab(DEVICES, lab.workdir).stop()
    assert not any(_alive(p) for p in pids)
    deadline = time.monotonic() + 5  # the first object's children exit asynchronously
    while lab.is_running() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not lab.is_running()
    assert not (lab.workdir / "ssh_lab.pids").exists()
    lab.stop()  # idempotent; reaps the Popen objects
    assert os.path.isdir(lab.workdir)
