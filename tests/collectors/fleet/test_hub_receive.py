"""Results received from collectors: applied once whatever the repeats, acknowledged up to the
first gap, and refused whole (with a security event, nothing applied) when the frame is altered,
its collector unknown or revoked, or a result lies outside the collector's zone."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from collectors.fleet import wire
from collectors.fleet.identity import collector_keys, hub_key, hub_public, verify
from collectors.fleet.receive import Refused, receive, write_ack
from collectors.fleet.registry import revoke
from inventory import db
from inventory.models import Collector, CollectorBatch, Device, Event, Observation, ScanOutcome, ScanRun
from inventory.settings import Settings
from tests.collectors.fleet.hubkit import DEVICES, batch, collector, frame, make_hub, poll_body

pytestmark = pytest.mark.db


def _count(engine, model, *where) -> int:
    with db.session_scope(engine) as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _refused_events(engine) -> list[dict]:
    with db.session_scope(engine) as session:
        return [e.data for e in session.execute(select(Event).where(Event.kind == "collector_refused").order_by(Event.id)).scalars()]


def test_the_same_batches_twice_are_applied_once(engine, tmp_path):
    hub = make_hub(engine, tmp_path / "hub")
    keys = collector(hub, tmp_path / "c1", "c1", "internet")
    wan_device = DEVICES["internet"][0]
    batches = [batch(1, poll_body([wan_device, "10.2.0.7"])), batch(2, poll_body(["10.2.0.8"]))]
    first = receive(engine, hub.settings, frame(keys, batches), via="https", actor="test")
    assert (first.stored, first.duplicates, first.applied, first.acked_seq, first.refused) == (2, 0, 2, 2, [])
    runs = _count(engine, ScanRun, ScanRun.kind == "collector-poll")
    observations = _count(engine, Observation)
    outcomes = _count(engine, ScanOutcome)
    assert runs == 2 and outcomes == 3
    # The same batches again, over HTTPS and then in an air-gap file: nothing changes.
    again = receive(engine, hub.settings, frame(keys, batches), via="https", actor="test")
    assert (again.stored, again.duplicates, again.acked_seq) == (0, 2, 2)
    by_file = receive(engine, hub.settings, frame(keys, batches), via="file", actor="test")
    assert (by_file.stored, by_file.duplicates) == (0, 2)
    assert (_count(engine, ScanRun, ScanRun.kind == "collector-poll"), _count(engine, Observation), _count(engine, ScanOutcome)) == (runs, observations, outcomes)
    with db.session_scope(engine) as session:
        # Site and zone from the registration (the batch said "FORGED"); the recorded device found by address.
        created = session.execute(select(Device).where(Device.mgmt_ip == "10.2.0.7")).scalar_one()
        assert created.site_id == session.get(Device, hub.device_ids["internet"]).site_id and created.zone_id == session.get(Device, hub.device_ids["internet"]).zone_id
        assert session.get(Device, hub.device_ids["internet"]).last_seen is not None
        rows = session.execute(select(CollectorBatch)).scalars().all()
        assert {r.status for r in rows} == {"applied"} and all(r.body is None for r in rows)
        run = session.execute(select(ScanRun).where(ScanRun.kind == "collector-poll")).scalars().first()
        assert run.triggered_by == "collector:c1" and run.params["collector"] == "c1"
        c1 = session.execute(select(Collector)).scalar_one()
        assert c1.last_contact_via == "file" and c1.acked_seq == 2 and c1.reported_pending == 2


def test_a_gap_stops_the_acknowledgement(engine, tmp_path):
    hub = make_hub(engine, tmp_path / "hub")
    keys = collector(hub, tmp_path / "c1", "c1", "internet")
    receipt = receive(engine, hub.settings, frame(keys, [batch(1, poll_body(["10.2.0.5"])), batch(3, poll_body(["10.2.0.6"]))]), via="https", actor="t")
    assert receipt.stored == 2 and receipt.acked_seq == 1
    receipt = receive(engine, hub.settings, frame(keys, [batch(2, poll_body(["10.2.0.9"]))]), via="https", actor="t")
    assert receipt.acked_seq == 3


def test_refused_frames_apply_nothing_and_raise_an_event(engine, tmp_path):
    hub = make_hub(engine, tmp_path / "hub")
    keys = collector(hub, tmp_path / "c1", "c1", "internet")
    good = frame(keys, [batch(1, poll_body(["10.2.0.5"]))])
    # Altered after signing: one byte of the payload.
    tampered = bytearray(good)
    tampered[-5] ^= 0x01
    with pytest.raises(Refused) as refused:
        receive(engine, hub.settings, bytes(tampered), via="file", actor="t")
    assert refused.value.status == 401
    # Signed by a collector nobody registered (its own valid signature).
    stranger = collector_keys(Settings(home=tmp_path / "x"), "stranger")
    with pytest.raises(Refused) as refused:
        receive(engine, hub.settings, frame(stranger, [batch(1, poll_body(["10.2.0.5"]))]), via="https", actor="t")
    assert refused.value.status == 401
    # Signed with another key under c1's name.
    with pytest.raises(Refused):
        receive(engine, hub.settings, frame(stranger, [batch(1, poll_body(["10.2.0.5"]))], signer="c1").replace(b"stranger", b"c1"), via="https", actor="t")
    # Not a frame at all.
    with pytest.raises(Refused) as refused:
        receive(engine, hub.settings, b"hello", via="file", actor="t")
    assert refused.value.status == 400
    assert _count(engine, CollectorBatch) == 0 and _count(engine, ScanRun) == 0
    reasons = [e["reason"] for e in _refused_events(engine)]
    assert len(reasons) == 4 and "signature" in reasons[0] and "registered" in reasons[1]
    # Revoked: refused from then on.
    with db.session_scope(engine) as session:
        revoke(session, "c1", "t")
    with pytest.raises(Refused) as refused:
        receive(engine, hub.settings, good, via="https", actor="t")
    assert refused.value.status == 403 and "revoked" in str(refused.value)
    assert _count(engine, CollectorBatch) == 0 and _count(engine, ScanRun) == 0


def test_a_result_outside_the_zone_refuses_its_batch(engine, tmp_path):
    hub = make_hub(engine, tmp_path / "hub")
    keys = collector(hub, tmp_path / "c1", "c1", "internet")
    devices_before = _count(engine, Device)
    # 10.1.0.1 is the party_wan zone's switch: an internet collector may not report it.
    receipt = receive(engine, hub.settings, frame(keys, [batch(1, poll_body(["10.2.0.5", DEVICES["party_wan"][0]])), batch(2, poll_body(["10.2.0.6"]))]),
                      via="file", actor="t")  # fmt: skip
    assert receipt.acked_seq == 2 and [r["seq"] for r in receipt.refused] == [1] and "outside" in receipt.refused[0]["reason"]
    assert _count(engine, Device) == devices_before + 1  # 10.2.0.6 from batch 2 only
    with db.session_scope(engine) as session:
        assert session.execute(select(Device.id).where(Device.mgmt_ip == "10.2.0.5")).first() is None
        assert session.get(Device, hub.device_ids["party_wan"]).last_seen is None
        refused_batch = session.execute(select(CollectorBatch).where(CollectorBatch.seq == 1)).scalar_one()
        assert refused_batch.status == "refused" and refused_batch.body is None and refused_batch.scan_run_id is None
    events = _refused_events(engine)
    assert len(events) == 1 and events[0]["collector"] == "c1" and events[0]["seq"] == 1
    # Sent again: a duplicate, still listed as refused for the acknowledgement; no second event.
    again = receive(engine, hub.settings, frame(keys, [batch(1, poll_body(["10.2.0.5"]))]), via="file", actor="t")
    assert again.duplicates == 1 and [r["seq"] for r in again.refused] == [1] and len(_refused_events(engine)) == 1


def test_the_acknowledgement_is_signed_by_the_hub(engine, tmp_path):
    hub = make_hub(engine, tmp_path / "hub")
    keys = collector(hub, tmp_path / "c1", "c1", "internet")
    receipt = receive(engine, hub.settings, frame(keys, [batch(1, poll_body(["10.2.0.5"]))]), via="file", actor="t")
    ack = wire.read_frame(write_ack(hub.settings, receipt, "c1"), wire.ACK, what="ack")
    assert ack.signer == "hub" and verify(hub_public(hub_key(hub.settings)), ack.payload, ack.signature)
    document = wire.unpack_json(ack.payload, wire.ACK_FORMAT, "ack")
    assert document["collector"] == "c1" and document["acked_seq"] == 1 and document["refused"] == []
    assert not verify(keys.signing_public, ack.payload, ack.signature)


def test_a_result_naming_another_zones_device_refuses_its_batch(engine, tmp_path):
    hub = make_hub(engine, tmp_path / "hub")
    keys = collector(hub, tmp_path / "c1", "c1", "internet")
    wan_serial = DEVICES["party_wan"][2]
    # An address inside the zone, but the serial of the party WAN switch: it would update that device.
    body = poll_body(["10.2.0.9"], serial_of=lambda _address: wan_serial)
    receipt = receive(engine, hub.settings, frame(keys, [batch(1, body)]), via="https", actor="t")
    assert [r["seq"] for r in receipt.refused] == [1] and "recorded outside" in receipt.refused[0]["reason"]
    with db.session_scope(engine) as session:
        wan_switch = session.get(Device, hub.device_ids["party_wan"])
        assert wan_switch.last_seen is None and wan_switch.hostname == DEVICES["party_wan"][1]
        assert session.execute(select(func.count()).select_from(ScanRun).where(ScanRun.kind == "collector-poll")).scalar_one() == 0
    assert _refused_events(engine)[0]["seq"] == 1
