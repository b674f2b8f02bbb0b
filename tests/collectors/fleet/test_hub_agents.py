"""Agent reports forwarded by a collector: stored the agents' way in the collector's site and
zone, once; a machine with an address in another zone's subnets is refused with the event."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from collectors.fleet.receive import receive
from inventory import db
from inventory.models import AgentMachine, Device, Event, Zone
from tests.collectors.fleet.hubkit import batch, collector, frame, make_hub

pytestmark = pytest.mark.db

FIXTURE = Path(__file__).parents[1] / "agents" / "fixtures" / "windows10_desktop.json"


def _agent_body(address: str, deviceid: str) -> dict:
    message = json.loads(FIXTURE.read_text(encoding="utf-8"))
    message["deviceid"] = deviceid
    message["content"]["networks"][0]["ipaddress"] = [address]
    message["content"]["hardware"].pop("uuid", None)
    for key in ("ssn", "serialnumber"):
        message["content"].get("bios", {}).pop(key, None)
    raw = json.dumps(message).encode()
    return {"agent_id": None, "account": "local", "received_at": datetime.now(UTC).isoformat(), "message": base64.b64encode(raw).decode()}


def test_agent_reports_land_in_the_collectors_zone_once(engine, tmp_path):
    hub = make_hub(engine, tmp_path / "hub")
    keys = collector(hub, tmp_path / "c1", "c1", "internet")
    upload = frame(keys, [batch(1, _agent_body("10.2.0.15", "PC-INET-1"), "agent"), batch(2, _agent_body("10.1.0.15", "PC-WAN-1"), "agent")])
    receipt = receive(engine, hub.settings, upload, via="https", actor="t")
    assert receipt.acked_seq == 2 and [r["seq"] for r in receipt.refused] == [2] and "outside" in receipt.refused[0]["reason"]
    again = receive(engine, hub.settings, upload, via="file", actor="t")
    assert again.duplicates == 2
    with db.session_scope(engine) as session:
        machines = session.execute(select(AgentMachine.deviceid, AgentMachine.device_id)).all()
        assert [m for m, _ in machines] == ["PC-INET-1"]
        device = session.get(Device, machines[0][1])
        assert session.get(Zone, device.zone_id).kind == "internet" and device.mgmt_ip == "10.2.0.15"
        assert session.execute(select(func.count()).select_from(Event).where(Event.kind == "collector_refused")).scalar_one() == 1
