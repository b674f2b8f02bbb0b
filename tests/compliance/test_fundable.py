"""The fundable plan (compliance.fundable): small provinces whose optimum is worked out by hand
and by trying every choice, constraint cases (no money in a year, a line without money, targets
out of reach, approvals that cap a class, carry-over) and one plan from a real database (SQLite
and PostgreSQL give the same answer)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session

from compliance.fundable import APPROVAL, BUDGET, LINE, Funding, Need, fit, fundable_from_inventory
from compliance.policy import Text, shipped_policy
from compliance.risk import RiskPart, UnitRisk, UnitToBuy
from inventory.models import ApprovedQuantity, Device, Finding
from tests.inventory.factories import make_province

YEARS = (2026, 2027)
PRICES = {"firewall": 80.0, "laptop": 22.0, "printer": 8.0, "tablet": 35.0}
LINES = {"firewall": "security_devices", "laptop": "endpoints", "printer": "endpoints", "tablet": "tablets"}
_ids = itertools.count(1)


def unit(site: str, cls: str, risk: int, first: int = 2026) -> UnitToBuy:
    parts = (RiskPart("broken", 1, risk, Text(vi="hỏng", en="broken")),) if risk else ()
    n = next(_ids)
    return UnitToBuy(site, f"Xã {site}", cls, first, UnitRisk(risk, parts), n, f"dev{n}")


def need(site: str, cls: str, approved: int, counting=(0, 0), target=(0, 0)) -> Need:
    return Need(site, f"Xã {site}", cls, approved, tuple(counting), tuple(target))


def funding(year_money, line_money=None, *, years=YEARS, prices=PRICES, penalty=1000.0, line_year_money=None) -> Funding:
    return Funding(
        years=years, year_money=year_money, line_money=line_money or {"security_devices": 1e6, "endpoints": 1e6, "tablets": 1e6},
        line_of_class=LINES, prices=prices, penalty_per_million=penalty, line_year_money=line_year_money or {},
    )  # fmt: skip


def bought(plan, site=None, cls=None) -> dict[int, int]:
    """year -> units bought (of a site and class when given)."""
    rows = plan.bought
    if site:
        rows = rows[rows["site_code"] == site]
    if cls:
        rows = rows[rows["device_class"] == cls]
    return {int(y): int(n) for y, n in rows.groupby("year")["units"].sum().items()}


# ------------------------------------------------------------------------------ brute force


def objective(units, needs, f: Funding, years_of: dict[int, int | None]) -> float | None:
    """The model's objective for one choice (None when it breaks a constraint), written
    independently of the solver's matrix."""
    years = f.years
    left = {y: len(years) - i for i, y in enumerate(years)}
    need_of = {(n.site_code, n.device_class): n for n in needs}
    value, spent_by = 0.0, 0.0
    line_spent: dict[str, float] = {}
    for i, y in enumerate(years):
        spend_y = sum(f.prices[u.device_class] for u in units if years_of[id(u)] == y)
        spent_by += spend_y
        if spent_by > sum(f.year_money.get(z, 0) for z in years[: i + 1]) + 1e-9:
            return None
        for key, n in need_of.items():
            have = sum(1 for u in units if (u.site_code, u.device_class) == key and years_of[id(u)] is not None and years_of[id(u)] <= y)
            if have > max(0, n.approved - n.counting[i]):
                return None
            value -= f.penalty_per_million * f.prices[key[1]] * max(0, n.target[i] - n.counting[i] - have)
    for u in units:
        if years_of[id(u)] is not None:
            line = f.line_of_class[u.device_class]
            line_spent[line] = line_spent.get(line, 0) + f.prices[u.device_class]
            value += u.risk.total * left[years_of[id(u)]]
    if any(line_spent.get(line, 0) > amount + 1e-9 for line, amount in f.line_money.items()):
        return None
    return value


def brute_force(units, needs, f: Funding) -> float:
    best = None
    options = [[None, *(y for y in f.years if y >= u.available_year)] for u in units]
    for choice in itertools.product(*options):
        value = objective(units, needs, f, {id(u): y for u, y in zip(units, choice, strict=True)})
        if value is not None and (best is None or value > best):
            best = value
    assert best is not None
    return best


