"""The assignment the hub gives a collector: signed by the hub, only its zone's devices and
credentials, the credentials openable with that collector's key alone, versioned by content."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from collectors.fleet import wire
from collectors.fleet.assign_give import issue
from collectors.fleet.identity import IdentityError, hub_key, hub_public, verify
from inventory import db
from inventory.models import AuditLog, Collector, Device
from tests.collectors.fleet.hubkit import DEVICES, NETS, collector, make_hub

pytestmark = pytest.mark.db


def _issue(hub, name: str):
    with db.session_scope(hub.engine) as session:
        found = session.execute(select(Collector).where(Collector.name == name)).scalar_one()
        return issue(session, hub.settings, hub.vault, found, actor="test")


def test_assignment_is_signed_and_holds_only_its_zone(engine, tmp_path):
    hub = make_hub(engine, tmp_path / "hub")
    wan = collector(hub, tmp_path / "c1", "c1", "party_wan")
    inet = collector(hub, tmp_path / "c2", "c2", "internet")
    issued = _issue(hub, "c2")
    frame = wire.read_frame(issued.frame, wire.ASSIGNMENT, what="assignment")
    public = hub_public(hub_key(hub.settings))
    assert verify(public, frame.payload, frame.signature)
    assert not verify(public, frame.payload.replace(b"10.2.0.0/24", b"10.9.0.0/24"), frame.signature)
    document = wire.unpack_json(frame.payload, wire.ASSIGNMENT_FORMAT, "assignment")
    assert document["collector"] == "c2" and document["zone"] == "internet" and document["version"] == 1 and document["hub_key"] == public
    assert document["site"]["code"] == "S1" and document["site"]["province"]["code"] == "P1"
    assert document["subnets"] == [NETS["internet"]]
    assert [d["address"] for d in document["devices"]] == [DEVICES["internet"][0]]
    assert document["policy_version"] and document["rules_version"]
    # The credentials: sealed (no secret in the clear), openable by c2 alone.
    assert b"inet-pass" not in issued.frame and b"c0mmunity" not in issued.frame
    credentials = json.loads(inet.open_sealed(document["credentials"]))
    assert {c["name"] for c in credentials} == {"site-v2c", "inet-ssh", "inet-dev"}
    device_scoped = next(c for c in credentials if c["name"] == "inet-dev")
    assert device_scoped["device_address"] == DEVICES["internet"][0] and device_scoped["secrets"] == {"password": "inet-dev-pass"}
    with pytest.raises(IdentityError):
        wan.open_sealed(document["credentials"])
    # The other zone's collector gets the other zone.
    other = wire.unpack_json(wire.read_frame(_issue(hub, "c1").frame, wire.ASSIGNMENT, what="a").payload, wire.ASSIGNMENT_FORMAT, "a")
    assert [d["address"] for d in other["devices"]] == [DEVICES["party_wan"][0]]
    assert {c["name"] for c in json.loads(wan.open_sealed(other["credentials"]))} == {"site-v2c", "wan-dev"}


def test_version_moves_only_when_the_content_changes(engine, tmp_path):
    hub = make_hub(engine, tmp_path / "hub")
    collector(hub, tmp_path / "c1", "c1", "party_wan")
    assert _issue(hub, "c1").version == 1
    again = _issue(hub, "c1")
    assert again.version == 1 and not again.changed
    with db.session_scope(engine) as session:
        session.get(Device, hub.device_ids["party_wan"]).hostname = "sw-wan-renamed"
    changed = _issue(hub, "c1")
    assert changed.version == 2 and changed.changed
    with db.session_scope(engine) as session:
        audits = session.execute(select(AuditLog.after).where(AuditLog.entity == "collector_assignment")).scalars().all()
    assert [a["version"] for a in audits] == [1, 2]
    assert all("pass" not in json.dumps(a) for a in audits)
