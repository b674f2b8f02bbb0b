"""What-if scenarios of the fundable plan (compliance/scenarios.py, inventory/scenarios.py):
a copy of the policy fits to the policy's own answer, edits change the plan, bad numbers are
refused in Vietnamese, and no scenario ever changes the policy or the plan derived from it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, select

from compliance import scenarios
from compliance.fundable import Need, fundable_from_inventory
from compliance.policy import DEFAULT_POLICY_DIR, policy_fingerprint, shipped_policy
from inventory.models import ApprovedQuantity, AuditLog, PlanScenario
from inventory.scenarios import ScenarioNameTaken, create_scenario, scenario_by_name, update_scenario
from tests.inventory.factories import make_province

TODAY = date(2026, 12, 1)


def province(session: Session) -> None:
    """S1: 5 laptops approved, none recorded; S2: 2 firewalls approved, none recorded."""
    sites = make_province(session, sites=2)
    session.add_all([
        ApprovedQuantity(site_id=sites["S1"]["site"], device_class="laptop", quantity=5),
        ApprovedQuantity(site_id=sites["S2"]["site"], device_class="firewall", quantity=2),
    ])  # fmt: skip
    session.commit()


def with_phasing(data: scenarios.ScenarioData, **by_year: float) -> scenarios.ScenarioData:
    phasing = dict(data.phasing) | {int(y.removeprefix("y")): v for y, v in by_year.items()}
    return scenarios.ScenarioData(phasing, data.prices, data.lines, data.targets)


def bought(plan, year: int) -> dict[tuple[str, str], int]:
    rows = plan.bought[plan.bought["year"] == year]
    return {(r.site_code, r.device_class): int(r.units) for r in rows.itertuples()}


def test_a_copy_of_the_policy_holds_its_numbers_and_round_trips_as_json() -> None:
    policy = shipped_policy()
    data = scenarios.from_policy(policy)
    assert data.phasing == {2026: 35000, 2027: 24700, 2028: 4300}
    assert data.lines == {"security_devices": 11341, "endpoints": 33394, "tablets": 1400}
    assert data.prices["laptop"] == 22 and "bml" not in data.prices
    assert data.targets["endpoints"] == {2026: 40, 2027: 80, 2028: 100}
    assert data.targets["network"] == {2026: 100, 2027: 100, 2028: 100}  # cumulative: 100 holds on
    assert scenarios.validate(data, policy) == []
    stored = json.loads(json.dumps(data.to_json()))
    assert scenarios.ScenarioData.from_json(stored) == data
    with pytest.raises(ValueError, match="malformed"):
        scenarios.ScenarioData.from_json({"phasing": {}})


def test_the_policy_copy_funds_as_the_policy() -> None:
    from compliance.fundable import funding_from_policy

    policy = shipped_policy()
    ours = scenarios.funding(scenarios.from_policy(policy), policy)
    theirs = funding_from_policy(policy, policy.schedule.years)
    assert (ours.year_money, ours.line_money, ours.line_of_class, ours.prices, ours.penalty_per_million) == (
        theirs.year_money, theirs.line_money, theirs.line_of_class, theirs.prices, theirs.penalty_per_million)  # fmt: skip


def test_scenario_targets_replace_the_policy_targets() -> None:
    policy = shipped_policy()
    data = scenarios.from_policy(policy)
    edited = scenarios.ScenarioData(data.phasing, data.prices, data.lines, {**data.targets, "endpoints": {2026: 10, 2027: 50, 2028: 90}})
    base = [Need("S1", "Xã 1", "laptop", 10, (0, 0, 0), (4, 8, 10)), Need("S1", "Xã 1", "firewall", 3, (0, 0, 0), (3, 3, 3))]
    got = scenarios.needs(base, edited, policy)
    assert got[0].target == (1, 5, 9)  # ceil(10 x 10%), ceil(10 x 50%), ceil(10 x 90%)
    assert got[1] == base[1]  # the network group kept its 100%


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda d: with_phasing(d, y2027=-1), "Vốn phân kỳ năm 2027: không được âm"),
        (lambda d: with_phasing(d, y2031=5), "Năm 2031 nằm ngoài kế hoạch (2026–2028)"),
        (lambda d: scenarios.ScenarioData(d.phasing, d.prices | {"laptop": -2}, d.lines, d.targets), "Đơn giá laptop: không được âm"),
        (lambda d: scenarios.ScenarioData(d.phasing, d.prices, d.lines | {"endpoints": float("nan")}, d.targets), "phải là một số"),
        (lambda d: scenarios.ScenarioData(d.phasing, d.prices, d.lines, d.targets | {"endpoints": {2026: 40, 2027: 120, 2028: 100}}), "tỷ lệ phải từ 0 đến 100%"),
        (lambda d: scenarios.ScenarioData(d.phasing, d.prices, d.lines, d.targets | {"endpoints": {2026: 40, 2027: 30, 2028: 100}}), "không được giảm (2026: 40%, 2027: 30%)"),
        (lambda d: scenarios.ScenarioData(d.phasing, d.prices, d.lines, d.targets | {"endpoints": {2026: 40, 2027: 80}}), "Thiếu chỉ tiêu «Thiết bị đầu cuối» năm 2028"),
    ],
)
def test_bad_numbers_are_refused_with_a_vietnamese_message(edit, words) -> None:
    policy = shipped_policy()
    problems = scenarios.validate(edit(scenarios.from_policy(policy)), policy)
    assert problems and any(words in p.vi for p in problems), [p.vi for p in problems]
    assert all(p.en for p in problems)


def test_names() -> None:
    assert scenarios.valid_name("  ").vi == "Cần đặt tên cho phương án."
    assert scenarios.valid_name("x" * 101) is not None and scenarios.valid_name("Giảm vốn 2027") is None


def _policy_files() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(Path(DEFAULT_POLICY_DIR).glob("*.yaml"))}


@pytest.mark.db
def test_scenarios_never_touch_the_policy_and_change_the_plan(engine) -> None:
    """Saving and editing scenarios writes the scenario table and the audit log, never the
    policy: its files, its fingerprint and the plan fitted to it stay as they were; the edited
    2027 phasing changes what 2027 buys (the same answer on every database the suite runs on)."""
    policy = shipped_policy()
    files, fingerprint = _policy_files(), policy_fingerprint()
    with Session(engine, expire_on_commit=False) as session:
        province(session)
        before = fundable_from_inventory(session, policy, TODAY)
        inputs = scenarios.fit_inputs(session, policy, TODAY)
        # Nothing in 2026 and 2028; 2027 buys what 44 million VND buys: two laptops at 22.
        lean = with_phasing(scenarios.from_policy(policy), y2026=0, y2027=44, y2028=0)
        assert scenarios.validate(lean, policy) == []
        row = create_scenario(session, "Vốn 2027 thấp", lean.to_json(), "test:planner")
        session.commit()
        with pytest.raises(ScenarioNameTaken):
            create_scenario(session, " Vốn 2027 thấp ", lean.to_json(), "test:planner")
        session.rollback()
        first = scenarios.fit_scenario(inputs, scenarios.ScenarioData.from_json(scenario_by_name(session, "Vốn 2027 thấp").data), policy)
        assert bought(first, 2026) == {} and sum(bought(first, 2027).values()) == 2
        # The planner raises 2027 to 160: two firewalls (80 each), riskier (an uncovered zone), go first.
        row = scenario_by_name(session, "Vốn 2027 thấp")
        assert update_scenario(session, row, with_phasing(lean, y2027=160).to_json(), "test:planner") is True
        assert update_scenario(session, row, row.data, "test:planner") is False  # nothing changed, nothing written
        session.commit()
        assert row.version == 2
        second = scenarios.fit_scenario(inputs, scenarios.ScenarioData.from_json(row.data), policy)
        assert bought(second, 2027) == {("S2", "firewall"): 2}
        entries = session.exec(select(AuditLog).where(AuditLog.entity == "plan_scenario").order_by(AuditLog.id)).all()
        assert [e.action for e in entries] == ["create", "update"]
        assert entries[1].before["data"]["phasing"]["2027"] == 44 and entries[1].after["data"]["phasing"]["2027"] == 160
        after = fundable_from_inventory(session, policy, TODAY)
        assert session.exec(select(PlanScenario)).one().name == "Vốn 2027 thấp"
    assert _policy_files() == files and policy_fingerprint() == fingerprint
    assert shipped_policy().budget.plan("db_2026_2030").phasing == {2026: 35000, 2027: 24700, 2028: 4300}
    for name in ("bought", "deferred", "missed", "spend", "money"):
        assert getattr(after, name).equals(getattr(before, name)), name
    # The policy's own copy, fitted, is the policy's answer.
    policy_copy = scenarios.fit_scenario(inputs, None, policy)
    assert policy_copy.bought.equals(before.bought) and policy_copy.money.equals(before.money)


@pytest.mark.db
def test_plan_fit_scenario_command(kiemke_env, engine) -> None:
    from click.testing import CliRunner

    from web.main import main

    policy = shipped_policy()
    with Session(engine, expire_on_commit=False) as session:
        province(session)
        create_scenario(session, "ít vốn", with_phasing(scenarios.from_policy(policy), y2026=0, y2027=44, y2028=0).to_json(), "test")
        session.commit()
    runner = CliRunner()
    result = runner.invoke(main, ["plan", "--fit", "--scenario", "ít vốn", "--year", "2027", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert [(b["site_code"], b["device_class"], b["units"]) for b in out["bought"]] == [("S1", "laptop", 2)]
    assert out["money"][0]["money"] == 44
    missing = runner.invoke(main, ["plan", "--fit", "--scenario", "không có"])
    assert missing.exit_code != 0 and "no scenario named" in missing.output and "ít vốn" in missing.output
    alone = runner.invoke(main, ["plan", "--scenario", "ít vốn"])
    assert alone.exit_code != 0 and "--scenario needs --fit" in alone.output
