"""Scoped evaluation (compliance.evaluation.evaluate_scope): only the scope's findings move, the
run is recorded, a failure changes nothing but its run record, evaluations run one at a time."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
from datetime import date

import pytest
from sqlalchemy import select

from compliance import evaluation
from compliance.checks import base as check_base
from compliance.engine import evaluate_fleet, resolve_scope
from compliance.evaluation import evaluate_scope
from compliance.policy import load_policy
from inventory import db
from inventory.models import Device, DeviceMac, Finding, MacSighting, ScanRun
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db

POLICY = load_policy()
TODAY = date(2026, 11, 22)


def _broken(subject, params):
    raise RuntimeError("broken on purpose")


@pytest.fixture
def registry(monkeypatch):
    """A private copy of the check registry: what a test changes there is gone after it."""
    monkeypatch.setattr(check_base, "_REGISTRY", dict(check_base._REGISTRY))
    return check_base._REGISTRY


@pytest.fixture
def fleet(session):
    """Two sites, each with a laptop of a disallowed origin, a compliant-origin laptop, a broken
    printer, no firewall (a site rule fails) and an unrecorded MAC seen in both zones."""
    ids = make_province(session)
    devices = {}
    for code in ("S1", "S2"):
        site = ids[code]
        n = code[-1]
        for name, values in {
            "cn": {"device_class": "laptop", "country_of_origin": "CN", "mgmt_ip": f"10.{n}.2.10"},
            "us": {"device_class": "laptop", "country_of_origin": "US", "mgmt_ip": f"10.{n}.2.11"},
            "broken": {"device_class": "printer", "country_of_origin": "JP", "status": "broken", "mgmt_ip": f"10.{n}.2.12"},
        }.items():
            device = Device(site_id=site["site"], zone_id=site["internet"], serial=f"{code}-{name}", purchase_date=date(2025, 1, 1), **values)
            session.add(device)
            session.flush()
            devices[f"{code}-{name}"] = device
        for zone in ("party_wan", "internet"):
            session.add(MacSighting(mac=f"02:00:00:00:00:0{n}", site_id=site["site"], zone_id=site[zone], source="fdb", port="Gi0/1"))
    session.add(DeviceMac(device_id=devices["S1-us"].id, mac="02:00:00:00:aa:01"))
    session.commit()
    return ids, devices


def open_findings(session, site_id: int | None = None) -> set[tuple[str, str]]:
    query = select(Finding.rule_id, Finding.subject_key).where(Finding.status == "open")
    if site_id is not None:
        query = query.where(Finding.site_id == site_id)
    session.expire_all()
    return set(session.execute(query).all())


def run(engine, **scope) -> dict:
    return evaluate_scope(engine, trigger="test", actor="tester", today=TODAY, policy=POLICY, **scope)


def test_a_site_evaluation_equals_the_full_one_for_that_site_and_leaves_the_other_sites(engine, session, fleet):
    ids, devices = fleet
    s1, s2 = ids["S1"]["site"], ids["S2"]["site"]
    assert run(engine)["status"] == "ok"
    before_s2 = open_findings(session, s2)
    assert ("origin.allowed", f"device:{devices['S2-cn'].id}") in before_s2
    assert ("zone.mac_both_zones", f"site:{s2}:mac:02:00:00:00:00:02") in before_s2

    for code in ("S1", "S2"):  # both sites mended; only S1 is evaluated
        devices[f"{code}-cn"].country_of_origin = "VN"
        devices[f"{code}-broken"].status = "in_use"
    session.add(DeviceMac(device_id=devices["S1-us"].id, mac="02:00:00:00:00:01"))
    session.commit()
    result = run(engine, site_ids=[s1])

    assert result["status"] == "ok" and result["devices"] == 3 and result["sites"] == 1
    assert result["resolved"] == 3  # origin, broken, the orphan MAC (now owned)
    with db.session_scope(engine) as fresh:
        scope = resolve_scope(fresh, None, [s1])
        _, full = evaluate_fleet(fresh, POLICY, TODAY)
        _, scoped = evaluate_fleet(fresh, POLICY, TODAY, scope)
    in_s1 = {(v.rule_id, v.subject_key) for v in full.violations if v.site_id == s1}
    assert {(v.rule_id, v.subject_key) for v in scoped.violations} == in_s1
    assert open_findings(session, s1) == in_s1
    assert open_findings(session, s2) == before_s2  # mended too, but outside the scope: still open


def test_a_device_scope_brings_its_sites_rules_but_not_its_neighbours(engine, session, fleet):
    ids, devices = fleet
    s1 = ids["S1"]["site"]
    result = run(engine, device_ids=[devices["S1-us"].id])
    assert (result["devices"], result["sites"]) == (1, 1)
    keys = {key for _, key in open_findings(session)}
    assert {f"site:{s1}:site.firewall_per_zone", f"site:{s1}:mac:02:00:00:00:00:01"} <= keys
    assert all(key.startswith(f"site:{s1}:") for key in keys)  # the laptop passes; no neighbour, no other site
    found = open_findings(session)
    assert ("origin.allowed", f"device:{devices['S1-cn'].id}") not in found  # a neighbour: not evaluated


def test_a_disposed_device_in_scope_has_its_findings_resolved(engine, session, fleet):
    _, devices = fleet
    run(engine)
    devices["S1-cn"].status = "disposed"
    session.commit()
    result = run(engine, device_ids=[devices["S1-cn"].id])
    assert result["resolved"] == 1
    assert not any(key == f"device:{devices['S1-cn'].id}" for _, key in open_findings(session))


def test_a_rule_whose_check_raises_keeps_its_finding_in_a_scoped_run(engine, session, fleet, registry):
    ids, devices = fleet
    run(engine)
    devices["S1-cn"].country_of_origin = "VN"
    session.commit()
    name = POLICY.rule("origin.allowed").check
    registry[name] = dataclasses.replace(registry[name], func=_broken, verdict=None)
    result = run(engine, site_ids=[ids["S1"]["site"]])
    assert result["check_errors"] == {"origin.allowed": 3}
    assert ("origin.allowed", f"device:{devices['S1-cn'].id}") in open_findings(session)
    with db.session_scope(engine) as fresh:
        recorded = fresh.get(ScanRun, result["run_id"])
        assert recorded.summary["not_evaluated"] == 3 and recorded.summary["check_errors"] == {"origin.allowed": 3}


def test_each_evaluation_is_recorded_as_a_run_with_its_counts(engine, session, fleet):
    ids, devices = fleet
    steps: list[tuple[int, int]] = []
    first = run(engine, progress=lambda done, total: steps.append((done, total)))
    assert steps == [(0, 6), (6, 6)]
    devices["S1-cn"].country_of_origin = "VN"
    session.commit()
    second = run(engine, site_ids=[ids["S1"]["site"]])
    with db.session_scope(engine) as fresh:
        runs = fresh.execute(select(ScanRun).where(ScanRun.kind == "evaluate").order_by(ScanRun.id)).scalars().all()
    assert [r.id for r in runs] == [first["run_id"], second["run_id"]]
    whole, site = runs
    assert whole.status == site.status == "ok" and whole.finished_at and whole.triggered_by == "tester"
    assert whole.params["trigger"] == "test" and whole.params["scope"] == {"fleet": True, "devices": None, "sites": []}
    assert site.params["scope"] == {"fleet": False, "devices": None, "sites": ["S1"]} and site.site_id == ids["S1"]["site"]
    assert whole.summary["new"] == first["opened"] > 0 and whole.summary["devices"] == 6
    assert site.summary["resolved"] == 1 and site.summary["new"] == 0 and site.summary["devices"] == 3
    assert site.summary["still_open"] == second["still_open"] and "seconds" in site.summary
    assert second["scope"] == site.params["scope"] and "owner" in site.params


def test_a_failing_evaluation_leaves_the_findings_and_records_the_failed_run(engine, session, fleet, monkeypatch):
    _, devices = fleet
    run(engine)
    before = open_findings(session)
    devices["S1-cn"].country_of_origin = "VN"  # would resolve a finding, had the run finished
    session.commit()

    def fails_after_the_findings_were_synced(*args, **kwargs):
        raise RuntimeError("disk gone\nsecond line")

    monkeypatch.setattr(evaluation, "write_states", fails_after_the_findings_were_synced)
    result = run(engine)
    assert result["status"] == "failed" and result["error"] == "RuntimeError: disk gone second line"
    assert open_findings(session) == before
    with db.session_scope(engine) as fresh:
        failed = fresh.get(ScanRun, result["run_id"])
        assert failed.status == "failed" and failed.error == result["error"] and failed.finished_at is not None


def test_two_concurrent_evaluations_both_finish_one_after_the_other(engine, session, fleet):
    ids, _ = fleet
    results: list[dict] = []
    threads = [threading.Thread(target=lambda scope=scope: results.append(run(engine, **scope))) for scope in ({}, {"site_ids": [ids["S2"]["site"]]})]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [r["status"] for r in results] == ["ok", "ok"]
    with db.session_scope(engine) as fresh:
        first, second = fresh.execute(select(ScanRun).where(ScanRun.kind == "evaluate").order_by(ScanRun.started_at)).scalars().all()
    assert first.finished_at <= second.started_at  # serialized, not interleaved


def test_an_evaluation_waits_for_another_process_longer_than_the_busy_timeout(engine, db_url, fleet):
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite only: PostgreSQL's row lock waits without a timeout")
    impatient = db.make_engine(db_url, busy_timeout=0.3)  # the same wait, with a short busy timeout
    other = sqlite3.connect(db_url.removeprefix("sqlite:///"), check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process's long write (a full evaluation)
    holding = 1.5
    threading.Timer(holding, other.commit).start()
    started = time.monotonic()
    try:
        result = evaluate_scope(impatient, trigger="test", actor="tester", today=TODAY, policy=POLICY)
    finally:
        impatient.dispose()
    assert result["status"] == "ok"
    assert time.monotonic() - started >= holding - 0.1
    other.close()


def test_a_pass_on_a_config_with_lines_the_rule_reads_but_the_parser_did_not_understand_keeps_the_finding(engine, session):
    from compliance.state import device_state
    from inventory.models import ConfigSnapshot

    ids = make_province(session, sites=1)
    switch = Device(device_class="access_switch", site_id=ids["S1"]["site"], zone_id=ids["S1"]["party_wan"], serial="SW", vendor="Cisco", mgmt_ip="10.1.1.2")
    session.add(switch)
    session.flush()
    session.add(ConfigSnapshot(device_id=switch.id, sha256="1" * 64, text="hostname sw\nntp server 10.0.0.1\n"))
    session.commit()
    run(engine, device_ids=[switch.id])
    ntp = ("net.ntp_two_servers", f"device:{switch.id}")
    assert ntp in open_findings(session)

    # Two servers now, and a third line the parser cannot read: what was left passes, the rest might not.
    session.add(ConfigSnapshot(device_id=switch.id, sha256="2" * 64, text="hostname sw\nno ip http server\nntp server 10.0.0.1\nntp server 10.0.0.2\nntp server vrf MGMT\n"))
    session.commit()
    result = run(engine, device_ids=[switch.id])
    assert ntp in open_findings(session) and "check_errors" not in result
    reasons = device_state(session, switch.id)["reasons"]
    assert "not evaluated: net.ntp_two_servers: configuration lines it reads were not understood" in reasons

    session.add(ConfigSnapshot(device_id=switch.id, sha256="3" * 64, text="hostname sw\nntp server 10.0.0.1\nntp server 10.0.0.2\n"))
    session.commit()
    run(engine, device_ids=[switch.id])
    assert ntp not in open_findings(session)  # read whole: it passes


def test_an_unknown_site_or_device_is_an_empty_scope_not_an_error(engine, session, fleet):
    run(engine)
    before = open_findings(session)
    result = run(engine, site_ids=[9999], device_ids=[8888])
    assert result["status"] == "ok" and (result["devices"], result["sites"]) == (0, 0)
    assert result["scope"] == {"fleet": False, "devices": 1, "sites": []}
    assert open_findings(session) == before
