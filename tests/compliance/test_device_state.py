"""A device's compliance state: compliant, non_compliant or unknown with its reasons (the pure
rules of compliance/state.py, and what an evaluation stores on hand-built fleets)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from compliance.checks import base as check_base
from compliance.evaluation import evaluate_scope
from compliance.policy import load_policy
from compliance.state import COMPLIANT, NEVER_REACHED, NO_PARSER, NON_COMPLIANT, NOT_COLLECTED, UNKNOWN, DeviceEvidence, decide, device_state, state_shares
from inventory.models import ConfigSnapshot, Device, DeviceCompliance, Observation, utcnow
from tests.inventory.factories import make_province

POLICY = load_policy()
NOW = utcnow()
LIMIT = 7


def state_of(**values) -> tuple[str, list[str]]:
    return decide(DeviceEvidence(**values), now=NOW, freshness_days=LIMIT)


def test_fresh_data_and_every_rule_passed_is_compliant():
    assert state_of(last_seen=NOW - timedelta(days=1), reachable=True) == (COMPLIANT, [])


def test_data_older_than_the_limit_is_unknown_stale():
    state, reasons = state_of(last_seen=NOW - timedelta(days=LIMIT + 1), reachable=True)
    assert state == UNKNOWN and reasons == [f"stale: last collected {(NOW - timedelta(days=LIMIT + 1)).date()}, older than 7 days"]


def test_never_collected_and_never_reached_are_unknown():
    assert state_of(last_seen=None, reachable=None) == (UNKNOWN, [NOT_COLLECTED])
    assert state_of(last_seen=None, reachable=False) == (UNKNOWN, [NEVER_REACHED])


def test_a_failed_rule_is_non_compliant_whatever_else_is_missing():
    state, reasons = state_of(last_seen=None, reachable=None, failed_rules=("origin.allowed",))
    assert state == NON_COMPLIANT and reasons == ["failed: origin.allowed", NOT_COLLECTED]


def test_config_rules_without_a_parser_or_a_configuration_are_unknown():
    fresh = NOW - timedelta(hours=1)
    assert state_of(last_seen=fresh, reachable=True, config_rules=("net.telnet_off",), platform=None) == (UNKNOWN, [NO_PARSER])
    assert state_of(last_seen=fresh, reachable=True, config_rules=("net.telnet_off",), platform="huawei") == (UNKNOWN, [NO_PARSER])
    assert state_of(last_seen=fresh, reachable=True, config_rules=("net.telnet_off", "net.ssh_v2_only"), platform="cisco_ios") == (
        UNKNOWN,
        ["not evaluated: net.telnet_off, net.ssh_v2_only: no configuration collected"],
    )
    old = NOW - timedelta(days=30)
    state, reasons = state_of(last_seen=fresh, reachable=True, config_rules=("net.telnet_off",), platform="cisco_ios", config_taken_at=old)
    assert state == UNKNOWN and reasons[0].startswith("stale: configuration from")
    assert state_of(last_seen=fresh, reachable=True, config_rules=("net.telnet_off",), platform="cisco_ios", config_taken_at=fresh) == (COMPLIANT, [])


def test_a_rule_not_evaluated_makes_it_unknown():
    fresh = NOW - timedelta(hours=1)
    assert state_of(last_seen=fresh, reachable=True, errored_rules=("lc.broken",)) == (UNKNOWN, ["not evaluated: lc.broken: its check failed"])
    assert state_of(last_seen=fresh, reachable=True, fact_rules=("ep.ram",), has_host_facts=False) == (UNKNOWN, ["not evaluated: ep.ram: host facts not collected"])


# -- stored by an evaluation, read back by the queries the web uses -------------------------------


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(check_base, "_REGISTRY", dict(check_base._REGISTRY))
    return check_base._REGISTRY


def _raises(subject, params):
    raise RuntimeError("broken on purpose")


@pytest.mark.db
def test_an_evaluation_stores_each_devices_state_and_the_shares_count_unknown_apart(engine, session, registry):
    today = date.today()
    ids = make_province(session)
    s1, s2 = ids["S1"], ids["S2"]
    fresh, stale = utcnow() - timedelta(hours=2), utcnow() - timedelta(days=30)

    addresses = iter(range(10, 200))

    def laptop(name: str, **values) -> Device:
        base = {"device_class": "laptop", "site_id": s1["site"], "zone_id": s1["internet"], "serial": name, "country_of_origin": "US",
                "purchase_date": today - timedelta(days=300), "os_name": "Windows 11 Pro", "os_version": "25H2", "mgmt_ip": f"10.1.2.{next(addresses)}",
                "last_seen": fresh, "reachable": True}  # fmt: skip
        return Device(**(base | values))

    devices = {
        "ok": laptop("ok"),
        "stale": laptop("stale", last_seen=stale),
        "imported": laptop("imported", last_seen=None, reachable=None),
        "unreached": laptop("unreached", last_seen=None, reachable=False),
        "failing": laptop("failing", country_of_origin="CN"),
        "errored": laptop("errored"),
        "no_parser": Device(
            device_class="firewall",
            site_id=s2["site"],
            zone_id=s2["party_wan"],
            serial="fw",
            vendor="Huawei",
            last_seen=fresh,
            reachable=True,
            country_of_origin="US",
            purchase_date=today - timedelta(days=300),
        ),  # fmt: skip
        "switch": Device(
            device_class="access_switch",
            site_id=s2["site"],
            zone_id=s2["party_wan"],
            serial="sw",
            vendor="Cisco",
            last_seen=fresh,
            reachable=True,
            country_of_origin="US",
            purchase_date=today - timedelta(days=300),
        ),  # fmt: skip
    }
    session.add_all(devices.values())
    session.flush()
    host_facts = {
        "host.cores": "4", "host.ram_kb": str(16 * 1024 * 1024), "host.disks": json.dumps([["C:", 512 * 1024 * 1024, "SSD"]]),
        "host.software": json.dumps([["Bkav Pro Internet Security", (today - timedelta(days=1)).isoformat()]]),
        "host.disk_encryption": "on", "host.tpm_version": "2.0", "host.secure_boot": "enabled",
    }  # fmt: skip
    for name in ("ok", "stale", "imported", "unreached", "failing", "errored"):
        session.add_all(Observation(device_id=devices[name].id, source="agent", key=key, value=value) for key, value in host_facts.items())
    session.commit()
    name = POLICY.rule("lc.broken").check
    working = registry[name]

    def raises_on_one(subject, params):
        return _raises(subject, params) if subject.id == devices["errored"].id else working.func(subject, params)

    registry[name] = dataclasses.replace(working, func=raises_on_one, verdict=None)

    result = evaluate_scope(engine, trigger="test", actor="tester", policy=POLICY)
    assert result["status"] == "ok"

    def state(key: str) -> dict:
        found = device_state(session, devices[key].id)
        assert found is not None
        return found

    assert state("ok")["state"] == COMPLIANT and state("ok")["reasons"] == [], state("ok")
    assert state("stale")["state"] == UNKNOWN and state("stale")["reasons"][0].startswith("stale: last collected")
    assert state("imported")["reasons"] == [NOT_COLLECTED] and state("imported")["data_as_of"] is None
    assert state("unreached")["reasons"] == [NEVER_REACHED]
    assert state("failing") | {"evaluated_at": None, "data_as_of": None} == {
        "state": NON_COMPLIANT, "reasons": ["failed: origin.allowed"], "failed_rules": 1, "evaluated_at": None, "data_as_of": None,
    }  # fmt: skip
    assert state("errored")["state"] == UNKNOWN and state("errored")["reasons"] == ["not evaluated: lc.broken: its check failed"]
    assert state("no_parser")["reasons"] == [NO_PARSER]
    assert state("switch")["state"] == UNKNOWN and "no configuration collected" in state("switch")["reasons"][0]

    shares = state_shares(session)
    assert shares[s1["site"]] == {COMPLIANT: 1, NON_COMPLIANT: 1, UNKNOWN: 4}
    assert shares[s2["site"]] == {COMPLIANT: 0, NON_COMPLIANT: 0, UNKNOWN: 2}

    # A device added since counts as unknown until evaluated; a site-scoped run updates only its site.
    session.add(ConfigSnapshot(device_id=devices["switch"].id, sha256="0" * 64, text="hostname sw\n"))
    session.add(laptop("new-one", mgmt_ip="10.1.2.99"))
    session.commit()
    assert state_shares(session, [s1["site"]]) == {s1["site"]: {COMPLIANT: 1, NON_COMPLIANT: 1, UNKNOWN: 5}}
    before = state("ok")["evaluated_at"]
    evaluate_scope(engine, site_ids=[s2["site"]], trigger="test", actor="tester", policy=POLICY)
    assert state("ok")["evaluated_at"] == before
    assert state("switch")["state"] == NON_COMPLIANT  # its configuration was read: a bare one fails

    # Evaluated again, nothing changed: the rows stay (their evaluated_at moves on).
    stored = dict(session.execute(select(DeviceCompliance.device_id, DeviceCompliance.id)).all())
    evaluate_scope(engine, trigger="test", actor="tester", policy=POLICY)
    session.expire_all()
    assert state("ok")["evaluated_at"] > before and state("ok")["state"] == COMPLIANT
    again = dict(session.execute(select(DeviceCompliance.device_id, DeviceCompliance.id)).all())
    assert {k: v for k, v in again.items() if k in stored} == stored and len(again) == len(stored) + 1  # + the new laptop
    devices["stale"].status = "disposed"
    session.commit()
    evaluate_scope(engine, device_ids=[devices["stale"].id], trigger="test", actor="tester", policy=POLICY)
    assert device_state(session, devices["stale"].id) is None  # disposed: counted nowhere
    assert device_state(session, 10_000) is None


@pytest.mark.db
def test_host_facts_that_leave_a_rule_unanswered_make_the_device_unknown(engine, session):
    """An agent that reports CPU, memory and disks but not the disk type, nor TPM: those rules
    are not evaluated, so the device is unknown with that reason, never compliant."""
    from web.labels import compliance_reason

    ids = make_province(session)["S1"]
    laptop = Device(device_class="laptop", site_id=ids["site"], zone_id=ids["internet"], serial="partial", country_of_origin="US",
                    purchase_date=date.today() - timedelta(days=300), os_name="Windows 11 Pro", os_version="25H2", mgmt_ip="10.1.2.7",
                    last_seen=utcnow(), reachable=True)  # fmt: skip
    session.add(laptop)
    session.flush()
    facts = {
        "host.cores": "8", "host.ram_kb": str(16 * 1024 * 1024), "host.disks": json.dumps([["Disk 0", 512 * 1024 * 1024, None]]),
        "host.software": json.dumps([["Bkav Pro Internet Security", date.today().isoformat()]]), "host.disk_encryption": "on",
    }  # fmt: skip
    session.add_all(Observation(device_id=laptop.id, source="agent", key=key, value=value) for key, value in facts.items())
    session.commit()

    evaluate_scope(engine, trigger="test", actor="tester", policy=POLICY)
    found = device_state(session, laptop.id)
    assert found["state"] == UNKNOWN and found["failed_rules"] == 0
    assert found["reasons"] == ["not evaluated: ep.disk, ep.tpm_secure_boot: the host facts it reads were not reported"]
    assert compliance_reason(found["reasons"][0]) == "Chưa đánh giá ep.disk, ep.tpm_secure_boot: máy chưa báo thông tin mà quy tắc cần đọc"

    # The technician's checklist fills in TPM and Secure Boot, and the disk is reported as an SSD: compliant.
    session.add_all([
        Observation(device_id=laptop.id, source="import", key="host.tpm_version", value="2.0"),
        Observation(device_id=laptop.id, source="import", key="host.secure_boot", value="enabled"),
        Observation(device_id=laptop.id, source="agent", key="host.disks", value=json.dumps([["Disk 0", 512 * 1024 * 1024, "SSD"]])),
    ])  # fmt: skip
    session.commit()
    evaluate_scope(engine, trigger="test", actor="tester", policy=POLICY)
    session.expire_all()
    assert device_state(session, laptop.id)["state"] == COMPLIANT


@pytest.mark.parametrize(("value", "fails"), [(7, False), (1, False), (0, True), (-3, True), (400, True), ("a week", True)])
def test_the_freshness_limit_is_validated(tmp_path, value, fails):
    import shutil

    import yaml

    from compliance.policy import DEFAULT_POLICY_DIR, PolicyError

    directory = tmp_path / "policy"
    shutil.copytree(DEFAULT_POLICY_DIR, directory)
    baseline = directory / "baseline.yaml"
    data = yaml.safe_load(baseline.read_text(encoding="utf-8"))
    data["freshness_days"] = value
    baseline.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    if not fails:
        assert load_policy(directory).baseline.freshness_days == value
        return
    with pytest.raises(PolicyError) as info:
        load_policy(directory)
    [issue] = [str(i) for i in info.value.issues]
    assert issue.startswith("baseline.yaml") and "freshness_days" in issue, issue


def test_the_shipped_policy_keeps_a_week():
    assert POLICY.baseline.freshness_days == 7
