"""Device, site and zone checks, and the life of findings (open, resolved, reopened, waived)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from compliance.engine import evaluate
from compliance.findings import WaiverError, sync_findings, waive
from compliance.policy import load_policy
from compliance.service import run_check
from compliance.subjects import DeviceSubject, SiteSubject
from inventory.models import Device, DeviceMac, Finding, MacSighting, User
from tests.inventory.factories import make_province

POLICY = load_policy()
TODAY = date(2026, 11, 22)


def laptop(**overrides) -> DeviceSubject:
    facts = {
        "host.cores": "4", "host.ram_kb": str(8 * 1024 * 1024), "host.disks": json.dumps([["C:", 256 * 1024 * 1024]]),
        "host.software": json.dumps([["Bkav Pro Internet Security", (TODAY - timedelta(days=2)).isoformat()]]),
    }  # fmt: skip
    values = dict(
        id=1, device_class="laptop", site_id=1, zone="internet", status="in_use", today=TODAY, policy=POLICY,
        vendor="Dell", model="Latitude 3420", os_name="Windows 11 Pro", os_version="25H2", country_of_origin="US",
        purchase_date=date(2024, 3, 1), mgmt_ip="10.1.2.20", zone_subnets=("10.1.2.0/24",), facts=facts,
    )  # fmt: skip
    values.update(overrides)
    return DeviceSubject(**values)


def failures(subject: DeviceSubject) -> set[str]:
    return {v.rule_id for v in evaluate([subject], [], POLICY).violations}


def test_a_compliant_laptop_has_no_finding():
    assert failures(laptop()) == set()


@pytest.mark.parametrize(
    "overrides, rule",
    [
        ({"facts": {"host.cores": "2"}}, "ep.cpu_cores"),
        ({"facts": {"host.ram_kb": str(4 * 1024 * 1024)}}, "ep.ram"),
        ({"facts": {"host.disks": json.dumps([["C:", 128 * 1024 * 1024]])}}, "ep.disk"),
        ({"os_name": "Windows 10 Pro", "os_version": "22H2"}, "ep.os_supported"),
        ({"facts": {"host.software": json.dumps([["Foxit Reader", "2024-01-01"]])}}, "ep.av_present"),
        ({"facts": {"host.software": json.dumps([["Kaspersky Endpoint Security", "2026-10-01"]])}}, "ep.av_fresh"),
        ({"purchase_date": date(2020, 1, 1)}, "lc.service_life"),
        ({"status": "broken"}, "lc.broken"),
        ({"country_of_origin": "CN"}, "origin.allowed"),
        ({"country_of_origin": None}, "origin.allowed"),
        ({"mgmt_ip": "10.9.9.9"}, "zone.ip_in_subnet"),
        ({"zones_seen": frozenset({"party_wan", "internet"}), "seen_macs": ("02:00:00:00:00:01",)}, "zone.mac_both_zones"),
    ],
)
def test_each_rule_fails_on_its_own_fact(overrides, rule):
    base = laptop()
    if "facts" in overrides:
        overrides = overrides | {"facts": dict(base.facts) | overrides["facts"]}
    assert rule in failures(laptop(**overrides))


def test_unknown_facts_are_not_findings():
    bare = laptop(facts={}, purchase_date=None, os_name=None)
    assert failures(bare) == set()


def test_site_coverage():
    full = SiteSubject(1, "S1", {("party_wan", "firewall"): 1, ("internet", "firewall"): 1, ("party_wan", "access_switch"): 1, ("internet", "access_switch"): 1, ("party_wan", "bml"): 1})
    bare = SiteSubject(2, "S2", {("party_wan", "bml"): 1, ("internet", "firewall"): 1})
    result = evaluate([], [full, bare], POLICY)
    assert {(v.rule_id, v.site_id) for v in result.violations} == {("site.firewall_per_zone", 2), ("site.switch_per_zone", 2)}
    firewall = next(v for v in result.violations if v.rule_id == "site.firewall_per_zone")
    assert firewall.evidence == ("missing in party_wan",)


@pytest.mark.db
def test_findings_open_resolve_reopen_and_waive(session):
    ids = make_province(session)
    device = Device(device_class="laptop", site_id=ids["S1"]["site"], zone_id=ids["S1"]["internet"], serial="L1", status="broken", country_of_origin="US", mgmt_ip="10.1.2.9")
    officer = User(username="thu", password_hash="x", role="security_officer")
    planner = User(username="lan", password_hash="x", role="planner")
    session.add_all([device, officer, planner])
    session.commit()

    def check():
        return run_check(session.get_bind(), actor="test", today=TODAY, policy=POLICY)

    first = check()
    broken = session.execute(select(Finding).where(Finding.rule_id == "lc.broken")).scalar_one()
    assert first["opened"] >= 1 and broken.status == "open" and broken.actual == "broken"

    device.status = "in_use"
    session.commit()
    check()
    session.refresh(broken)
    assert broken.status == "resolved" and broken.resolved_at is not None  # kept, with its history

    device.status = "broken"
    session.commit()
    again = check()
    session.refresh(broken)
    assert broken.status == "open" and again["reopened"] == 1

    with pytest.raises(WaiverError, match="only a security officer"):
        waive(session, [broken.id], reason="spare part ordered", expires=TODAY + timedelta(days=30), user=planner, today=TODAY)
    with pytest.raises(WaiverError, match="reason"):
        waive(session, [broken.id], reason=" ", expires=TODAY + timedelta(days=30), user=officer, today=TODAY)
    with pytest.raises(WaiverError, match="future"):
        waive(session, [broken.id], reason="x", expires=TODAY, user=officer, today=TODAY)
    assert waive(session, [broken.id], reason="spare part ordered", expires=TODAY + timedelta(days=30), user=officer, today=TODAY) == 1
    session.commit()
    waived = check()
    session.refresh(broken)
    assert broken.status == "waived" and waived["waived"] == 1 and broken.waived_by == "thu"

    # An expired waiver opens the finding again.
    summary = sync_findings(session, [v for v in _violations(session)], today=TODAY + timedelta(days=31), now=datetime.now(timezone.utc))
    session.commit()
    session.refresh(broken)
    assert broken.status == "open" and summary.reopened >= 1


def _violations(session):
    from compliance.engine import evaluate_fleet

    return evaluate_fleet(session, POLICY, TODAY)[1].violations


@pytest.mark.db
def test_mac_seen_in_both_zones_is_critical(session):
    ids = make_province(session)
    laptop_row = Device(device_class="laptop", site_id=ids["S1"]["site"], zone_id=ids["S1"]["internet"], serial="L2", country_of_origin="US")
    session.add(laptop_row)
    session.flush()
    session.add(DeviceMac(device_id=laptop_row.id, mac="02:00:00:00:00:42"))
    for zone in ("internet", "party_wan"):
        session.add(MacSighting(mac="02:00:00:00:00:42", site_id=ids["S1"]["site"], zone_id=ids["S1"][zone], port="Gi1/0/5", source="fdb"))
    session.add(MacSighting(mac="02:00:00:00:00:99", site_id=ids["S1"]["site"], zone_id=ids["S1"]["internet"], port="Gi1/0/6", source="fdb"))
    session.add(MacSighting(mac="02:00:00:00:00:99", site_id=ids["S1"]["site"], zone_id=ids["S1"]["party_wan"], port="Gi1/0/7", source="fdb"))
    session.commit()
    violations = _violations(session)
    both = {(v.subject_key, v.severity) for v in violations if v.rule_id == "zone.mac_both_zones"}
    assert both == {(f"device:{laptop_row.id}", "critical"), (f"site:{ids['S1']['site']}:mac:02:00:00:00:00:99", "critical")}
    assert any(v.rule_id == "ep.one_zone" and v.device_id == laptop_row.id for v in violations)