def solver_value(plan, units, needs, f: Funding) -> float:
    year_of = {}
    rows = plan.units
    # Rebuild the solver's choice per unit from its rows (replaces is the unit's hostname).
    for u in units:
        row = rows[rows["replaces"] == u.replaces_hostname]
        year_of[id(u)] = None if row.empty or row["bought_year"].isna().iloc[0] else int(row["bought_year"].iloc[0])
    value = objective(units, needs, f, year_of)
    assert value is not None, "the solver's answer breaks a constraint"
    return value


# ------------------------------------------------------------------------------ worked by hand


def test_hand_optimum_beats_the_greedy_order() -> None:
    """100 million, one year. A firewall for a bare zone (80, risk 70) against a laptop (30, risk
    30): per million the laptop comes first (1.0 > 0.875), and then the firewall no longer fits.
    The best buy is the firewall alone: 70 risk against 30."""
    units = [unit("S1", "firewall", 70), unit("S1", "laptop", 30)]
    needs = [need("S1", "firewall", 1, (0,), (0,)), need("S1", "laptop", 1, (0,), (0,))]
    f = funding({2026: 100.0}, years=(2026,), prices={"firewall": 80.0, "laptop": 30.0})
    plan = fit(units, needs, f)
    assert plan.status == "optimal"
    assert bought(plan) == {2026: 1} and bought(plan, cls="firewall") == {2026: 1}
    assert plan.risk_years == 70 and plan.greedy_risk_years == 30
    assert list(plan.greedy["device_class"]) == ["laptop", "firewall"]
    assert plan.money.to_dict("records") == [{"year": 2026, "money": 100.0, "available": 100.0, "spent": 80.0, "carried_over": 20.0}]
    deferred = plan.deferred.to_dict("records")
    assert [(d["device_class"], d["reason"]) for d in deferred] == [("laptop", BUDGET)]


def test_earlier_purchase_removes_more_risk_years() -> None:
    """Money for one laptop a year: the riskier one is bought in the first year (40 x 2 + 10 x 1 =
    90 risk-years, against 10 x 2 + 40 x 1 = 60)."""
    units = [unit("S1", "laptop", 10), unit("S1", "laptop", 40)]
    plan = fit(units, [need("S1", "laptop", 2)], funding({2026: 22.0, 2027: 22.0}))
    assert plan.risk_years == 90
    rows = plan.units.set_index("risk")["bought_year"].to_dict()
    assert rows == {40: 2026, 10: 2027}
    assert plan.deferred["risk"].tolist() == [10] and plan.deferred["reason"].tolist() == [BUDGET]


# ------------------------------------------------------------------------------ constraint cases


def test_a_year_without_money_defers_to_the_next_and_money_carries_over() -> None:
    units = [unit("S1", "laptop", 40), unit("S2", "firewall", 60)]
    needs = [need("S1", "laptop", 1), need("S2", "firewall", 1)]
    plan = fit(units, needs, funding({2026: 0.0, 2027: 22.0}))
    assert bought(plan) == {2027: 1} and bought(plan, cls="laptop") == {2027: 1}  # 60 risk does not fit 22 million
    assert set(plan.deferred["reason"]) == {BUDGET}
    assert plan.money["carried_over"].tolist() == [0.0, 0.0]

    carried = fit(units, needs, funding({2026: 50.0, 2027: 60.0}))  # 28 unspent in 2026 helps pay the firewall in 2027
    assert bought(carried, cls="firewall") == {2027: 1} and bought(carried, cls="laptop") == {2026: 1}
    money = carried.money.to_dict("records")
    assert [(m["available"], m["spent"], m["carried_over"]) for m in money] == [(50.0, 22.0, 28.0), (88.0, 80.0, 8.0)]
    assert carried.risk_years == 40 * 2 + 60


def test_carry_over_pays_a_unit_no_single_year_could() -> None:
    units = [unit("S2", "firewall", 60)]
    plan = fit(units, [need("S2", "firewall", 1)], funding({2026: 50.0, 2027: 50.0}))
    assert bought(plan) == {2027: 1}
    assert [(m["available"], m["spent"], m["carried_over"]) for m in plan.money.to_dict("records")] == [(50.0, 0.0, 50.0), (100.0, 80.0, 20.0)]
    assert plan.deferred["reason"].tolist() == [BUDGET]


