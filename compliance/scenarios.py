"""What-if scenarios of the fundable plan: the policy's money and targets, copied and edited.

A scenario holds its own copy of four things the fundable plan (compliance.fundable.fit) reads
from the policy: each plan year's phasing, the unit prices, the budget lines that hold device
classes (their amounts), and the schedule groups' cumulative target percentages. A planner edits
the copy; the policy files are never written (inventory/scenarios.py keeps the copy in the
database). `funding` and `needs` turn a scenario into what `fit` takes, `validate` says in
Vietnamese (and English) what is wrong with an edited one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from compliance.fundable import FundablePlan, Funding, Need, fit, needs_from_plan
from compliance.planner import target_units
from compliance.policy import Policy, Text
from compliance.risk import UnitToBuy

if TYPE_CHECKING:
    import pandas as pd
    from sqlmodel import Session

BUDGET_PLAN = "db_2026_2030"  # the plan whose phasing and lines the fundable plan spends
NAME_MAX = 100


@dataclass(frozen=True)
class ScenarioData:
    """A scenario's numbers. Money in million VND, targets as cumulative % of the approved quantity.

    phasing: plan year -> money; prices: device class -> unit price; lines: budget line id ->
    amount (the lines that hold device classes); targets: schedule group id -> plan year -> %."""

    phasing: Mapping[int, float]
    prices: Mapping[str, float]
    lines: Mapping[str, float]
    targets: Mapping[str, Mapping[int, float]]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready (years as strings, as JSON keys must be)."""
        return {
            "phasing": {str(y): v for y, v in sorted(self.phasing.items())},
            "prices": dict(sorted(self.prices.items())),
            "lines": dict(self.lines),
            "targets": {g: {str(y): v for y, v in sorted(by_year.items())} for g, by_year in self.targets.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScenarioData:
        """The inverse of to_json; a malformed value raises ValueError (never silently 0)."""
        try:
            return cls(
                phasing={int(y): float(v) for y, v in data["phasing"].items()},
                prices={str(c): float(v) for c, v in data["prices"].items()},
                lines={str(i): float(v) for i, v in data["lines"].items()},
                targets={str(g): {int(y): float(v) for y, v in by_year.items()} for g, by_year in data["targets"].items()},
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed scenario data: {exc!r}") from None


def plan_years(policy: Policy) -> tuple[int, ...]:
    """The years a scenario covers: the schedule's plan years (2026-2028), as the fundable plan."""
    return policy.schedule.years


def from_policy(policy: Policy) -> ScenarioData:
    """A copy of the policy's numbers: the starting point of every new scenario."""
    years = plan_years(policy)
    budget = policy.budget.plan(BUDGET_PLAN)
    return ScenarioData(
        phasing={y: float(budget.phasing.get(y, 0.0)) for y in years},
        prices={cls: float(p) for cls, p in policy.prices.unit_prices.items() if p is not None},
        lines={line.id: float(line.amount) for line in budget.lines if line.classes},
        targets={group.id: {y: float(_share(group.cumulative, y)) for y in years} for group in policy.schedule.groups},
    )


def _share(cumulative: Mapping[int, float], year: int) -> float:
    """The cumulative % due by `year` (the last one set up to it; 0 before the first)."""
    due = [pct for y, pct in sorted(cumulative.items()) if y <= year]
    return due[-1] if due else 0.0


# ------------------------------------------------------------------------------ validation


def _number_problem(value: Any) -> Text | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return Text(vi="phải là một số", en="must be a number")
    if value < 0:
        return Text(vi="không được âm", en="must not be negative")
    return None


def validate(data: ScenarioData, policy: Policy) -> list[Text]:
    """What is wrong with `data` against the policy it copies; [] when it can be fitted.

    Money and prices: numbers, not negative. Years: exactly the plan's. Lines and classes: those
    of the policy. Targets: 0..100 and non-decreasing over the years (cumulative, as in
    schedule.yaml)."""
    years = plan_years(policy)
    span = f"{years[0]}–{years[-1]}"
    problems: list[Text] = []
    budget = policy.budget.plan(BUDGET_PLAN)
    line_titles = {line.id: line.title for line in budget.lines if line.classes}
    groups = {group.id: group.title for group in policy.schedule.groups}
    priced = {cls for cls, p in policy.prices.unit_prices.items() if p is not None}

    for year in sorted(set(data.phasing) - set(years)):
        problems.append(Text(vi=f"Năm {year} nằm ngoài kế hoạch ({span}).", en=f"The year {year} is outside the plan ({span})."))
    for year in years:
        if year not in data.phasing:
            problems.append(Text(vi=f"Thiếu vốn phân kỳ năm {year}.", en=f"The phasing of {year} is missing."))
            continue
        if (p := _number_problem(data.phasing[year])) is not None:
            problems.append(Text(vi=f"Vốn phân kỳ năm {year}: {p.vi}.", en=f"Phasing of {year}: {p.en}."))
    for cls in sorted(set(data.prices) - priced):
        problems.append(Text(vi=f"Loại thiết bị {cls!r} không có trong bảng đơn giá của chính sách.", en=f"The device class {cls!r} is not priced in the policy."))
    for cls in sorted(priced):
        if cls not in data.prices:
            problems.append(Text(vi=f"Thiếu đơn giá của {cls}.", en=f"The unit price of {cls} is missing."))
        elif (p := _number_problem(data.prices[cls])) is not None:
            problems.append(Text(vi=f"Đơn giá {cls}: {p.vi}.", en=f"Unit price of {cls}: {p.en}."))
    for line_id in sorted(set(data.lines) - set(line_titles)):
        problems.append(Text(vi=f"Hạng mục kinh phí {line_id!r} không có trong chính sách.", en=f"The budget line {line_id!r} is not in the policy."))
    for line_id, title in line_titles.items():
        if line_id not in data.lines:
            problems.append(Text(vi=f"Thiếu kinh phí hạng mục «{title.vi}».", en=f"The amount of the line “{title.en}” is missing."))
        elif (p := _number_problem(data.lines[line_id])) is not None:
            problems.append(Text(vi=f"Kinh phí hạng mục «{title.vi}»: {p.vi}.", en=f"Amount of the line “{title.en}”: {p.en}."))
    for group_id in sorted(set(data.targets) - set(groups)):
        problems.append(Text(vi=f"Nhóm chỉ tiêu {group_id!r} không có trong lộ trình.", en=f"The target group {group_id!r} is not in the schedule."))
    for group_id, title in groups.items():
        by_year = data.targets.get(group_id, {})
        for year in sorted(set(by_year) - set(years)):
            problems.append(Text(vi=f"Chỉ tiêu «{title.vi}»: năm {year} nằm ngoài kế hoạch ({span}).", en=f"Target “{title.en}”: the year {year} is outside the plan ({span})."))
        before: tuple[int, float] | None = None
        for year in years:
            if year not in by_year:
                problems.append(Text(vi=f"Thiếu chỉ tiêu «{title.vi}» năm {year}.", en=f"The target “{title.en}” of {year} is missing."))
                continue
            pct = by_year[year]
            if (p := _number_problem(pct)) is not None:
                problems.append(Text(vi=f"Chỉ tiêu «{title.vi}» năm {year}: {p.vi}.", en=f"Target “{title.en}” of {year}: {p.en}."))
                continue
            if pct > 100:
                problems.append(Text(vi=f"Chỉ tiêu «{title.vi}» năm {year}: tỷ lệ phải từ 0 đến 100%.", en=f"Target “{title.en}” of {year}: a percentage from 0 to 100."))
                continue
            if before is not None and pct < before[1]:
                problems.append(Text(
                    vi=f"Chỉ tiêu «{title.vi}»: tỷ lệ lũy kế không được giảm ({before[0]}: {before[1]:g}%, {year}: {pct:g}%).",
                    en=f"Target “{title.en}”: cumulative percentages must not decrease ({before[0]}: {before[1]:g}%, {year}: {pct:g}%).",
                ))  # fmt: skip
            before = (year, pct)
    return problems


def valid_name(name: str) -> Text | None:
    """What is wrong with a scenario's name, or None."""
    if not name.strip():
        return Text(vi="Cần đặt tên cho phương án.", en="The scenario needs a name.")
    if len(name.strip()) > NAME_MAX:
        return Text(vi=f"Tên phương án dài quá {NAME_MAX} ký tự.", en=f"The scenario's name is longer than {NAME_MAX} characters.")
    return None


# ------------------------------------------------------------------------------ into the fundable plan


def funding(data: ScenarioData, policy: Policy) -> Funding:
    """The scenario's money as compliance.fundable takes it (the policy's for everything the
    scenario does not hold: which classes a line holds, the schedule penalty, the lines' titles)."""
    years = plan_years(policy)
    budget = policy.budget.plan(BUDGET_PLAN)
    equipment = [line for line in budget.lines if line.classes]
    return Funding(
        years=years,
        year_money={y: float(data.phasing.get(y, 0.0)) for y in years},
        line_money={line.id: float(data.lines.get(line.id, 0.0)) for line in equipment},
        line_of_class={cls: line.id for line in equipment for cls in line.classes},
        prices=dict(data.prices),
        penalty_per_million=policy.risk.schedule_penalty_per_million,
        line_titles={line.id: line.title.vi for line in equipment},
    )


def needs(base: Sequence[Need], data: ScenarioData, policy: Policy) -> list[Need]:
    """`base` (from the policy's plan) with each year's target taken from the scenario's
    percentages: ceil(approved x % / 100), as the planner computes it."""
    group_of = {cls: group.id for group in policy.schedule.groups for cls in group.classes}
    years = plan_years(policy)
    out = []
    for need in base:
        shares = data.targets.get(group_of.get(need.device_class, ""))
        if shares is None:
            out.append(need)
            continue
        out.append(replace(need, target=tuple(target_units(need.approved, _share(shares, y)) for y in years)))
    return out


@dataclass(frozen=True)
class FitInputs:
    """What the fundable plan needs from the inventory, whichever scenario is fitted: the units to
    buy and the needs (approved, counting, the policy's targets) per site and class."""

    units: tuple[UnitToBuy, ...]
    needs: tuple[Need, ...]
    years: tuple[int, ...]


def fit_inputs(session: Session, policy: Policy, today: date, *, fleet: pd.DataFrame | None = None) -> FitInputs:
    """The units and needs of the inventory as it is (compliance.fundable.fundable_from_inventory
    without the fit, so several scenarios share them)."""
    from compliance.risk import build_units, risk_fleet
    from compliance.service import plan_from_inventory

    plan = plan_from_inventory(session, policy, today, years=plan_years(policy), fleet=fleet)
    units = build_units(risk_fleet(session, policy, today), plan, policy)
    return FitInputs(tuple(units), tuple(needs_from_plan(plan)), plan.years)


def fit_scenario(inputs: FitInputs, data: ScenarioData | None, policy: Policy) -> FundablePlan:
    """The fundable plan with the scenario's numbers (None: the policy's own)."""
    data = data if data is not None else from_policy(policy)
    return fit(inputs.units, needs(inputs.needs, data, policy), funding(data, policy))


# ------------------------------------------------------------------------------ what people read


def risk_per_billion(plan: FundablePlan) -> dict[int, float | None]:
    """Per plan year: risk points removed by that year's purchases per billion VND they cost
    (None when nothing is bought that year)."""
    out: dict[int, float | None] = {}
    for year in plan.years:
        rows = plan.bought[plan.bought["year"] == year]
        cost = float(rows["cost"].sum()) if len(rows) else 0.0
        out[year] = round(float(rows["risk"].sum()) / (cost / 1000), 1) if cost > 0 else None
    return out


@dataclass(frozen=True)
class YearSummary:
    """One plan year of a fundable plan in a few numbers (the compare view, the quarterly report)."""

    year: int
    money: float  # the year's phasing
    available: float  # with the money carried in
    spent: float
    carried_over: float
    units: int  # bought this year
    risk: int  # risk points those units remove
    deferred: int  # units first needed this year and not bought this year
    sites_missing: int  # sites below a target this year, after the purchases
    missing_units: int  # units they lack, summed over site and class
    risk_per_billion: float | None


def year_summary(plan: FundablePlan, year: int) -> YearSummary:
    money = plan.money[plan.money["year"] == year]
    m = money.iloc[0] if len(money) else None
    bought = plan.bought[plan.bought["year"] == year]
    missed = plan.missed[plan.missed["year"] == year]
    return YearSummary(
        year=year,
        money=float(m["money"]) if m is not None else 0.0,
        available=float(m["available"]) if m is not None else 0.0,
        spent=float(m["spent"]) if m is not None else 0.0,
        carried_over=float(m["carried_over"]) if m is not None else 0.0,
        units=int(bought["units"].sum()),
        risk=int(bought["risk"].sum()),
        deferred=int((plan.deferred["available_year"] == year).sum()),
        sites_missing=int(missed["site_code"].nunique()),
        missing_units=int(missed["missing"].sum()),
        risk_per_billion=risk_per_billion(plan).get(year),
    )
