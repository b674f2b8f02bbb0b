"""End to end against the lab, the answer key in hand: poll and discover one commune with the
real collectors, then check compliance. Every manifest fact must land in the inventory, every
manifest violation must become a finding, and compliant devices must get none."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from collectors.lab.manager import register_credentials
from collectors.lab.scenario import HOSTILE_HTML
from collectors.lab.ssh_devices import SshLab
from collectors.queries import config_diff
from collectors.records import AuthenticationFailed, SnmpCredential, Target
from collectors.runner import RunOptions
from collectors.service import discover, poll
from collectors.snmp import SnmpCollector
from compliance.policy import load_policy
from compliance.service import run_check
from inventory import db, revision
from inventory.crypto import Vault
from inventory.demo import load_demo
from inventory.models import ConfigSnapshot, Device, Finding, Interface
from inventory.observations import latest_observations
from tests.lab.support import TEST_LAB_PORTS, running_demo_lab

pytestmark = pytest.mark.lab

# Rule families the lab decides; lifecycle rules come from the recorded purchase dates instead.
LAB_RULES = ("net.", "ep.", "origin.allowed", "zone.mac_both_zones")


# A switch's SNMP takes ~1 s here at a load average of 2. The slow device's agent answers after
# 10 s: a 5 s budget takes every other device whole and never the slow one, even at a load
# average of 4, so every poll collects the same facts.
SNMP_BUDGET = 5.0
SLOW_SNMP_DELAY = 10.0


def fast() -> RunOptions:
    return RunOptions(snmp_timeout=SNMP_BUDGET, ssh_timeout=20)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from cryptography.fernet import Fernet

    vault = Vault(SecretStr(Fernet.generate_key().decode()))
    with running_demo_lab(tmp_path_factory.mktemp("e2e"), slow_snmp_delay=SLOW_SNMP_DELAY) as demo:
        engine, lab, devices = demo.engine, demo.lab, demo.devices
        with db.session_scope(engine) as session:
            register_credentials(session, vault, lab.secrets(), actor="test", ports=lab.ports)
        site = devices[0].site_code
        polled = poll(engine, vault, site=site, endpoints=True, options=fast())
        found = discover(engine, vault, site=site, zone="internet", snmp_ports=(TEST_LAB_PORTS.snmp,), options=fast())
        checked = run_check(engine, actor="test", policy=load_policy())
        yield {"engine": engine, "vault": vault, "lab": lab, "devices": devices, "site": site, "poll": polled, "discover": found, "check": checked}


def _device(session, lab_device) -> Device | None:
    if lab_device.key.startswith("dev-"):
        return session.get(Device, int(lab_device.key.removeprefix("dev-")))
    return session.execute(select(Device).where(Device.mgmt_ip == lab_device.address)).scalar_one_or_none()


def test_answering_devices_facts_land_in_the_inventory(world):
    with db.session_scope(world["engine"]) as session:
        facts = latest_observations(session)
        for lab_device in world["devices"]:
            if not lab_device.recorded or lab_device.behaviour not in ("normal", "slow"):
                continue
            device = _device(session, lab_device)
            assert device.reachable is True, lab_device.key
            assert device.hostname == lab_device.hostname
            if lab_device.serial:
                assert device.serial == lab_device.serial
            if lab_device.host is not None:
                observed = facts[device.id]
                assert int(observed["host.cores"]) == lab_device.host.cores
                assert int(observed["host.ram_kb"]) == lab_device.host.ram_kb
                assert {name for name, _ in json.loads(observed["host.software"])} == {name for name, _ in lab_device.host.software}
            if lab_device.behaviour == "normal":  # a slow device may answer SSH but not every SNMP walk in time
                interfaces = session.execute(select(Interface).where(Interface.device_id == device.id)).scalars().all()
                assert len(interfaces) == len(lab_device.interfaces), lab_device.key


def test_silent_and_hanging_devices_are_unreachable_not_deleted(world):
    with db.session_scope(world["engine"]) as session:
        silent = [d for d in world["devices"] if d.behaviour in ("dead", "hang")]
        assert silent
        for lab_device in silent:
            device = _device(session, lab_device)
            assert device is not None and device.reachable is False


def test_strangers_are_discovered(world):
    strangers = [d for d in world["devices"] if not d.recorded]
    assert world["discover"].summary["created"] == len(strangers)
    with db.session_scope(world["engine"]) as session:
        for lab_device in strangers:
            device = _device(session, lab_device)
            assert device is not None and device.source == "discovered", lab_device.key
            if lab_device.serial:
                assert device.serial == lab_device.serial
            if lab_device.country_of_origin:
                assert device.country_of_origin == lab_device.country_of_origin


def test_hostile_data_is_stored_as_text(world):
    with db.session_scope(world["engine"]) as session:
        facts = latest_observations(session)
        html = next(d for d in world["devices"] if "hostile_html" in d.tags)
        assert facts[_device(session, html).id]["sys_descr"] == HOSTILE_HTML
        raw = next(d for d in world["devices"] if "hostile_bytes" in d.tags)
        assert "\ufffd" in facts[_device(session, raw).id]["sys_descr"]  # undecodable bytes replaced, not dropped
        big = next(d for d in world["devices"] if "oversized" in d.tags)
        names = session.execute(select(Interface.name).where(Interface.device_id == _device(session, big).id)).scalars().all()
        assert names and all(len(n) <= 255 for n in names)


def test_a_poll_that_finds_nothing_new_leaves_the_data_revision(world):
    """Polled again, the same devices answer the same: nothing a cached page shows changed, so
    the web's caches stay (inventory/revision.py); the devices' last-seen times still move."""
    engine = world["engine"]
    with db.session_scope(engine) as session:
        before = revision.current(session)
        seen_before = dict(session.execute(select(Device.id, Device.last_polled).where(Device.last_polled.is_not(None))).all())
    # The network devices (SNMP and SSH); the hanging one is given up on sooner than in fast().
    result = poll(engine, world["vault"], site=world["site"], zone="party_wan", options=replace(fast(), ssh_timeout=6))
    assert result.summary["updated"] == 0 and result.summary.get("created", 0) == 0, result.summary
    with db.session_scope(engine) as session:
        assert revision.current(session) == before
        moved = session.execute(select(func.count()).select_from(Device).where(Device.id.in_(seen_before), Device.last_polled.is_not(None))).scalar_one()
        later = [d for d, t in session.execute(select(Device.id, Device.last_polled).where(Device.id.in_(seen_before))) if t and t > seen_before[d]]
    assert moved and later


def test_snmpv3_works_and_a_wrong_key_is_a_clear_error(world):
    lab_device = next(d for d in world["devices"] if d.behaviour == "normal" and d.snmp and d.recorded)
    snmp = lab_device.snmp
    target = Target(lab_device.address)
    good = SnmpCredential("v3", "v3", user=snmp.v3_user, auth_key=SecretStr(snmp.v3_auth_key), priv_key=SecretStr(snmp.v3_priv_key), port=snmp.port)
    facts = asyncio.run(SnmpCollector().collect(target, good, 3))
    assert facts.sys_name == lab_device.hostname
    wrong = replace(good, auth_key=SecretStr("not-the-right-key"))
    with pytest.raises(AuthenticationFailed, match="authentication failed") as caught:
        asyncio.run(SnmpCollector().collect(target, wrong, 3))
    assert "not-the-right-key" not in str(caught.value) and snmp.v3_user in str(caught.value)


def test_a_changed_running_config_gives_a_new_snapshot_and_a_diff(world):
    engine, lab = world["engine"], world["lab"]
    switch = next(d for d in world["devices"] if d.ssh and d.ssh.platform == "cisco_ios" and d.behaviour == "normal")
    head, _, tail = switch.ssh.running_config.rpartition("\nend")
    changed = replace(switch, ssh=replace(switch.ssh, running_config=f"{head}\nip http server\n!\nend{tail}"))
    assert changed.ssh.running_config != switch.ssh.running_config
    ssh_devices = [changed if d.key == switch.key else d for d in world["devices"]]
    SshLab([], lab.dir / "ssh").stop()
    _wait_closed([(d.address, d.ssh.port) for d in ssh_devices if d.ssh and d.behaviour != "dead"])
    SshLab(ssh_devices, lab.dir / "ssh").start()
    poll(engine, world["vault"], site=world["site"], zone=switch.zone, options=fast())
    # The poll evaluates what it touched (issue 12): the switch now has HTTP management on, rightly.
    world.setdefault("changed", {})[switch.key] = {"net.http_mgmt_off"}
    with db.session_scope(engine) as session:
        device = _device(session, switch)
        texts = session.execute(select(ConfigSnapshot.text).where(ConfigSnapshot.device_id == device.id).order_by(ConfigSnapshot.id)).scalars().all()
        assert len(texts) == 2
        assert "ip http server" in texts[1].splitlines() and "ip http server" not in texts[0].splitlines()
        diff = config_diff(session, device.id)
        assert "+ip http server" in diff


def _wait_closed(endpoints, timeout: float = 10) -> None:
    """The stopped workers exit asynchronously: wait until nothing listens any more."""
    import socket
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = []
        for address, port in endpoints:
            with socket.socket() as sock:
                sock.settimeout(0.2)
                if sock.connect_ex((address, port)) == 0:
                    busy.append((address, port))
        if not busy:
            return
        time.sleep(0.1)
    raise AssertionError(f"still listening: {busy}")


def test_every_manifest_violation_is_found_and_compliant_devices_get_none(world):
    with db.session_scope(world["engine"]) as session:
        open_by_device: dict[int, set[str]] = {}
        for device_id, rule_id in session.execute(select(Finding.device_id, Finding.rule_id).where(Finding.status == "open", Finding.device_id.is_not(None))):
            open_by_device.setdefault(device_id, set()).add(rule_id)
        checked = 0
        for lab_device in world["devices"]:
            if lab_device.behaviour in ("dead", "hang"):
                continue  # nothing was collected from these
            device = _device(session, lab_device)
            expected = {v for v in lab_device.violations if v.startswith(LAB_RULES)}
            changed = world.get("changed", {}).get(lab_device.key, set())  # may also hold after the config test
            found = {r for r in open_by_device.get(device.id, set()) if r.startswith(LAB_RULES)}
            assert expected <= found, f"{lab_device.key}: missing {expected - found}"
            assert found <= expected | changed, f"{lab_device.key}: unexpected {found - expected - changed}"
            checked += 1
        assert checked >= 10


def test_offline_scan_bundle_merges_once_into_another_database(world, tmp_path):
    from collectors.service import import_bundle, scan_to_bundle

    bundle = scan_to_bundle(world["engine"], world["vault"], site=world["site"], subnet=_internet_subnet(world), snmp_ports=(TEST_LAB_PORTS.snmp,), options=fast())
    assert bundle["outcomes"] and not any("v3_auth_key" in json.dumps(o) for o in bundle["outcomes"])
    text = json.dumps(bundle)
    secrets = world["lab"].secrets()
    assert secrets.community not in text and secrets.v3_auth_key not in text and secrets.ssh_password not in text
    path = tmp_path / "bundle.json"
    path.write_text(text, encoding="utf-8")

    url = f"sqlite:///{tmp_path / 'office.sqlite3'}"  # the office database, which never saw the scan
    db.upgrade(url)
    office = db.engine_for(url)
    with db.session_scope(office) as session:
        load_demo(session, actor="test")
    first = import_bundle(office, path)
    strangers = [d for d in world["devices"] if not d.recorded]
    assert first.summary["created"] == len(strangers)
    again = import_bundle(office, path)
    assert again.status == "already-imported" and again.scan_run_id == first.scan_run_id
    with db.session_scope(office) as session:
        assert session.execute(select(Device).where(Device.source == "discovered")).scalars().all().__len__() == len(strangers)


def _internet_subnet(world) -> str:
    address = next(d.address for d in world["devices"] if d.zone == "internet")
    return address.rsplit(".", 1)[0] + ".0/24"


def test_a_run_with_only_a_wrong_credential_reports_it_per_device(world):
    from collectors.runner import run_sync

    devices = [d for d in world["devices"] if d.recorded and d.behaviour == "normal" and d.snmp][:3]

    class WrongBook:
        def snmp(self, target):
            s = devices[0].snmp
            return [SnmpCredential("bad-v3", "v3", user=s.v3_user, auth_key=SecretStr("wrong-key-123"), priv_key=SecretStr("wrong-key-456"), port=s.port)]

        def ssh(self, target):
            return []

    outcomes = run_sync([Target(d.address) for d in devices], WrongBook(), fast())
    assert len(outcomes) == 3
    for outcome in outcomes:
        assert not outcome.ok and outcome.error.kind == "auth"
        assert "authentication failed" in outcome.error.message and "wrong-key" not in outcome.error.message


def test_stored_configurations_hold_no_device_secret(world):
    secrets = world["lab"].secrets()
    with db.session_scope(world["engine"]) as session:
        texts = session.execute(select(ConfigSnapshot.text)).scalars().all()
    assert texts
    for text in texts:
        for secret in (secrets.ssh_password, secrets.ssh_secret, secrets.community, secrets.v3_auth_key, secrets.v3_priv_key):
            assert secret not in text
        assert "<redacted>" in text
