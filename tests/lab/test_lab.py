"""The whole lab, generated from the demo province: every manifest device answers as the
manifest says (SNMPv2c, SNMPv3 authPriv, SSH), silent ones stay silent, hostile ones behave as
described, the nmap namespaces answer, and stop leaves nothing behind."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from collectors.lab import netns
from collectors.lab.scenario import HOSTILE_BYTES, HOSTILE_HTML
from collectors.lab.snmprec import to_octets
from tests.lab.support import TEST_LAB_PORTS, running_demo_lab

pytestmark = pytest.mark.lab

SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SERIAL = "1.3.6.1.2.1.47.1.1.1.1.11.1"
FORTI_KEX = {"kex": ["diffie-hellman-group-exchange-sha1", "diffie-hellman-group-exchange-sha256"]}

needs_snmp_cli = pytest.mark.skipif(shutil.which("snmpget") is None, reason="net-snmp CLI not installed (apt-get install snmp)")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with running_demo_lab(tmp_path_factory.mktemp("labhome"), with_netns=True) as demo:
        manifest = json.loads(demo.lab.manifest_path.read_text(encoding="utf-8"))
        yield demo.lab, demo.state, {d.key: d for d in demo.devices}, manifest


def snmpget(device, oid: str, *, v3: bool = False, community: str | None = None, hex_out: bool = False, timeout: int = 4):
    snmp = device.snmp
    auth = ["-v3", "-l", "authPriv", "-u", snmp.v3_user, "-a", "SHA", "-A", snmp.v3_auth_key, "-x", "AES", "-X", snmp.v3_priv_key] if v3 else ["-v2c", "-c", community or snmp.community]
    out_format = ["-Ox"] if hex_out else []
    result = subprocess.run(
        ["snmpget", *auth, "-t", str(timeout), "-r", "0", "-On", "-Oqv", *out_format, f"{device.address}:{snmp.port}", oid],
        capture_output=True, text=True, timeout=timeout + 10,
    )  # fmt: skip
    return result.returncode, result.stdout.strip().strip('"'), result.stderr.strip()


def test_manifest_matches_the_lab_and_holds_no_secret(lab):
    lab_, state, devices, manifest = lab
    assert {d["key"] for d in manifest["devices"]} == set(devices)
    assert state["devices"] == len(devices) and state["unrecorded"] >= 1 and state["silent"] >= 1
    # The test run's own ports, not the demo lab's, recorded in the manifest and served.
    assert manifest["ports"] == {"snmp": TEST_LAB_PORTS.snmp, "ssh": TEST_LAB_PORTS.ssh} != {"snmp": 1161, "ssh": 2222}
    assert {d["snmp"]["port"] for d in manifest["devices"] if d["snmp"]} == {TEST_LAB_PORTS.snmp}
    assert {d["ssh"]["port"] for d in manifest["devices"] if d["ssh"]} == {TEST_LAB_PORTS.ssh}
    text = lab_.manifest_path.read_text(encoding="utf-8")
    secrets = lab_.secrets()
    for value in (secrets.community, secrets.v3_auth_key, secrets.v3_priv_key, secrets.ssh_password, secrets.ssh_secret):
        assert value not in text
    assert oct(lab_.dir.joinpath("secrets.json").stat().st_mode & 0o777) == "0o600"
    tags = {tag for d in manifest["devices"] for tag in d["tags"]}
    assert {"unrecorded", "silent", "both_zones", "disallowed_origin", "hostile_html", "hostile_bytes", "slow", "hang", "oversized"} <= tags
    roamer = next(d for d in manifest["devices"] if "both_zones" in d["tags"])
    mac = roamer["interfaces"][0]["mac"]
    zones = {d["zone"] for d in manifest["devices"] if d["device_class"] == "access_switch" and any(f["mac"] == mac for f in d["fdb"])}
    assert zones == {"party_wan", "internet"}


@needs_snmp_cli
def test_every_device_answers_snmp_v2c_and_v3_as_the_manifest_says(lab):
    _, _, devices, _ = lab
    answering = [d for d in devices.values() if d.snmp and d.behaviour in ("normal", "slow")]

    def probe(device):
        # The slow agent answers after 1.5 s, twice for v3 (engine discovery): room for a busy machine.
        return device, snmpget(device, SYS_NAME), snmpget(device, SERIAL, v3=True, timeout=8)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(probe, answering))
    for device, (rc2, name, err2), (rc3, serial, err3) in results:
        assert rc2 == 0, f"{device.key} v2c: {err2}"
        assert name == device.hostname
        assert rc3 == 0, f"{device.key} v3: {err3}"
        if device.serial:
            assert serial == device.serial


@needs_snmp_cli
def test_silent_devices_and_wrong_credentials_get_no_answer(lab):
    _, _, devices, _ = lab
    silent = [d for d in devices.values() if d.behaviour == "dead"]
    assert silent and all(d.recorded for d in silent)
    for device in silent:
        rc, _, err = snmpget(device, SYS_NAME, timeout=1)
        assert rc != 0 and "Timeout" in err
    alive = next(d for d in devices.values() if d.behaviour == "normal" and d.snmp)
    rc, _, err = snmpget(alive, SYS_NAME, community="public", timeout=1)
    assert rc != 0 and "Timeout" in err


@needs_snmp_cli
def test_hostile_sysdescr_comes_back_byte_exact(lab):
    _, _, devices, _ = lab
    for tag, expected in (("hostile_html", HOSTILE_HTML.encode()), ("hostile_bytes", to_octets(HOSTILE_BYTES))):
        device = next(d for d in devices.values() if tag in d.tags)
        rc, value, err = snmpget(device, SYS_DESCR, hex_out=True)
        assert rc == 0, err
        assert bytes.fromhex(value.replace(" ", "").replace("\n", "")) == expected


def _connect(device, **extra):
    from netmiko import ConnectHandler

    ssh = device.ssh
    args = dict(host=device.address, port=ssh.port, username=ssh.username, password=ssh.password, conn_timeout=10, banner_timeout=10, auth_timeout=10)
    if ssh.platform == "fortinet":
        args.update(device_type="fortinet", disabled_algorithms=FORTI_KEX)
    else:
        args.update(device_type="cisco_ios", secret=ssh.secret)
    return ConnectHandler(**(args | extra))


def test_ssh_devices_serve_their_own_configuration(lab):
    """Every normal SSH device of the lab, of each of the six platforms, answers the collector
    with its own identity and the configuration the scenario built for it."""
    import asyncio

    from pydantic import SecretStr

    from collectors.records import SshCredential, Target
    from collectors.ssh import SshCollector

    _, _, devices, _ = lab
    normal = [d for d in devices.values() if d.ssh and d.behaviour == "normal"]
    assert normal

    def collect(device):
        ssh = device.ssh
        credential = SshCredential(name="lab", username=ssh.username, password=SecretStr(ssh.password), secret=SecretStr(ssh.secret) if ssh.secret else None, port=ssh.port)
        return asyncio.run(SshCollector().collect(Target(address=device.address, platform=ssh.platform, hostname=device.hostname), credential, 60))

    with ThreadPoolExecutor(max_workers=8) as pool:
        collected = dict(zip([d.key for d in normal], pool.map(collect, normal), strict=True))
    platforms = set()
    for device in normal:
        facts = collected[device.key]
        platforms.add(device.ssh.platform)
        assert facts.sys_name == device.hostname and facts.serial == device.serial, device.key
        assert device.hostname in facts.running_config, device.key
        if "oversized_config" in device.tags:
            assert "X" * 65536 in facts.running_config
    assert len(platforms) >= 2  # the small lab's commune: Cisco and a platform of issue 14 at least


def test_slow_and_hanging_ssh_devices(lab):
    _, _, devices, _ = lab
    slow = next(d for d in devices.values() if d.behaviour == "slow" and d.ssh)
    with _connect(slow) as connection:
        started = time.monotonic()
        connection.send_command("show version" if slow.ssh.platform == "cisco_ios" else "get system status", read_timeout=30)
        assert time.monotonic() - started >= 1.0
    hang = next(d for d in devices.values() if d.behaviour == "hang" and d.ssh)
    with _connect(hang) as connection:
        from netmiko.exceptions import ReadTimeout

        if hang.ssh.platform == "cisco_ios":
            connection.enable()
        started = time.monotonic()
        with pytest.raises(ReadTimeout, match="Pattern not detected"):
            connection.send_command("show running-config" if hang.ssh.platform == "cisco_ios" else "show full-configuration", read_timeout=3)
        assert time.monotonic() - started < 15


@pytest.mark.skipif(netns.available() is not None, reason=netns.available() or "")
def test_nmap_lab_hosts_answer_inside_their_namespace(lab):
    _, _, _, manifest = lab
    hosts = manifest["nmap"]["hosts"]
    result = subprocess.run(
        netns.exec_in(manifest["nmap"]["scanner_namespace"], ["nmap", "-n", "-sT", "-p", "22,80,445,9100", "-oG", "-", manifest["nmap"]["subnet"]]),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for host in hosts:
        line = next(line for line in result.stdout.splitlines() if f"Host: {host['ip']} " in line and "Ports:" in line)
        for port in set(host["ports"]) & {22, 80, 445, 9100}:
            assert f"{port}/open/tcp" in line


def test_status_and_stop_leave_nothing_behind(lab, tmp_path):
    lab_, _, _, _ = lab
    status = lab_.status()
    assert status["running"] and status["parts"]["snmp"] and status["parts"]["ssh"]
    pids = status["pids"]["snmp"] + status["pids"]["ssh"]
    lab_.stop()
    time.sleep(0.5)
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
    assert netns.namespaces(netns.lab_prefix(lab_.dir / "netns")) == []
    assert not lab_.status()["running"]
