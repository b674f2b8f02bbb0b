"""The cross-zone MAC is still found when each zone comes from its own collector: the party WAN
switch's forwarding table (collector c-wan, over HTTPS) and the Internet switch's (collector
c-inet, in an air-gap file) both hold the same machine's MAC; the hub's evaluation opens
zone.mac_both_zones on that machine."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from collectors.fleet.receive import receive
from collectors.outcome_json import outcome_to_json
from collectors.records import DeviceFacts, FdbRecord, InterfaceRecord, Target
from collectors.runner import Outcome
from compliance.evaluation import evaluate_scope
from inventory import db
from inventory.models import Device, Finding
from tests.collectors.fleet.hubkit import DEVICES, batch, collector, frame, make_hub

pytestmark = pytest.mark.db

ROGUE_MAC = "00:de:ad:be:ef:01"


def _switch_poll(address: str, serial: str, fdb_macs: list[str], extra: list[tuple[str, str]] = ()) -> dict:
    """A poll body: the zone's switch with these MACs in its forwarding table, and machines (address, own MAC)."""
    switch = DeviceFacts(address=address, source="snmp", sys_name=f"sw-{address}", vendor="Cisco", model="C2960", serial=serial,
                         interfaces=(InterfaceRecord(index=1, name="Gi0/1"),), fdb=tuple(FdbRecord(mac=m, if_index=1, port_name="Gi0/1") for m in fdb_macs))  # fmt: skip
    outcomes = [Outcome(Target(address=address), (switch,), None, (), 3)]
    for machine_address, mac in extra:
        facts = DeviceFacts(address=machine_address, source="snmp", sys_name=f"pc-{machine_address}", interfaces=(InterfaceRecord(index=1, name="eth0", mac=mac),))
        outcomes.append(Outcome(Target(address=machine_address), (facts,), None, (), 3))
    now = datetime.now(UTC).isoformat()
    body = {"run": {"kind": "poll", "params": {}, "started_at": now, "finished_at": now, "status": "ok"}, "outcomes": [outcome_to_json(o) for o in outcomes]}
    return json.loads(json.dumps(body, default=str))


def test_cross_zone_mac_found_across_two_collectors(engine, tmp_path):
    hub = make_hub(engine, tmp_path / "hub")
    wan = collector(hub, tmp_path / "wan", "c-wan", "party_wan")
    inet = collector(hub, tmp_path / "inet", "c-inet", "internet")
    wan_address, _, wan_serial = DEVICES["party_wan"]
    inet_address, _, inet_serial = DEVICES["internet"]
    # The machine sits on the Internet zone (its own address and MAC come from c-inet) ...
    inet_body = _switch_poll(inet_address, inet_serial, [ROGUE_MAC], extra=[("10.2.0.50", ROGUE_MAC)])
    assert receive(engine, hub.settings, frame(inet, [batch(1, inet_body)]), via="file", actor="t").refused == []
    # ... and the party WAN switch learnt the same MAC on one of its ports.
    assert receive(engine, hub.settings, frame(wan, [batch(1, _switch_poll(wan_address, wan_serial, [ROGUE_MAC]))]), via="https", actor="t").refused == []
    with db.session_scope(engine) as session:
        machine = session.execute(select(Device).where(Device.mgmt_ip == "10.2.0.50")).scalar_one()
        machine_id, site_id = machine.id, machine.site_id
    evaluate_scope(engine, site_ids=[site_id], trigger="test", actor="test")
    with db.session_scope(engine) as session:
        findings = session.execute(select(Finding).where(Finding.rule_id == "zone.mac_both_zones", Finding.status == "open")).scalars().all()
    assert [f.device_id for f in findings] == [machine_id]
