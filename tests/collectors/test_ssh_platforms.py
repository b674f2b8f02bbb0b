"""SshCollector on the Huawei VRP, Junos, ArubaOS-Switch and PAN-OS lab devices: what netmiko
collects is what the device serves, and the checker finds in it exactly the device's violations."""

from __future__ import annotations

import asyncio
import time

import pytest
from pydantic import SecretStr

from collectors import ssh as S
from collectors.lab import configs as C
from collectors.lab.spec import LabDevice, LabInterface, SshAccess
from collectors.records import AuthenticationFailed, CollectionTimeout, SshCredential, Target
from compliance.configcheck import check_config_text
from compliance.policy import load_policy
from tests.lab.support import run_port

PORT = run_port(7931)

# platform -> (vendor, model, os_version, device class, is_firewall)
KINDS = {
    "huawei_vrp": ("Huawei", "S5735-L24T4S-A", "V200R021", "access_switch", False),
    "huawei_usg": ("Huawei", "USG6510E", "V600R007", "firewall", True),
    "juniper_junos": ("Juniper", "EX2300-24T", "21.4R3", "access_switch", False),
    "aruba_osswitch": ("Aruba", "2530-24G (J9776A)", "YA.16.11.0016", "access_switch", False),
    "paloalto_panos": ("Palo Alto Networks", "PA-440", "11.1.2", "firewall", True),
}


def _device(n: int, kind: str, *, insecure: bool, behaviour: str = "normal") -> LabDevice:
    vendor, model, version, device_class, firewall = KINDS[kind]
    platform = "huawei_vrp" if kind == "huawei_usg" else kind
    hostname = f"{kind.split('_')[0].upper()}-PLAT-{n:02d}"
    violations = frozenset(sorted(C.applicable_rules(platform, is_firewall=firewall))[n % 3 :: 3]) if insecure else frozenset()
    config = C.platform_module(platform).running_config(hostname, violations, is_firewall=firewall, model=model, os_version=version, username="kiemke")
    return LabDevice(
        key=f"plat-{n}", site_code="DB", zone="party_wan", device_class=device_class, hostname=hostname,
        address=f"127.253.{10 + n // 200}.{n % 200 + 1}", vendor=vendor, model=model, serial=f"SN{n:04d}PLAT{n * 7:04d}",
        os_name="", os_version=version, sys_object_id="", sys_descr="", country_of_origin="", recorded=True, behaviour=behaviour,
        ssh=SshAccess(PORT, platform, "kiemke", f"Pw-{n}-plat-login", "", config),
        interfaces=(LabInterface(index=1, name="GE0/0/1", mac=f"02:ab:00:00:10:{n:02x}", speed_mbps=1000, oper_up=True),),
        violations=tuple(sorted(C.implied_violations(violations, platform))),
    )  # fmt: skip


VOLATILE = ("## Last commit", "!Last configuration was")  # they change without the configuration changing
DEVICES = [_device(n, kind, insecure=insecure) for n, (kind, insecure) in enumerate(((k, i) for k in KINDS for i in (False, True)), start=1)]
HANGING = _device(40, "juniper_junos", insecure=False, behaviour="hang")
HANGING = HANGING.__class__(**{**HANGING.__dict__, "key": "plat-hang"})


def _target(dev: LabDevice) -> Target:
    return Target(address=dev.address, platform=dev.ssh.platform, hostname=dev.hostname)


def _cred(dev: LabDevice, password: str | None = None) -> SshCredential:
    return SshCredential(name="lab", username=dev.ssh.username, password=SecretStr(password or dev.ssh.password), secret=None, port=dev.ssh.port)


def _collect(dev: LabDevice, timeout: float = 30, password: str | None = None):
    return asyncio.run(S.SshCollector().collect(_target(dev), _cred(dev, password), timeout))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    pytest.importorskip("fakenos")
    from collectors.lab.ssh_devices import SshLab

    ssh_lab = SshLab([*DEVICES, HANGING], tmp_path_factory.mktemp("plat-lab"), workers=2, die_with_parent=True)
    ssh_lab.start(timeout=60)
    yield ssh_lab
    ssh_lab.stop()


@pytest.mark.parametrize("dev", DEVICES, ids=lambda d: f"{d.hostname}")
def test_collects_identity_and_config_and_the_checker_finds_the_violations(lab, dev: LabDevice):
    started = time.monotonic()
    facts = _collect(dev)
    elapsed = time.monotonic() - started
    assert facts.source == "ssh" and facts.vendor == dev.vendor and not facts.warnings
    assert facts.sys_name == dev.hostname and facts.serial == dev.serial and facts.os_version == dev.os_version
    if dev.ssh.platform != "aruba_osswitch":  # show system has no model: the recorded one stays
        assert facts.model == dev.model
    assert facts.running_config.strip() and "set cli" not in facts.running_config and "[edit]" not in facts.running_config
    failed = {o.rule_id for o in check_config_text(facts.running_config, dev.ssh.platform, load_policy(), dev.device_class) if o.passed is False}
    assert failed == set(dev.violations) - {"net.firmware_supported"}
    assert elapsed < 15, f"{dev.hostname}: {elapsed:.1f} s"  # a broken prompt makes netmiko wait out its read timeouts
    # What was collected is what the device serves, without the lines that change at every
    # commit or save (`## Last commit`, VRP's `!Last configuration was updated`).
    served = dev.ssh.running_config.replace("\r\n", "\n").split("\n")
    stable = [ln for ln in served if not ln.startswith(VOLATILE)]
    assert facts.running_config.strip() == "\n".join(stable).strip()
    if dev.ssh.platform in ("juniper_junos", "huawei_vrp"):
        assert len(stable) < len(served)  # their lab configurations carry such lines: the cleaning is exercised


@pytest.mark.parametrize("platform", ["paloalto_panos", "huawei_vrp"])
def test_wrong_password_is_an_authentication_error(lab, platform):
    dev = next(d for d in DEVICES if d.ssh.platform == platform)
    with pytest.raises(AuthenticationFailed) as err:
        _collect(dev, password="wrong-password")
    assert dev.ssh.password not in str(err.value) and "wrong-password" not in str(err.value)


def test_hanging_junos_times_out(lab):
    started = time.monotonic()
    with pytest.raises(CollectionTimeout):
        _collect(HANGING, timeout=6)
    assert time.monotonic() - started < 6 + S.GRACE + 2