def test_a_line_without_money_buys_nothing_of_its_classes() -> None:
    units = [unit("S1", "tablet", 90), unit("S1", "laptop", 10)]
    lines = {"security_devices": 1000.0, "endpoints": 1000.0, "tablets": 0.0}
    plan = fit(units, [need("S1", "tablet", 1), need("S1", "laptop", 1)], funding({2026: 1000.0, 2027: 0.0}, lines))
    assert bought(plan, cls="tablet") == {} and bought(plan, cls="laptop") == {2026: 1}
    assert plan.deferred[["device_class", "reason"]].values.tolist() == [["tablet", LINE]]
    assert plan.spend[plan.spend["line_id"] == "tablets"]["spend"].sum() == 0


def test_line_envelope_and_per_line_year_money() -> None:
    units = [unit("S1", "laptop", 40), unit("S2", "laptop", 30), unit("S3", "laptop", 20)]
    needs = [need(s, "laptop", 1) for s in ("S1", "S2", "S3")]
    lines = {"security_devices": 0.0, "endpoints": 44.0, "tablets": 0.0}
    plan = fit(units, needs, funding({2026: 1000.0, 2027: 1000.0}, lines))
    assert sorted(plan.bought["site_code"]) == ["S1", "S2"] and plan.deferred["reason"].tolist() == [LINE]
    per_year = fit(units, needs, funding({2026: 1000.0, 2027: 1000.0}, lines, line_year_money={("endpoints", 2026): 22.0, ("endpoints", 2027): 22.0}))
    assert bought(per_year) == {2026: 1, 2027: 1} and per_year.risk_years == 40 * 2 + 30


def test_targets_out_of_reach_are_reported_with_what_is_missing() -> None:
    """Target 3 laptops in 2026 and 5 in 2027 (none counting), money for one a year."""
    units = [unit("S1", "laptop", 0) for _ in range(5)]
    plan = fit(units, [need("S1", "laptop", 5, (0, 0), (3, 5))], funding({2026: 22.0, 2027: 22.0}))
    assert bought(plan) == {2026: 1, 2027: 1}
    assert plan.missed[["year", "target", "in_place", "missing"]].values.tolist() == [[2026, 3, 1, 2], [2027, 5, 2, 3]]


def test_targets_come_before_risk_and_the_penalty_is_policy() -> None:
    """S1 needs a laptop for its target (no risk); S2's laptop is risky but no target needs it.
    With the penalty the target wins; without it, risk."""
    units = [unit("S1", "laptop", 0), unit("S2", "laptop", 40)]
    needs = [need("S1", "laptop", 1, (0,), (1,)), need("S2", "laptop", 1, (0,), (0,))]
    assert fit(units, needs, funding({2026: 22.0}, years=(2026,))).bought["site_code"].tolist() == ["S1"]
    assert fit(units, needs, funding({2026: 22.0}, years=(2026,), penalty=0.0)).bought["site_code"].tolist() == ["S2"]


def test_approval_caps_a_class() -> None:
    """Approved 2, one counting: only one of the three units is bought, the riskiest; the others
    wait for the approval, not the money."""
    units = [unit("S1", "laptop", 10), unit("S1", "laptop", 50), unit("S1", "laptop", 30)]
    plan = fit(units, [need("S1", "laptop", 2, (1, 1), (1, 2))], funding({2026: 1000.0, 2027: 1000.0}))
    assert bought(plan) == {2026: 1} and plan.bought["risk"].tolist() == [50]
    assert sorted(plan.deferred["reason"]) == [APPROVAL, APPROVAL]


def test_no_unit_is_bought_for_nothing() -> None:
    units = [unit("S1", "laptop", 0)]
    plan = fit(units, [need("S1", "laptop", 1)], funding({2026: 1000.0, 2027: 0.0}))
    assert plan.bought.empty and plan.money["spent"].sum() == 0


# ------------------------------------------------------------------------------ against every subset


