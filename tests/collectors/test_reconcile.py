"""Runner and reconciliation with scripted collectors: what lands in the inventory and how
failures are kept per device. (The same path against the real lab is in test_collect_lab.py.)"""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from collectors.credentials import CredentialBook, Scope, add_credential
from collectors.reconcile import Reconciler
from collectors.records import (
    AuthenticationFailed,
    CollectionTimeout,
    DeviceFacts,
    FdbRecord,
    InterfaceRecord,
    Target,
)
from collectors.runner import RunOptions, run_sync
from inventory.crypto import Vault
from inventory.models import ConfigSnapshot, Device, DeviceMac, Interface, MacSighting, Observation, ScanOutcome, ScanRun
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db


class Scripted:
    """A collector whose answers are given per (address, credential name)."""

    def __init__(self, name: str, answers: dict) -> None:
        self.name = name
        self.answers = answers
        self.calls: list[tuple[str, str]] = []

    async def collect(self, target, credential, timeout):
        self.calls.append((target.address, credential.name))
        await asyncio.sleep(0)
        answer = self.answers.get((target.address, credential.name), CollectionTimeout(f"no answer from {target.address}"))
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def vault():
    from cryptography.fernet import Fernet

    return Vault(SecretStr(Fernet.generate_key().decode()))


def _setup(session, vault):
    ids = make_province(session)
    sw = Device(device_class="access_switch", site_id=ids["S1"]["site"], zone_id=ids["S1"]["internet"], mgmt_ip="10.1.2.3", serial="SW1", platform="cisco_ios")
    dead = Device(device_class="firewall", site_id=ids["S1"]["site"], zone_id=ids["S1"]["internet"], mgmt_ip="10.1.2.1", serial="FW1")
    session.add_all([sw, dead])
    session.flush()
    add_credential(session, vault, name="v3", kind="snmp_v3", secrets={"auth_key": "authkey-123", "priv_key": "privkey-123"}, username="u", priority=1, actor="t")
    add_credential(session, vault, name="v2", kind="snmp_v2c", secrets={"community": "c0mmunity"}, priority=2, actor="t")
    add_credential(session, vault, name="ssh", kind="ssh", secrets={"password": "pw-123456"}, username="admin", actor="t")
    add_credential(session, vault, name="other-site", kind="snmp_v2c", secrets={"community": "x"}, scope=Scope(site_id=ids["S2"]["site"]), actor="t")
    session.commit()
    return ids, sw, dead


def _switch_facts(config: str = "hostname SW\n!\nend\n", name: str = "SW-1") -> tuple[DeviceFacts, DeviceFacts]:
    snmp = DeviceFacts(
        address="10.1.2.3",
        source="snmp",
        sys_name=name,
        sys_descr="<script>alert(1)</script>" + "x" * 70000,
        vendor="Cisco",
        model="WS-C2960X-24TS-L",
        serial="SW1",
        os_version="15.2(7)E8",
        interfaces=(InterfaceRecord(1, "Gi1/0/1", mac="02:00:00:00:00:01", oper_up=True), InterfaceRecord(2, "Gi1/0/2", mac="02:00:00:00:00:02")),
        fdb=(FdbRecord("02:aa:00:00:00:09", 1), FdbRecord("02:aa:00:00:00:0a", 2)),
    )
    ssh = DeviceFacts(address="10.1.2.3", source="ssh", sys_name=name, serial="SW1", model="WS-C2960X-24TS-L", running_config=config)
    return snmp, ssh


def _run(session, targets, snmp, ssh, vault):
    book = CredentialBook(session, vault)
    outcomes = run_sync(targets, book, RunOptions(collectors={"snmp": snmp, "ssh": ssh}, snmp_timeout=0.5, ssh_timeout=0.5))
    scan_run = ScanRun(kind="poll")
    session.add(scan_run)
    session.flush()
    summary = Reconciler(session, scan_run).apply(outcomes)
    session.commit()
    return outcomes, summary


