"""The demo shows its own truth: `kiemke demo`'s collection on the province profile, against a lab
on the test run's own ports, ends with every violation its manifest lists as an open finding on
its device, no finding on a device the manifest calls compliant, and the cross-zone MAC of the
technician's site as a critical finding seen on both zones' switch ports.

The demo's steps run with the demo's own options (RunOptions() defaults, the lab's default slow
delay) through the same sequence the CLI step uses (collectors/lab/demo_flow.py)."""

from __future__ import annotations

import time

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from collectors.lab.demo_flow import collect_demo_lab
from collectors.lab.manager import register_credentials
from collectors.lab.scenario import ROAMER_PORT
from collectors.runner import RunOptions
from collectors.service import discover, poll
from compliance.policy import load_policy
from compliance.service import run_check
from inventory import db
from inventory.crypto import Vault
from inventory.models import Device, Finding, MacSighting, Zone
from tests.lab.support import PROVINCE_LAB_PORTS, running_demo_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

# Rule families the lab decides (as in tests/test_lab_end_to_end.py); lifecycle rules come from
# the recorded purchase dates instead.
LAB_RULES = ("net.", "ep.", "origin.allowed", "zone.mac_both_zones")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from cryptography.fernet import Fernet

    vault = Vault(SecretStr(Fernet.generate_key().decode()))
    started = time.monotonic()
    with running_demo_lab(tmp_path_factory.mktemp("demo-truth"), profile="province", ports=PROVINCE_LAB_PORTS) as lab_run:
        engine, lab = lab_run.engine, lab_run.lab
        with db.session_scope(engine) as session:
            register_credentials(session, vault, lab.secrets(), actor="test", ports=lab.ports)
        lab_ready = time.monotonic()
        manifest = lab.manifest()
        collect_demo_lab(
            manifest,
            poll=lambda **where: poll(engine, vault, **where, options=RunOptions()),
            discover=lambda **where: discover(engine, vault, **where, subnet=None, options=RunOptions()),
        )
        collected = time.monotonic()
        run_check(engine, actor="test", policy=load_policy())
        print(f"\nprovince demo: lab {lab_ready - started:.0f} s, collection {collected - lab_ready:.0f} s, check {time.monotonic() - collected:.0f} s")
        yield {"engine": engine, "manifest": manifest}


def _device(session, entry: dict) -> Device | None:
    if entry["key"].startswith("dev-"):
        return session.get(Device, int(entry["key"].removeprefix("dev-")))
    return session.execute(select(Device).where(Device.mgmt_ip == entry["address"])).scalar_one_or_none()


def _open_findings(session) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for device_id, rule_id in session.execute(select(Finding.device_id, Finding.rule_id).where(Finding.status == "open", Finding.device_id.is_not(None))):
        if rule_id.startswith(LAB_RULES):
            found.setdefault(device_id, set()).add(rule_id)
    return found


def test_the_manifest_expects_only_what_can_be_collected(demo):
    """No violation is expected on a device kiemke cannot read: a silent or hanging device keeps
    only the rules read from the inventory itself, each hidden one with its reason."""
    manifest = demo["manifest"]
    assert manifest["technician_site"] == manifest["devices"][0]["site_code"]
    for entry in manifest["devices"]:
        if entry["behaviour"] in ("dead", "hang"):
            assert set(entry["violations"]) <= {"origin.allowed", "net.firmware_supported", "ep.os_supported"}, entry["key"]
        assert all(reason for reason in entry["unobservable"].values()), entry["key"]
    assert any(entry["unobservable"] for entry in manifest["devices"])


def test_every_manifest_violation_is_found_and_compliant_devices_get_none(demo):
    manifest = demo["manifest"]
    with db.session_scope(demo["engine"]) as session:
        found_by_device = _open_findings(session)
        checked = compliant = 0
        for entry in manifest["devices"]:
            device = _device(session, entry)
            if device is None:
                assert not entry["recorded"] and entry["site_code"] != manifest["technician_site"], entry["key"]
                assert not entry["violations"]  # an undiscovered stranger's rules are all unobservable
                continue
            expected = {v for v in entry["violations"] if v.startswith(LAB_RULES)}
            found = found_by_device.get(device.id, set())
            assert expected <= found, f"{entry['key']} ({entry['hostname']}): missing {sorted(expected - found)}"
            assert found <= expected, f"{entry['key']} ({entry['hostname']}): unexpected {sorted(found - expected)}"
            checked += 1
            compliant += not entry["violations"] and not entry["unobservable"]
    assert checked >= 300 and compliant >= 50, (checked, compliant)


def _roamer(demo) -> dict:
    return next(entry for entry in demo["manifest"]["devices"] if "both_zones" in entry["tags"])


def test_the_cross_zone_mac_is_a_critical_finding_seen_on_both_zones_switch_ports(demo):
    manifest = demo["manifest"]
    roamer = _roamer(demo)
    assert roamer["site_code"] == manifest["technician_site"] and "zone.mac_both_zones" in roamer["violations"]
    mac = roamer["interfaces"][0]["mac"]
    switches = {e["key"]: e for e in manifest["devices"] if e["device_class"] == "access_switch" and any(f["mac"] == mac for f in e["fdb"])}
    assert {e["zone"] for e in switches.values()} == {"party_wan", "internet"}
    assert all(e["behaviour"] == "normal" for e in switches.values())  # the scenario keeps its witnesses answering
    with db.session_scope(demo["engine"]) as session:
        device = _device(session, roamer)
        finding = session.execute(select(Finding).where(Finding.rule_id == "zone.mac_both_zones", Finding.device_id == device.id, Finding.status == "open")).scalar_one()
        assert finding.severity == "critical"
        assert mac in finding.evidence
        sightings = session.execute(
            select(Device.hostname, MacSighting.port, Zone.kind)
            .join(Device, Device.id == MacSighting.seen_on_device_id)
            .join(Zone, Zone.id == MacSighting.zone_id)
            .where(MacSighting.mac == mac, MacSighting.source == "fdb")
        ).all()
    seen = {(hostname, port, zone) for hostname, port, zone in sightings}
    pw_switch = next(e for e in switches.values() if e["zone"] == "party_wan")
    pw_port = next(i["name"] for i in pw_switch["interfaces"] if i["index"] == ROAMER_PORT)
    assert (pw_switch["hostname"], pw_port, "party_wan") in seen, seen
    assert {zone for _, _, zone in seen} == {"party_wan", "internet"}, seen


def test_the_cross_zone_finding_names_both_switch_ports(demo):
    roamer = _roamer(demo)
    mac = roamer["interfaces"][0]["mac"]
    switches = [e for e in demo["manifest"]["devices"] if e["device_class"] == "access_switch" and any(f["mac"] == mac for f in e["fdb"])]
    with db.session_scope(demo["engine"]) as session:
        evidence = session.execute(select(Finding.evidence).where(Finding.rule_id == "zone.mac_both_zones", Finding.device_id == _device(session, roamer).id)).scalar_one()
    for switch in switches:
        port_index = next(f["port_index"] for f in switch["fdb"] if f["mac"] == mac)
        port = next(i["name"] for i in switch["interfaces"] if i["index"] == port_index)
        assert switch["hostname"] in evidence and port in evidence, (switch["hostname"], port, evidence)