def random_province(seed: int):
    """A small random province (units, needs, funding): at most 7 units, so at most 4^7 choices."""
    rng = random.Random(seed)
    years = (2026, 2027, 2028)[: rng.choice((1, 2, 3))]
    units, needs = [], []
    for s in range(rng.randint(1, 3)):
        site = f"S{s + 1}"
        for cls in rng.sample(["firewall", "laptop", "printer", "tablet"], rng.randint(1, 2)):
            k = rng.randint(1, 3)
            approved = rng.randint(1, 4)
            counting = sorted((rng.randint(0, approved) for _ in years), reverse=True)
            share = sorted(rng.choice((0, 40, 80, 100)) for _ in years)
            target = [min(approved, -(-approved * p // 100)) for p in share]
            needs.append(Need(site, site, cls, approved, tuple(counting), tuple(target)))
            units += [unit(site, cls, rng.choice((0, 5, 30, 60)), rng.choice(years)) for _ in range(k)]
    units = units[:7]
    money = {y: float(rng.choice((0, 20, 50, 100, 150))) for y in years}
    lines = {"security_devices": float(rng.choice((0, 80, 500))), "endpoints": float(rng.choice((0, 30, 500))), "tablets": float(rng.choice((0, 35, 500)))}
    return units, needs, funding(money, lines, years=years, penalty=rng.choice((0.0, 1.0, 1000.0)))


@pytest.mark.parametrize("seed", range(40))
def test_solver_matches_brute_force(seed: int) -> None:
    units, needs, f = random_province(seed)
    plan = fit(units, needs, f, gap_points=0)
    assert plan.status == "optimal" and plan.gap_points < 1e-6
    assert solver_value(plan, units, needs, f) == pytest.approx(brute_force(units, needs, f), abs=1e-6)


# ------------------------------------------------------------------------------ from the database


@pytest.mark.db
def test_from_inventory_same_answer_on_every_database(engine) -> None:
    """S1: one firewall, broken, in the Party WAN zone (its Internet zone has none); 2 laptops
    approved, one past its service life with an open critical finding. S2: nothing yet, 1 tablet
    approved. The policy's money is far more than needed: everything is bought in 2026, riskiest
    first, and the parts explain each unit."""
    policy = shipped_policy()
    w = policy.risk.weights
    with Session(engine) as session:
        sites = make_province(session, sites=2)
        s1, s2 = sites["S1"], sites["S2"]
        session.add_all([
            ApprovedQuantity(site_id=s1["site"], device_class="firewall", quantity=2),
            ApprovedQuantity(site_id=s1["site"], device_class="laptop", quantity=2),
            ApprovedQuantity(site_id=s2["site"], device_class="tablet", quantity=1),
        ])  # fmt: skip
        fw = Device(device_class="firewall", site_id=s1["site"], zone_id=s1["party_wan"], hostname="fw1", status="broken", purchase_date=date(2025, 1, 1))
        old = Device(device_class="laptop", site_id=s1["site"], zone_id=s1["internet"], hostname="lt-old", purchase_date=date(2019, 6, 1))
        ok = Device(device_class="laptop", site_id=s1["site"], zone_id=s1["internet"], hostname="lt-ok", purchase_date=date(2025, 6, 1))
        session.add_all([fw, old, ok])
        session.flush()
        session.add(Finding(rule_id="ep.os_supported", subject_key=f"device:{old.id}", device_id=old.id, site_id=s1["site"],
                            severity="critical", first_seen=datetime(2026, 1, 5, tzinfo=UTC)))  # fmt: skip
        session.commit()
        plan = fundable_from_inventory(session, policy, date(2026, 12, 1))
    assert plan.status == "optimal"
    units = plan.units.set_index(["site_code", "device_class", "replaces"], drop=False)
    fw_risk = w.broken.points + w.zone_uncovered.points + w.unknown_state.points
    # Bought 1 June 2019, 5-year life ended 1 June 2024: 2024-25, 2025-26 and 2026-27 are started years past it.
    old_risk = 3 * w.past_service_life.points + w.critical_finding.points + w.unknown_state.points
    assert units.loc[("S1", "firewall", "fw1"), "risk"] == fw_risk
    assert units.loc[("S1", "laptop", "lt-old"), "risk"] == old_risk
    missing_fw = plan.units[(plan.units["device_class"] == "firewall") & plan.units["replaces"].isna()]
    assert missing_fw["risk"].tolist() == [w.zone_uncovered.points]  # the Internet zone has no firewall
    tablet = plan.units[plan.units["device_class"] == "tablet"]
    assert tablet["risk"].tolist() == [w.secret_documents.points] and "Mật" in tablet["parts_vi"].iloc[0]
    assert set(plan.units["bought_year"]) == {2026} and plan.deferred.empty and plan.missed.empty
    assert plan.bought[["site_code", "device_class", "units"]].values.tolist() == [["S1", "firewall", 2], ["S1", "laptop", 1], ["S2", "tablet", 1]]
    assert plan.money["spent"].iloc[0] == 2 * 80 + 22 + 35


# ------------------------------------------------------------------------------ the command


@pytest.mark.db
def test_plan_fit_command_on_the_demo_province(kiemke_env, tmp_path) -> None:
    """`kiemke plan --fit --year 2027` on the demo province: within each line and each year's
    money (with carry-over), and it names the sites that then miss their 80%."""
    import json

    from click.testing import CliRunner
    from openpyxl import load_workbook

    from web.main import main

    runner = CliRunner()

    def run(*args):
        result = runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("init")
    run("demo-data")
    whole = json.loads(run("plan", "--fit", "--json"))
    assert whole["status"] == "optimal" and whole["shown_years"] == [2026, 2027, 2028]
    lines = {line.id: line.amount for line in shipped_policy().budget.plan("db_2026_2030").lines if line.classes}
    for line, amount in lines.items():
        assert sum(s["spend"] for s in whole["spend"] if s["line_id"] == line) <= amount + 1e-6
    carried = 0.0
    for m in whole["money"]:
        assert m["available"] == pytest.approx(m["money"] + carried) and m["spent"] <= m["available"] + 1e-6
        carried = m["carried_over"]
    year = json.loads(run("plan", "--fit", "--year", "2027", "--json"))
    assert year["shown_years"] == [2027] and {b["year"] for b in year["bought"]} <= {2027}
    assert year["missed"] and all(m["missing"] == m["target"] - m["in_place"] > 0 for m in year["missed"])
    text = run("plan", "--fit", "--year", "2027", "--out", tmp_path / "plan.xlsx")
    assert "miss their 2027 target" in text and "Bought in 2027, site by site" in text
    sheets = load_workbook(tmp_path / "plan.xlsx").sheetnames
    assert sheets[-4:] == ["Theo khả năng vốn", "Mua theo vốn", "Hoãn mua", "Chưa đạt chỉ tiêu"]


def test_funding_from_the_policy() -> None:
    """The phasing is the year's money; the lines holding device classes are the envelopes; with
    reserve_other_lines the other lines keep their share of each year."""
    from compliance.fundable import funding_from_policy

    policy = shipped_policy()
    f = funding_from_policy(policy, (2026, 2027, 2028))
    assert f.year_money == {2026: 35000, 2027: 24700, 2028: 4300}
    assert f.line_money == {"security_devices": 11341, "endpoints": 33394, "tablets": 1400}
    assert f.line_of_class["scanner"] == "endpoints" and f.line_of_class["access_switch"] == "security_devices"
    assert f.penalty_per_million == policy.risk.schedule_penalty_per_million
    reserved = funding_from_policy(policy, (2026, 2027, 2028), reserve_other_lines=True)
    share = (11341 + 33394 + 1400) / 60485.95
    assert reserved.year_money == {y: round(m * share, 2) for y, m in f.year_money.items()}


def test_units_that_remove_no_risk_are_bought_only_for_a_target() -> None:
    """Money for everything: two riskless laptops and a risky one. With no target only the risky
    one is bought; with a 2027 target of two laptops in place, one riskless laptop too, never both."""
    units = [unit("S1", "laptop", 5), unit("S1", "laptop", 0), unit("S1", "laptop", 0)]
    f = funding({2026: 1000.0, 2027: 1000.0})
    free = fit(units, [need("S1", "laptop", 3)], f)
    assert bought(free) == {2026: 1} and free.money["spent"].sum() == 22.0
    target = fit(units, [need("S1", "laptop", 3, counting=(0, 0), target=(0, 2))], f)
    assert sum(bought(target).values()) == 2
    assert target.missing_units == 0


def test_idle_units_are_dropped_down_to_what_the_targets_need() -> None:
    """The solver's answer may buy riskless units that meet nothing (they cost it nothing):
    `_drop_idle` keeps the units at risk and what each later year's target needs."""
    from compliance.fundable import _drop_idle

    p = ("S1", "laptop")
    levels = {(p, 2026): {5: 1, 0: 2}}
    for target, kept in (((0, 0), 1), ((0, 2), 2), ((1, 3), 3)):
        answer = {(p, 2026, 2026): 3, (p, 2026, 2027): 0}
        left = _drop_idle(answer, levels, {p: need("S1", "laptop", 3, target=target)}, YEARS)
        assert sum(left.values()) == kept, target
    late = _drop_idle({(p, 2026, 2026): 1, (p, 2026, 2027): 2}, levels, {p: need("S1", "laptop", 3)}, YEARS)
    assert late == {(p, 2026, 2026): 1, (p, 2026, 2027): 0}  # the latest purchases go first