def test_one_failing_device_never_sinks_the_run_and_credentials_go_in_order(session, vault):
    ids, sw, dead = _setup(session, vault)
    snmp_facts, ssh_facts = _switch_facts()
    snmp = Scripted("snmp", {("10.1.2.3", "v3"): AuthenticationFailed("SNMPv3 authentication failed for user 'u'"), ("10.1.2.3", "v2"): snmp_facts})
    ssh = Scripted("ssh", {("10.1.2.3", "ssh"): ssh_facts})
    targets = [
        Target("10.1.2.3", sw.id, "S1", "internet", "access_switch", "cisco_ios"),
        Target("10.1.2.1", dead.id, "S1", "internet", "firewall"),
    ]
    outcomes, summary = _run(session, targets, snmp, ssh, vault)

    assert [c for c in snmp.calls if c[0] == "10.1.2.3"] == [("10.1.2.3", "v3"), ("10.1.2.3", "v2")]
    assert ("10.1.2.3", "other-site") not in snmp.calls  # scoped to site S2
    ok, failed = outcomes
    assert ok.ok and ok.protocols == ("snmp", "ssh")
    assert not failed.ok and failed.error.kind == "timeout"
    assert (summary.ok, summary.failed, summary.unreachable) == (1, 1, 1)
    session.refresh(dead)
    assert dead.reachable is False and session.get(Device, dead.id) is not None  # never deleted
    rows = {o.address: o for o in session.execute(select(ScanOutcome)).scalars()}
    assert rows["10.1.2.1"].status == "failed" and rows["10.1.2.1"].error_kind == "timeout"
    assert rows["10.1.2.3"].protocols == "snmp,ssh"


def test_facts_land_on_the_recorded_device(session, vault):
    ids, sw, _ = _setup(session, vault)
    snmp_facts, ssh_facts = _switch_facts()
    _run(
        session,
        [Target("10.1.2.3", sw.id, "S1", "internet", "access_switch", "cisco_ios")],
        Scripted("snmp", {("10.1.2.3", "v3"): snmp_facts}),
        Scripted("ssh", {("10.1.2.3", "ssh"): ssh_facts}),
        vault,
    )

    session.refresh(sw)
    assert (sw.hostname, sw.model, sw.os_version, sw.vendor, sw.reachable) == ("SW-1", "WS-C2960X-24TS-L", "15.2(7)E8", "Cisco", True)
    assert sw.country_of_origin == "US" and sw.last_seen is not None and sw.first_seen is not None
    assert sorted(session.execute(select(DeviceMac.mac).where(DeviceMac.device_id == sw.id)).scalars()) == ["02:00:00:00:00:01", "02:00:00:00:00:02"]
    assert session.execute(select(func.count()).select_from(Interface)).scalar_one() == 2
    sightings = {(s.mac, s.port, s.zone_id) for s in session.execute(select(MacSighting)).scalars()}
    assert sightings == {("02:aa:00:00:00:09", "Gi1/0/1", ids["S1"]["internet"]), ("02:aa:00:00:00:0a", "Gi1/0/2", ids["S1"]["internet"])}
    descr = session.execute(select(Observation.value).where(Observation.key == "sys_descr")).scalar_one()
    assert descr.startswith("<script>") and len(descr) == 65536  # hostile text kept as text, bounded


def test_config_change_makes_a_new_snapshot_and_unchanged_facts_no_new_observation(session, vault):
    _, sw, _ = _setup(session, vault)
    target = Target("10.1.2.3", sw.id, "S1", "internet", "access_switch", "cisco_ios")
    for config in ("hostname SW\n!\nend\n", "hostname SW\n!\nend\n", "hostname SW\nip http server\n!\nend\n"):
        snmp_facts, ssh_facts = _switch_facts(config)
        _run(session, [target], Scripted("snmp", {("10.1.2.3", "v3"): snmp_facts}), Scripted("ssh", {("10.1.2.3", "ssh"): ssh_facts}), vault)
    snapshots = session.execute(select(ConfigSnapshot.text).order_by(ConfigSnapshot.id)).scalars().all()
    assert len(snapshots) == 2 and "ip http server" in snapshots[1]
    assert session.execute(select(func.count()).select_from(Observation).where(Observation.key == "sys_name")).scalar_one() == 1


