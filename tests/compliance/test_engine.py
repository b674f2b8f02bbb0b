"""Device, site and zone checks, and the life of findings (open, resolved, reopened, waived)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from compliance import engine
from compliance.checks import base as check_base
from compliance.checks.base import check
from compliance.engine import evaluate
from compliance.findings import WaiverError, sync_findings, waive
from compliance.policy import Policy, Rule, Text, load_policy
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
    summary = sync_findings(session, [v for v in _violations(session)], today=TODAY + timedelta(days=31), now=datetime.now(UTC))
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


# -- a check that raises: that subject is not evaluated for its rule, everything else runs ----


def _broken(subject, params):
    raise RuntimeError("broken on purpose")


@pytest.fixture
def registry(monkeypatch):
    """A private copy of the check registry: what a test registers there is gone after it."""
    monkeypatch.setattr(check_base, "_REGISTRY", dict(check_base._REGISTRY))
    return check_base._REGISTRY


def with_rule(policy: Policy, rule_id: str, applies_to: tuple[str, ...]) -> Policy:
    """`policy` with one more rule whose check is the registered check called `rule_id`."""
    rule = Rule(id=rule_id, title=Text(vi=rule_id, en=rule_id), severity="high", applies_to=applies_to, check=rule_id, source="test")
    return policy.model_copy(update={"baseline": policy.baseline.model_copy(update={"rules": (*policy.baseline.rules, rule)})})


def test_a_raising_check_leaves_its_subject_not_evaluated_and_the_other_rules_run(registry, caplog):
    check("test.broken", subject="device")(_broken)
    policy = with_rule(POLICY, "test.broken", ("laptop",))
    weak = laptop(facts=dict(laptop().facts) | {"host.cores": "2"})
    expected = evaluate([weak], [], POLICY).violations
    assert [v.rule_id for v in expected] == ["ep.cpu_cores"]

    with caplog.at_level(logging.ERROR, logger="compliance.engine"):
        result = evaluate([weak], [], policy)

    assert result.violations == expected
    assert result.failing_devices == {weak.id}
    assert result.check_errors == {"test.broken": 1}
    assert result.not_evaluated == {("test.broken", f"device:{weak.id}")}
    assert result.checks_run == evaluate([weak], [], POLICY).checks_run + 1
    [record] = [r for r in caplog.records if "test.broken" in r.getMessage()]
    assert record.levelno == logging.ERROR and "RuntimeError: broken on purpose" in record.getMessage()


def test_a_raising_site_check_leaves_only_that_site_rule_not_evaluated(registry):
    check("test.broken_site", subject="site")(_broken)
    policy = with_rule(POLICY, "test.broken_site", ("firewall",))
    bare = SiteSubject(2, "S2", {("party_wan", "bml"): 1, ("internet", "firewall"): 1})
    result = evaluate([], [bare], policy)
    assert {v.rule_id for v in result.violations} == {"site.firewall_per_zone", "site.switch_per_zone"}
    assert result.check_errors == {"test.broken_site": 1}
    assert result.not_evaluated == {("test.broken_site", "site:2:test.broken_site")}


@pytest.mark.parametrize("this_process_helps", [True, False])
def test_worker_processes_give_the_serial_results_in_order_with_the_errors(registry, monkeypatch, this_process_helps):
    check("test.broken", subject="device")(_broken)
    policy = with_rule(POLICY, "test.broken", ("laptop",))
    fleet = [
        laptop(id=i, facts=dict(laptop().facts) | {"host.cores": str(2 + 2 * (i % 2))}, purchase_date=date(2016 + i % 10, 1, 1), country_of_origin=("US", "CN", None)[i % 3])
        for i in range(1, 41)
    ]  # fmt: skip
    serial = evaluate(fleet, [], policy)
    monkeypatch.setattr(engine, "PARALLEL_MIN_DEVICES", 10)
    monkeypatch.setattr(engine, "_CHUNK", 3)
    monkeypatch.setattr(engine, "_workers", lambda: 3)
    if not this_process_helps:  # it takes no chunk: the workers do them all
        parent, take = os.getpid(), engine._take_chunk
        monkeypatch.setattr(engine, "_take_chunk", lambda counter, chunks: None if os.getpid() == parent else take(counter, chunks))
    parallel = evaluate(fleet, [], policy)
    assert len(serial.violations) > len(fleet) // 2
    assert parallel.violations == serial.violations
    assert (parallel.failing_devices, parallel.checks_run, parallel.devices) == (serial.failing_devices, serial.checks_run, serial.devices)
    assert parallel.check_errors == serial.check_errors == {"test.broken": 40}
    assert parallel.not_evaluated == serial.not_evaluated


@pytest.mark.db
def test_a_finding_whose_check_raised_stays_open(session, registry):
    ids = make_province(session)
    device = Device(device_class="laptop", site_id=ids["S1"]["site"], zone_id=ids["S1"]["internet"], serial="L3", status="broken", country_of_origin="US", mgmt_ip="10.1.2.9")
    session.add(device)
    session.commit()

    def check_now():
        return run_check(session.get_bind(), actor="test", today=TODAY, policy=POLICY)

    check_now()
    broken = session.execute(select(Finding).where(Finding.rule_id == "lc.broken")).scalar_one()
    assert broken.status == "open"

    device.status = "in_use"  # it would pass now, but its check raises: fail closed
    session.commit()
    name = POLICY.rule("lc.broken").check
    working = registry[name]
    registry[name] = dataclasses.replace(working, func=_broken, verdict=None)
    result = check_now()
    session.refresh(broken)
    assert broken.status == "open" and broken.resolved_at is None
    assert result["check_errors"] == {"lc.broken": 1} and result["resolved"] == 0

    registry[name] = working  # mended: the next run sees it pass
    result = check_now()
    session.refresh(broken)
    assert broken.status == "resolved" and result["resolved"] == 1 and "check_errors" not in result
