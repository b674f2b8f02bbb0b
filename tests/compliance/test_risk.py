"""Risk per unit to buy (compliance.risk): the parts add up to the total, each weight applies to
what it names, the weights are policy data (risk.yaml) validated like the other files, and the
units of a plan replace the devices that stop counting or fill the coverage that is missing."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from compliance.planner import build_plan
from compliance.policy import DEFAULT_POLICY_DIR, PolicyError, load_policy, shipped_policy
from compliance.risk import FACTORS, RISK_FLEET_COLUMNS, RiskFacts, build_units, unit_risk, years_past_service_life


@pytest.fixture(scope="module")
def weights():
    return shipped_policy().risk.weights


def test_every_factor_has_points_and_a_reason_in_both_languages(weights) -> None:
    for factor in FACTORS:
        w = getattr(weights, factor)
        assert w.points > 0 and w.reason.vi and w.reason.en


def test_parts_add_up_to_the_total_and_name_their_factor(weights) -> None:
    facts = RiskFacts("firewall", broken=True, years_past_life=2, out_of_support=True, critical_findings=1, high_findings=2,
                      zone_uncovered=True, state_unknown=True)  # fmt: skip
    risk = unit_risk(facts, weights)
    assert risk.total == sum(p.points for p in risk.parts)
    assert [p.factor for p in risk.parts] == ["broken", "past_service_life", "out_of_support", "critical_finding", "high_finding", "zone_uncovered", "unknown_state"]
    expected = (weights.broken.points + 2 * weights.past_service_life.points + weights.out_of_support.points + weights.critical_finding.points
                + 2 * weights.high_finding.points + weights.zone_uncovered.points + weights.unknown_state.points)  # fmt: skip
    assert risk.total == expected
    assert all(p.points == p.count * getattr(weights, p.factor).points for p in risk.parts)
    assert weights.zone_uncovered.reason.vi in risk.explain("vi") and weights.broken.reason.en in risk.explain("en")


def test_counted_factors_are_capped(weights) -> None:
    cap = weights.critical_finding.max_count
    risk = unit_risk(RiskFacts("laptop", critical_findings=cap + 7, years_past_life=40), weights)
    parts = {p.factor: p for p in risk.parts}
    assert parts["critical_finding"].count == cap
    assert parts["past_service_life"].count == weights.past_service_life.max_count


def test_class_bound_factors_apply_to_their_classes_only(weights) -> None:
    assert unit_risk(RiskFacts("tablet"), weights).total == weights.secret_documents.points
    assert unit_risk(RiskFacts("laptop"), weights).total == 0
    assert unit_risk(RiskFacts("laptop", zone_uncovered=True), weights).total == 0  # zones need firewalls and switches, not laptops
    assert unit_risk(RiskFacts("access_switch", zone_uncovered=True), weights).total == weights.zone_uncovered.points


def test_years_past_service_life() -> None:
    assert years_past_service_life(None, 5, date(2026, 1, 1)) == 0
    assert years_past_service_life(date(2022, 1, 1), 5, date(2026, 12, 31)) == 0
    assert years_past_service_life(date(2021, 12, 31), 5, date(2026, 12, 31)) == 1
    assert years_past_service_life(date(2020, 2, 29), 5, date(2025, 2, 28)) == 1  # 29 February ends on 28 February


# ------------------------------------------------------------------------------ policy data


def _policy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "policy"
    shutil.copytree(DEFAULT_POLICY_DIR, target)
    return target


def test_risk_yaml_is_validated_with_the_others(tmp_path: Path) -> None:
    directory = _policy_dir(tmp_path)
    text = (directory / "risk.yaml").read_text(encoding="utf-8")
    (directory / "risk.yaml").write_text(text.replace("  broken:\n    points: 40", "  brokn:\n    points: -1"), encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        load_policy(directory)
    messages = [str(issue) for issue in raised.value.issues]
    assert any("risk.yaml" in m and "weights.broken" in m for m in messages), messages  # missing
    assert any("risk.yaml" in m and "weights.brokn" in m for m in messages), messages  # unknown


def test_risk_yaml_missing_and_fingerprinted(tmp_path: Path) -> None:
    directory = _policy_dir(tmp_path)
    before = load_policy(directory).fingerprint
    path = directory / "risk.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("points: 40", "points: 41"), encoding="utf-8")
    changed = load_policy(directory)
    assert changed.risk.weights.broken.points == 41 and changed.fingerprint != before
    path.unlink()
    with pytest.raises(PolicyError, match="risk.yaml: file missing"):
        load_policy(directory)


# ------------------------------------------------------------------------------ units of a plan


def _fleet(rows: list[dict]) -> pd.DataFrame:
    defaults = {"hostname": None, "site_name": "Xã Một", "zone": "internet", "status": "in_use", "counts": True, "eol_year": pd.NA,
                "years_past_life": 0, "out_of_support": False, "critical": 0, "high": 0, "state": "compliant"}  # fmt: skip
    frame = pd.DataFrame([defaults | {"device_id": i + 1, "site_code": "S1"} | r for i, r in enumerate(rows)], columns=RISK_FLEET_COLUMNS)
    frame["eol_year"] = frame["eol_year"].astype("Int64")
    return frame


def test_units_replace_devices_that_stop_counting_and_fill_missing_coverage(weights) -> None:
    policy = shipped_policy()
    fleet = _fleet([
        {"device_class": "laptop", "hostname": "lt1", "counts": False, "status": "broken"},
        {"device_class": "laptop", "hostname": "lt2", "eol_year": 2027},  # stops counting in 2027
        {"device_class": "laptop", "hostname": "lt3"},  # counts throughout
        {"device_class": "laptop", "hostname": "lt4", "counts": False, "status": "in_stock"},  # a spare: not replaced
        {"device_class": "firewall", "hostname": "fw1", "zone": "party_wan"},  # the Party WAN zone is covered
    ])  # fmt: skip
    approved = pd.DataFrame([("S1", "laptop", 5), ("S1", "firewall", 2)], columns=["site_code", "device_class", "quantity"])
    plan = build_plan(fleet.assign(site_kind="commune"), approved, policy)
    units = build_units(fleet, plan, policy)
    laptops = [(u.replaces_hostname, u.available_year, u.risk.total) for u in units if u.device_class == "laptop"]
    # approved 5 - 1 counting in 2028 - 2 replacements = 2 missing units, from the first year
    assert sorted(laptops, key=str) == sorted([(None, 2026, 0), (None, 2026, 0), ("lt1", 2026, weights.broken.points), ("lt2", 2027, 0)], key=str)
    firewalls = [(u.replaces_hostname, u.risk.total) for u in units if u.device_class == "firewall"]
    assert firewalls == [(None, weights.zone_uncovered.points)]  # the Internet zone lacks one