def test_unrecorded_address_becomes_a_discovered_device_once(session, vault):
    ids, _, _ = _setup(session, vault)
    stranger = DeviceFacts(address="10.1.2.50", source="snmp", sys_name="TL-SG2428P", sys_object_id="1.3.6.1.4.1.11863.5.1",
                           sys_descr="JetStream 24-Port Gigabit Smart switch", interfaces=(InterfaceRecord(1, "gi1", mac="02:bb:00:00:00:01"),),
                           fdb=(FdbRecord("02:aa:00:00:00:77", 1),))  # fmt: skip
    snmp = Scripted("snmp", {("10.1.2.50", "v3"): stranger})
    for _ in range(2):
        _, summary = _run(session, [Target("10.1.2.50", None, "S1", "internet")], snmp, Scripted("ssh", {}), vault)
    found = session.execute(select(Device).where(Device.source == "discovered")).scalars().all()
    assert len(found) == 1
    device = found[0]
    assert (device.hostname, device.device_class, device.vendor, device.country_of_origin, device.mgmt_ip) == ("TL-SG2428P", "access_switch", "TP-Link", "CN", "10.1.2.50")
    assert device.zone_id == ids["S1"]["internet"]
    assert summary.created == 0  # the second run recognised it


def test_another_serial_at_a_recorded_address_is_another_device(session, vault):
    ids, sw, _ = _setup(session, vault)
    impostor = DeviceFacts(address="10.1.2.3", source="snmp", sys_name="TL-SG2428P", serial="TPL999", sys_object_id="1.3.6.1.4.1.11863.5.1")
    _run(session, [Target("10.1.2.3", sw.id, "S1", "internet", "access_switch", "cisco_ios")], Scripted("snmp", {("10.1.2.3", "v3"): impostor}), Scripted("ssh", {}), vault)
    session.refresh(sw)
    assert sw.serial == "SW1" and sw.mgmt_ip is None and sw.reachable is False  # not overwritten
    new = session.execute(select(Device).where(Device.serial == "TPL999")).scalar_one()
    assert new.source == "discovered" and new.mgmt_ip == "10.1.2.3"


def test_a_platform_found_by_vendor_is_recorded_once_ssh_answers_as_it(session, vault):
    """`dead` (the firewall at .1) has no platform; poll_targets gives it one from the data file
    (collectors/data/platforms.yaml), and the device keeps it once its configuration came back."""
    from collectors.service import poll_targets

    _, sw, dead = _setup(session, vault)
    dead.vendor, dead.os_name = "Fortinet", "FortiOS"
    session.commit()
    target = next(t for t in poll_targets(session) if t.device_id == dead.id)
    assert target.platform == "fortinet"
    no_config = DeviceFacts(address="10.1.2.1", source="ssh", sys_name="FW-1", serial="FW1")
    _run(session, [target], Scripted("snmp", {}), Scripted("ssh", {("10.1.2.1", "ssh"): no_config}), vault)
    session.refresh(dead)
    assert dead.platform is None  # an answer without a configuration proves nothing
    answered = DeviceFacts(address="10.1.2.1", source="ssh", sys_name="FW-1", serial="FW1", running_config="config system global\nend\n")
    _run(session, [target], Scripted("snmp", {}), Scripted("ssh", {("10.1.2.1", "ssh"): answered}), vault)
    session.refresh(dead)
    assert dead.platform == "fortinet"
