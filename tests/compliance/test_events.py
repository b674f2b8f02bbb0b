"""Events (compliance.events): each kind raised by its real source, once per key, and a fault in
raising never breaks what it reports."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from compliance import evaluation, events
from compliance.evaluation import evaluate_scope
from compliance.policy import load_policy
from inventory import db
from inventory.models import Device, DeviceMac, Event, Finding, MacSighting, ScanRun, Site
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db

POLICY = load_policy()
TODAY = date(2026, 11, 22)
CROSS_ZONE_MAC = "02:00:00:00:00:01"


@pytest.fixture
def province(session):
    """Two sites; S1 has a laptop and an unrecorded MAC learnt in both of its zones (critical)."""
    ids = make_province(session)
    s1 = ids["S1"]
    laptop = Device(site_id=s1["site"], zone_id=s1["internet"], serial="S1-laptop", device_class="laptop", country_of_origin="VN", mgmt_ip="10.1.2.10")
    session.add(laptop)
    for zone in ("party_wan", "internet"):
        session.add(MacSighting(mac=CROSS_ZONE_MAC, site_id=s1["site"], zone_id=s1[zone], source="fdb", port="Gi0/1"))
    session.commit()
    return ids, laptop.id


def evaluate(engine, **scope) -> dict:
    return evaluate_scope(engine, trigger="test", actor="tester", today=TODAY, policy=POLICY, **scope)


def all_events(engine, kind: str | None = None) -> list[Event]:
    with db.session_scope(engine) as session:
        query = select(Event).order_by(Event.id)
        if kind:
            query = query.where(Event.kind == kind)
        return list(session.execute(query).scalars())


@pytest.mark.parametrize("many_keys", [events.MANY_KEYS, 0], ids=["keys-in-batches", "one-pass-over-the-rules"])
def test_an_evaluation_raises_one_event_per_critical_finding_it_opens_or_reopens(engine, session, province, monkeypatch, many_keys):
    monkeypatch.setattr(events, "MANY_KEYS", many_keys)
    ids, laptop_id = province
    assert evaluate(engine)["status"] == "ok"
    raised = all_events(engine, "new_critical_finding")
    with db.session_scope(engine) as s:
        critical = s.execute(select(Finding.id, Finding.rule_id).where(Finding.severity == "critical", Finding.status == "open")).all()
    assert {e.finding_id for e in raised} == {fid for fid, _ in critical} and raised
    mac = next(e for e in raised if e.data["rule_id"] == "zone.mac_both_zones")
    assert mac.severity == "critical" and mac.site_id == ids["S1"]["site"] and mac.key.startswith(f"new_critical_finding:finding:{mac.finding_id}:")

    evaluate(engine)  # still open: nothing new
    assert len(all_events(engine, "new_critical_finding")) == len(raised)

    session.add(DeviceMac(device_id=laptop_id, mac=CROSS_ZONE_MAC))  # the MAC is now recorded: resolved
    session.commit()
    evaluate(engine)
    session.execute(text("DELETE FROM device_mac WHERE mac = :mac"), {"mac": CROSS_ZONE_MAC})
    session.commit()
    evaluate(engine)  # learnt again in both zones: the finding reopens, a new event
    again = [e for e in all_events(engine, "new_critical_finding") if e.finding_id == mac.finding_id]
    assert len(again) == 2 and again[0].key != again[1].key


def test_raising_the_same_key_twice_is_one_event(engine):
    with db.session_scope(engine) as session:
        first = events.raise_event(session, "run_failed", "high", "run_failed:test:1", data={"n": 1})
        second = events.raise_event(session, "run_failed", "high", "run_failed:test:1", data={"n": 2})
    assert first is not None and first.id and second is None
    assert [(e.key, e.data) for e in all_events(engine)] == [("run_failed:test:1", {"n": 1})]


def test_a_fault_while_raising_events_does_not_break_the_evaluation(engine, session, province, caplog):
    session.execute(text("ALTER TABLE event RENAME TO event_gone"))  # a real fault: the table is not there
    session.commit()
    with caplog.at_level(logging.ERROR, logger="kiemke.events"):
        result = evaluate(engine)
    assert result["status"] == "ok" and result["opened"] > 0
    assert "events not raised: new critical findings" in caplog.text
    with db.session_scope(engine) as s:
        assert s.execute(select(Finding.id).where(Finding.rule_id == "zone.mac_both_zones", Finding.status == "open")).first()


def test_a_failed_evaluation_raises_a_run_failed_event(engine, session, province, monkeypatch):
    def fails(*args, **kwargs):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(evaluation, "write_states", fails)
    result = evaluate(engine)
    assert result["status"] == "failed"
    (event,) = all_events(engine, "run_failed")
    assert event.scan_run_id == result["run_id"] and event.severity == "high"
    assert event.data["run_kind"] == "evaluate" and event.data["error"] == "RuntimeError: disk gone"
    assert not all_events(engine, "new_critical_finding")  # rolled back: nothing was opened


def _poll_site(session, site_id: int, minutes: int) -> None:
    session.get(Site, site_id).poll_interval_minutes = minutes


def test_the_job_raises_silent_devices_once_per_silence_and_expiring_waivers(engine, session, province):
    ids, laptop_id = province
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    s1, s2 = ids["S1"]["site"], ids["S2"]["site"]
    _poll_site(session, s1, 60)  # silent after 2 h
    _poll_site(session, s2, 5)  # silent after the 1 h minimum, not after 10 min
    laptop = session.get(Device, laptop_id)
    laptop.last_polled, laptop.last_seen = now - timedelta(minutes=5), now - timedelta(hours=3)
    answering = Device(site_id=s2, serial="S2-sw", device_class="access_switch", mgmt_ip="10.2.1.2", last_polled=now, last_seen=now - timedelta(minutes=30))
    never = Device(site_id=s2, serial="S2-fw", device_class="firewall", mgmt_ip="10.2.1.1", last_polled=now - timedelta(minutes=2))
    unpolled = Device(site_id=s2, serial="S2-pc", device_class="desktop")
    session.add_all([answering, never, unpolled])
    session.flush()
    soon = Finding(rule_id="origin.allowed", subject_key=f"device:{laptop_id}", device_id=laptop_id, site_id=s1, severity="high", status="waived",
                   waiver_reason="thay thế", waiver_expires=date(2026, 12, 6), waived_by="an")  # fmt: skip
    later = Finding(rule_id="origin.allowed", subject_key="device:other", site_id=s2, severity="high", status="waived", waiver_reason="x", waiver_expires=date(2026, 12, 7))
    session.add_all([soon, later])
    session.commit()

    assert events.silence_and_waiver_job(engine, now=now) == {"device_silent": 2, "waiver_expiring": 1}
    silent = {e.device_id: e for e in all_events(engine, "device_silent")}
    assert set(silent) == {laptop_id, never.id}
    assert silent[laptop_id].data["silent_hours"] == 3.0 and silent[laptop_id].data["limit_hours"] == 2.0
    assert silent[never.id].data["last_seen"] is None
    (waiver,) = all_events(engine, "waiver_expiring")
    assert waiver.finding_id == soon.id and waiver.data["days_left"] == 14 and waiver.severity == "high"

    assert events.silence_and_waiver_job(engine, now=now) == {"device_silent": 0, "waiver_expiring": 0}  # raised once
    laptop.last_seen = now + timedelta(hours=1)  # answered, then fell silent again: a new silence period
    answering.last_seen = now + timedelta(hours=4)
    session.commit()
    assert events.silence_and_waiver_job(engine, now=now + timedelta(hours=4))["device_silent"] == 1


def test_the_job_logs_a_fault_and_raises_nothing(engine, session, caplog):
    session.execute(text("ALTER TABLE event RENAME TO event_gone"))
    session.commit()
    make_province(session)
    with caplog.at_level(logging.ERROR, logger="kiemke.events"):
        assert events.silence_and_waiver_job(engine) == {"device_silent": 0, "waiver_expiring": 0}


def test_a_run_without_a_failure_raises_no_run_failed_event(engine, session):
    run = ScanRun(kind="poll", status="ok")
    session.add(run)
    session.commit()
    assert events.raise_run_failed(engine, run.id) == 0 and not all_events(engine)


# -- the collectors' paths ---------------------------------------------------------------------


def _bundle(tmp_path, bundle_id: str, *, failed: bool = False):
    import json

    facts = [] if failed else [{"address": "10.1.2.77", "source": "snmp", "sys_name": "unknown-ap"}]
    error = {"kind": "timeout", "message": "no answer"} if failed else None
    outcome = {"target": {"address": "10.1.2.77", "site_code": "S1", "zone": "internet"}, "facts": facts, "error": error, "attempts": [], "duration_ms": 5}
    path = tmp_path / f"{bundle_id}.json"
    path.write_text(json.dumps({"format": "kiemke-scan-bundle/1", "bundle_id": bundle_id, "site": "S1", "subnet": "10.1.2.0/24", "outcomes": [outcome]}), encoding="utf-8")
    return path


def test_an_imported_scan_that_creates_a_device_raises_unrecorded_device_once(engine, province, tmp_path):
    from collectors import service

    result = service.import_bundle(engine, _bundle(tmp_path, "b-new"))
    with db.session_scope(engine) as s:
        created = s.execute(select(Device).where(Device.mgmt_ip == "10.1.2.77")).scalar_one()
    assert created.source == "discovered"
    (event,) = all_events(engine, "unrecorded_device")
    assert (event.device_id, event.site_id, event.scan_run_id) == (created.id, created.site_id, result.scan_run_id)
    assert event.key == f"unrecorded_device:device:{created.id}" and event.data["address"] == "10.1.2.77" and event.data["run_kind"] == "import-scan"
    service.import_bundle(engine, _bundle(tmp_path, "b-again"))  # the same device seen again: matched, no event
    assert len(all_events(engine, "unrecorded_device")) == 1


def test_an_imported_scan_where_every_device_failed_raises_run_failed(engine, province, tmp_path):
    from collectors import service

    result = service.import_bundle(engine, _bundle(tmp_path, "b-failed", failed=True))
    assert result.status == "failed"
    (event,) = all_events(engine, "run_failed")
    assert event.scan_run_id == result.scan_run_id and event.data["run_kind"] == "import-scan" and event.data["status"] == "failed"


def test_a_discovery_that_creates_a_device_or_fails_raises_its_event(engine, province, monkeypatch):
    from collectors import service
    from collectors.records import DeviceFacts, Target
    from collectors.runner import Outcome

    target = Target(address="10.1.2.88", site_code="S1", zone="internet")
    facts = DeviceFacts(address="10.1.2.88", source="snmp", sys_name="rogue-switch")
    monkeypatch.setattr(service, "discovery_targets", lambda *a, **k: ([target], {"subnets": ["10.1.2.0/24"], "hosts_found": 1}))
    monkeypatch.setattr(service, "run_sync", lambda targets, book, options=None: [Outcome(target, (facts,), None, ("snmp",), 5)])
    found = service.discover(engine, None, site="S1")
    (event,) = all_events(engine, "unrecorded_device")
    assert event.scan_run_id == found.scan_run_id and event.data["run_kind"] == "discover"

    def unreachable(*args, **kwargs):
        raise OSError("nmap not found")

    monkeypatch.setattr(service, "run_sync", unreachable)
    with pytest.raises(OSError):
        service.discover(engine, None, site="S1")
    (failed,) = all_events(engine, "run_failed")
    with db.session_scope(engine) as s:
        run = s.get(ScanRun, failed.scan_run_id)
    assert run.kind == "discover" and run.status == "error" and failed.data["error"] == "OSError: nmap not found"
