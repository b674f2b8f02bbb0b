"""Procurement plan: what to buy, where, in which year and at what cost to meet the schedule.

The schedule (`schedule.yaml`, ĐB C.I.2.2.1) gives, per device class, the cumulative share of the
approved quantity that must be in place by the end of each year (endpoints 40/80/100% in
2026/2027/2028; firewalls, access switches and tablets 100% in 2026). For each site, device class
and plan year Y, in year order:

    counting(Y)       devices with counts=True and (eol_year is NA or eol_year > Y)
    target(Y)         ceil(approved * cumulative_share(class, Y) / 100)
    bought_earlier(Y) units this plan buys in earlier plan years that still count in Y
    to_buy(Y)         max(0, target(Y) - counting(Y) - bought_earlier(Y))
    cost(Y)           to_buy(Y) * unit_price(class), million VND
    shortfall(Y)      max(0, target(Y) - counting(Y))
    unknown(Y)        devices of unknown compliance state that would count in Y but for that
                      state: among counting(Y) when the policy's unknown_counts_toward_schedule
                      is on ("Trong đó chưa rõ tuân thủ"), left out of it when off

Two answers to two questions, printed under two labels wherever they appear (procurement page,
plan workbook, quarterly report): `to_buy` is "Mua sắm dự kiến trong năm" (purchases this plan
makes in Y, after its purchases of earlier plan years), `shortfall` is "Còn thiếu nếu từ nay không
mua thêm" (what Y's target lacks if nothing is bought from now on). Purchases are always planned
from the schedule's first year, whichever years are asked for, so a year's `to_buy` is one number
on the page, in `kiemke plan --year`, and in the quarterly report.

Worked example (the one in the tests): 10 laptops approved, 3 counting today, one of which reaches
end of life in 2027. counting = 3/2/2, target = 4/8/10, to_buy = 1 (4-3-0), 5 (8-2-1), 2 (10-2-6).

Assumptions, all visible in the result:
- Purchases are cumulative: a unit bought in year B counts from B on (it is bought during B and is
  in place by the end of B, when the share is due) until B + service life (`service_life.yaml`),
  so with 5-year lives nothing bought in 2026-2028 drops out within the plan.
- Stock is counted per site and class. Coverage of both network zones (one firewall and one access
  switch per zone; approved is normally 2 per site) is checked by the rules site.firewall_per_zone
  and site.switch_per_zone; the caller sets `counts` to False for devices that do not serve the
  approved need (e.g. a second firewall in the same zone). `default_network_approved` builds the
  usual 2-per-site rows when the approved table lacks them.
- A surplus at one site never offsets a shortfall at another: each site/class is planned alone.
- Only (site, class) pairs in `approved` are planned. Classes absent from the schedule (bml,
  router, server, other) and classes without a unit price are listed in `Plan.warnings`, never
  silently costed at zero; their cost is NA and `unpriced_units` counts them.
- The budget phasing (2026: 35,000 / 2027: 24,700 / 2028: 4,300) covers the whole scheme
  (archive sorting, digitisation, training... included), so equipment alone normally comes in
  under it; the budget lines holding equipment (`classes` in budget.yaml) are compared one by one.
- The stated total (64,000) and the sum of the lines (60,485.95) disagree in the ĐB plan: both and
  the gap are reported, nothing is corrected.
- Unit prices are the PROPOSAL values of `prices.yaml` unless an administrator approved others.

pandas stays at this edge: the arithmetic per site/class is the pure `plan_purchases`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from compliance.lifecycle import counting_in_year
from compliance.policy import DEVICE_CLASSES, Policy, Text
from compliance.workbook import (
    FONT_NAME,
    INT_FORMAT,
    MONEY_FORMAT,
    SUBTOTAL,
    Column,
    SheetWriter,
    class_label,
    column,
    number_format_for_share,
    records,
    unknown_column,
    vi_format,
    vi_number,
)

DEFAULT_BUDGET_PLAN = "db_2026_2030"
NETWORK_PER_ZONE = ("firewall", "access_switch")
ZONES_PER_SITE = 2  # Party WAN and Internet (ĐB C.II)

DEVICE_COLUMNS = ("site_code", "site_name", "site_kind", "device_class", "counts", "eol_year")
APPROVED_COLUMNS = ("site_code", "device_class", "quantity")

ROW_COLUMNS = [
    "site_code", "site_name", "site_kind", "device_class", "year", "approved", "counting",
    "share_pct", "target", "bought_earlier", "to_buy", "unit_price", "cost", "shortfall", "unknown",
]  # fmt: skip

OVER, UNDER, EQUAL, NO_PHASING = "over", "under", "equal", "no phasing"
STATUS_VI = {OVER: "Vượt phân kỳ", UNDER: "Trong phân kỳ", EQUAL: "Bằng phân kỳ", NO_PHASING: "Không có phân kỳ"}


# ------------------------------------------------------------------------------ pure arithmetic


class YearPurchase(NamedTuple):
    year: int
    counting: int
    share_pct: float
    target: int
    bought_earlier: int
    to_buy: int
    shortfall: int  # target - counting, not below 0: what is missing if nothing is bought from now


def target_units(approved: int, share_pct: float) -> int:
    """ceil(approved * share / 100), computed exactly (no float rounding surprises).

    >>> target_units(10, 40), target_units(7, 40), target_units(3, 100), target_units(5, 0)
    (4, 3, 3, 0)
    """
    exact = Fraction(int(approved)) * Fraction(Decimal(str(share_pct))) / 100
    return math.ceil(exact)


def plan_purchases(
    approved: int,
    counting: Sequence[int],
    shares: Sequence[float],
    years: Sequence[int],
    service_life: int,
) -> list[YearPurchase]:
    """Units to buy per year for one site and class; see the module docstring for the rules.

    `counting[i]` and `shares[i]` belong to `years[i]` (ascending). A unit bought in year B counts
    in every year Y with B <= Y < B + service_life.

    >>> [p.to_buy for p in plan_purchases(10, [3, 2, 2], [40, 80, 100], [2026, 2027, 2028], 5)]
    [1, 5, 2]
    """
    if list(years) != sorted(years):
        raise ValueError(f"years must be ascending, got {list(years)}")
    bought: list[tuple[int, int]] = []  # (year bought, units)
    result = []
    for year, have, share in zip(years, counting, shares, strict=True):
        target = target_units(approved, share)
        earlier = sum(units for b, units in bought if b <= year < b + service_life)
        to_buy = max(0, target - int(have) - earlier)
        bought.append((year, to_buy))
        result.append(YearPurchase(year, int(have), float(share), target, earlier, to_buy, max(0, target - int(have))))
    return result


# ------------------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class BudgetSummary:
    """The budget plan's figures as stated, side by side; mismatches are shown, never corrected."""

    plan_id: str
    title_vi: str
    currency: str
    stated_total: float
    lines_total: float
    lines_gap: float  # stated_total - lines_total (ĐB: 64,000 - 60,485.95 = 3,514.05)
    phasing_total: float
    phasing_gap: float  # stated_total - phasing_total
    lines_complete: bool

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True, eq=False)  # holds DataFrames: no value equality
class Plan:
    """A procurement plan; every frame is in million VND where money is concerned.

    rows: one row per site x class x year, columns ROW_COLUMNS.
    by_class: year, device_class, approved, target, counting, to_buy, cost, unpriced_units, shortfall,
        unknown.
    totals: year, units, cost, unpriced_units, phasing, difference (cost - phasing), status
        ("over", "under", "equal", "no phasing"), unknown.
    unknown_counted: the policy's unknown_counts_toward_schedule (whether `unknown` is part of
        `counting` or left out of it).
    budget_lines: line_id, title_vi, title_en, amount, classes, planned_cost (plan years, NA for
        lines without device classes), difference (planned_cost - amount).
    """

    years: tuple[int, ...]
    rows: pd.DataFrame
    by_class: pd.DataFrame
    totals: pd.DataFrame
    budget_lines: pd.DataFrame
    budget: BudgetSummary
    price_status: str
    warnings: tuple[Text, ...] = field(default=())  # Vietnamese and English
    unknown_counted: bool = True

    def year_rows(self, year: int) -> pd.DataFrame:
        return self.rows[self.rows["year"] == year].reset_index(drop=True)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (NA -> None) for the CLI's --json."""
        return {
            "years": list(self.years),
            "currency": self.budget.currency,
            "price_status": self.price_status,
            "unknown_counts_toward_schedule": self.unknown_counted,
            "rows": records(self.rows),
            "by_class": records(self.by_class),
            "totals": records(self.totals),
            "budget": self.budget.to_json(),
            "budget_lines": records(self.budget_lines),
            "warnings": [w.model_dump() for w in self.warnings],
        }


def build_plan(
    devices: pd.DataFrame,
    approved: pd.DataFrame,
    policy: Policy,
    years: Iterable[int] | None = None,
    *,
    sites: pd.DataFrame | None = None,
    budget_plan: str = DEFAULT_BUDGET_PLAN,
) -> Plan:
    """Plan purchases for every (site, class) in `approved` over `years` (default: the
    schedule's plan years, `policy.schedule.years`).

    devices: site_code, site_name, site_kind, device_class, counts (bool; NA = False), eol_year
        (int or NA); optional unknown (bool: the device's compliance state is unknown, see
        compliance.service.fleet_frame; absent = none).
    approved: site_code, device_class, quantity (duplicate pairs are added up, with a warning).
    sites: optional site_code, site_name, site_kind, for sites that have no device yet (otherwise
        names come from `approved` if it has them, then from `devices`).
    """
    years = tuple(sorted(set(int(y) for y in (policy.schedule.years if years is None else years))))
    if not years:
        raise ValueError("at least one plan year is required")
    span = planning_years(policy.schedule.years, years)
    _require(devices, DEVICE_COLUMNS, "devices")
    _require(approved, APPROVED_COLUMNS, "approved")
    warnings: list[Text] = []

    approved_qty = _approved_quantities(approved, warnings)
    counting = _counting(devices, span)
    unknown = _counting(devices, span, "unknown")
    names = _site_names(devices, approved, sites)

    rows: list[dict[str, Any]] = []
    unscheduled: dict[str, list[int]] = {}
    for (site, cls), quantity in sorted(approved_qty.items(), key=lambda kv: (kv[0][0], class_order(kv[0][1]))):
        shares = [policy.schedule.cumulative_share(cls, y) for y in span]
        if shares[0] is None:
            unscheduled.setdefault(cls, []).append(quantity)
            continue
        price = policy.prices.unit_price(cls)
        have = [counting.get((site, cls, y), 0) for y in span]
        for p in plan_purchases(quantity, have, shares, span, policy.service_life.years_for(cls)):  # type: ignore[arg-type]
            if p.year not in years:  # an earlier plan year: planned, its purchases count later, not shown
                continue
            rows.append({
                "site_code": site, "site_name": names.get(site, ("", ""))[0],
                "site_kind": names.get(site, ("", ""))[1], "device_class": cls, "year": p.year,
                "approved": quantity, "counting": p.counting, "share_pct": p.share_pct,
                "target": p.target, "bought_earlier": p.bought_earlier, "to_buy": p.to_buy,
                "unit_price": price, "cost": None if price is None else round(p.to_buy * price, 2),
                "shortfall": p.shortfall, "unknown": unknown.get((site, cls, p.year), 0),
            })  # fmt: skip
    for cls, quantities in unscheduled.items():
        warnings.append(Text(
            vi=f"{class_label(cls)}: {sum(quantities)} thiết bị được duyệt tại {len(quantities)} đơn vị không có "
            "trong lộ trình trang bị của chính sách, chưa được lập kế hoạch",
            en=f"{cls}: {sum(quantities)} approved unit(s) at {len(quantities)} site(s) are not in the "
            "policy's equipment schedule, so they are not planned",
        ))  # fmt: skip
    frame = pd.DataFrame(rows, columns=ROW_COLUMNS)
    frame = frame.astype({"year": "int64", "approved": "int64", "counting": "int64", "target": "int64",
                          "bought_earlier": "int64", "to_buy": "int64", "shortfall": "int64", "unknown": "int64", "share_pct": "float64",
                          "unit_price": "float64", "cost": "float64"})  # fmt: skip
    for cls in sorted(set(frame["device_class"]), key=class_order):
        if policy.prices.unit_price(cls) is None:
            units = int(frame.loc[frame["device_class"] == cls, "to_buy"].sum())
            warnings.append(Text(
                vi=f"{class_label(cls)}: chưa có đơn giá trong prices.yaml; {units} thiết bị cần mua chưa được tính tiền",
                en=f"{cls}: no unit price in prices.yaml; {units} unit(s) to buy are not costed",
            ))  # fmt: skip

    budget = policy.budget.plan(budget_plan)
    by_class = _by_class(frame)
    totals = _totals(frame, years, budget.phasing)
    return Plan(
        years=years,
        rows=frame,
        by_class=by_class,
        totals=totals,
        budget_lines=_budget_lines(frame, budget),
        budget=BudgetSummary(
            plan_id=budget.id,
            title_vi=budget.title.vi,
            currency=policy.budget.currency,
            stated_total=budget.stated_total,
            lines_total=budget.lines_total,
            lines_gap=budget.lines_gap,
            phasing_total=budget.phasing_total,
            phasing_gap=round(budget.stated_total - budget.phasing_total, 2),
            lines_complete=budget.lines_complete,
        ),  # fmt: skip
        price_status=policy.prices.status,
        warnings=tuple(warnings),
        unknown_counted=policy.schedule.unknown_counts_toward_schedule,
    )


def planning_years(schedule_years: Sequence[int], shown: Sequence[int]) -> tuple[int, ...]:
    """The years purchases are planned over to show `shown`: those years and every schedule year
    before the last of them, so what a year buys does not depend on which years are shown.

    >>> planning_years((2026, 2027, 2028), (2027,)), planning_years((2026, 2027, 2028), (2025,))
    ((2026, 2027), (2025,))
    """
    last = max(shown)
    return tuple(sorted({*shown, *(y for y in schedule_years if y <= last)}))


def default_network_approved(site_codes: Iterable[str], per_zone: int = 1) -> pd.DataFrame:
    """Approved rows for one firewall and one access switch per zone (2 zones) at each site."""
    rows = [{"site_code": site, "device_class": cls, "quantity": per_zone * ZONES_PER_SITE} for site in site_codes for cls in NETWORK_PER_ZONE]
    return pd.DataFrame(rows, columns=list(APPROVED_COLUMNS))


def status_of(cost: float, phasing: float | None) -> str:
    """ "over", "under" or "equal" (to the cent of a million), "no phasing" when none is stated."""
    if phasing is None or pd.isna(phasing):
        return NO_PHASING
    diff = round(cost - phasing, 2)
    return OVER if diff > 0 else UNDER if diff < 0 else EQUAL


# ------------------------------------------------------------------------------ helpers


def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)} (has: {', '.join(map(str, frame.columns))})")


def class_order(cls: str) -> int:
    return DEVICE_CLASSES.index(cls) if cls in DEVICE_CLASSES else len(DEVICE_CLASSES)


def _approved_quantities(approved: pd.DataFrame, warnings: list[Text]) -> dict[tuple[str, str], int]:
    unknown = sorted(set(approved["device_class"]) - set(DEVICE_CLASSES))
    if unknown:
        raise ValueError(f"approved: unknown device class(es) {', '.join(map(str, unknown))}")
    quantity = pd.to_numeric(approved["quantity"], errors="coerce")
    bad = approved[quantity.isna() | (quantity < 0) | (quantity != quantity.round())]
    if len(bad):
        first = bad.iloc[0]
        raise ValueError(f"approved: quantity must be a whole number >= 0 ({len(bad)} bad row(s), e.g. {first['site_code']}/{first['device_class']}: {first['quantity']!r})")
    frame = approved.assign(quantity=quantity.astype("int64"))
    dup = frame.duplicated(["site_code", "device_class"], keep=False)
    if dup.any():
        pairs = sorted({f"{r.site_code}/{r.device_class}" for r in frame[dup].itertuples()})
        warnings.append(Text(
            vi=f"Số lượng được duyệt: các dòng trùng đã được cộng dồn ({', '.join(pairs)})",
            en=f"approved: duplicate rows added up for {', '.join(pairs)}",
        ))  # fmt: skip
    summed = frame.groupby(["site_code", "device_class"], sort=False)["quantity"].sum()
    return {(str(s), str(c)): int(q) for (s, c), q in summed.items() if q > 0}


def _counting(devices: pd.DataFrame, years: Sequence[int], column: str = "counts") -> dict[tuple[str, str, int], int]:
    """(site, class, year) -> devices that count in that year (compliance.lifecycle); with
    `column="unknown"`, the devices of unknown state that would."""
    result: dict[tuple[str, str, int], int] = {}
    for year in years:
        alive = counting_in_year(devices, year, column)
        grouped = devices[alive].groupby(["site_code", "device_class"]).size()
        for (site, cls), n in grouped.items():
            result[(str(site), str(cls), year)] = int(n)
    return result


def _site_names(devices: pd.DataFrame, approved: pd.DataFrame, sites: pd.DataFrame | None) -> dict[str, tuple[str, str]]:
    names: dict[str, tuple[str, str]] = {}
    for frame in (devices, approved, sites):
        if frame is None or "site_code" not in frame.columns or "site_name" not in frame.columns:
            continue
        kinds = frame["site_kind"] if "site_kind" in frame.columns else pd.Series("", index=frame.index)
        # One row per site, not per device: the fleet frame repeats each name thousands of times.
        unique = pd.DataFrame({"code": frame["site_code"], "name": frame["site_name"], "kind": kinds}).drop_duplicates()
        for code, name, kind in zip(unique["code"], unique["name"], unique["kind"], strict=True):
            if pd.notna(name):
                names[str(code)] = (str(name), "" if pd.isna(kind) else str(kind))
    return names


def _by_class(rows: pd.DataFrame) -> pd.DataFrame:
    columns = ["year", "device_class", "approved", "target", "counting", "to_buy", "cost", "unpriced_units", "shortfall", "unknown"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    work = rows.assign(unpriced_units=rows["to_buy"].where(rows["unit_price"].isna(), 0))
    grouped = (
        work.groupby(["year", "device_class"], sort=False)
        .agg(
            approved=("approved", "sum"),
            target=("target", "sum"),
            counting=("counting", "sum"),
            to_buy=("to_buy", "sum"),
            cost=("cost", lambda s: round(s.sum(min_count=0), 2)),
            unpriced_units=("unpriced_units", "sum"),
            shortfall=("shortfall", "sum"),  # per site first: a surplus at one site covers no other
            unknown=("unknown", "sum"),
        )  # fmt: skip
        .reset_index()
    )
    grouped["_order"] = grouped["device_class"].map(class_order)
    return grouped.sort_values(["year", "_order"]).drop(columns="_order").reset_index(drop=True)[columns]


def _totals(rows: pd.DataFrame, years: Sequence[int], phasing: dict[int, float]) -> pd.DataFrame:
    out = []
    for year in years:
        part = rows[rows["year"] == year]
        cost = round(float(part["cost"].sum()), 2)
        planned = phasing.get(year)
        out.append({
            "year": year, "units": int(part["to_buy"].sum()), "cost": cost,
            "unpriced_units": int(part.loc[part["unit_price"].isna(), "to_buy"].sum()),
            "phasing": planned,
            "difference": None if planned is None else round(cost - planned, 2),
            "status": status_of(cost, planned), "unknown": int(part["unknown"].sum()),
        })  # fmt: skip
    return pd.DataFrame(out, columns=["year", "units", "cost", "unpriced_units", "phasing", "difference", "status", "unknown"]).astype({"phasing": "float64", "difference": "float64"})


def _budget_lines(rows: pd.DataFrame, budget: Any) -> pd.DataFrame:
    out = []
    for line in budget.lines:
        planned = None
        if line.classes:
            planned = round(float(rows.loc[rows["device_class"].isin(line.classes), "cost"].sum()), 2)
        out.append({
            "line_id": line.id, "title_vi": line.title.vi, "title_en": line.title.en,
            "amount": line.amount, "classes": ", ".join(line.classes), "planned_cost": planned,
            "difference": None if planned is None else round(planned - line.amount, 2),
        })  # fmt: skip
    return pd.DataFrame(out, columns=["line_id", "title_vi", "title_en", "amount", "classes", "planned_cost", "difference"]).astype(
        {"amount": "float64", "planned_cost": "float64", "difference": "float64"}
    )


# ------------------------------------------------------------------------------ the plan's workbook

PLAN_COLUMNS = [
    Column("STT", "no", 6, INT_FORMAT, align="center"),
    column("site_code"),
    column("site_name"),
    column("class_vi", 26),
    column("approved"),
    column("counting"),
    column("share_pct"),
    column("target"),
    column("shortfall"),
    unknown_column(True),  # retitled by plan_columns when unknown devices do not count
    Column("Đã mua các năm trước", "bought_earlier", 12, INT_FORMAT, total=True),
    column("to_buy", 11),
    Column("Đơn giá (triệu đồng)", "unit_price", 13, MONEY_FORMAT),
    column("cost", 16),
]  # fmt: skip

SUMMARY_CLASS_COLUMNS = [
    Column("Năm", "year", 10, "0", align="center"),
    column("class_vi", 30),
    column("approved", 14),
    column("target", 12),
    column("counting", 14),
    unknown_column(True),
    column("to_buy"),
    column("cost"),
]  # fmt: skip

SUMMARY_YEAR_COLUMNS = [
    Column("Năm", "year", 10, "0", align="center"),
    Column("Tổng số thiết bị cần mua", "units", 30, INT_FORMAT, total=True),
    column("cost", 14),
    Column("Phân kỳ vốn (triệu đồng)", "phasing", 12, MONEY_FORMAT, total=True),
    Column("Chênh lệch (thành tiền - phân kỳ)", "difference", 14, MONEY_FORMAT, total=True),
    Column("Đánh giá", "status_vi", 16),
]  # fmt: skip

BUDGET_COLUMNS = [
    Column("Hạng mục", "title_vi", 30),
    Column("Kinh phí theo đề án (triệu đồng)", "amount", 14, MONEY_FORMAT, total=True),
    Column("Loại thiết bị", "classes_vi", 12),
    Column("Dự kiến theo kế hoạch (triệu đồng)", "planned_cost", 14, MONEY_FORMAT),
    Column("Chênh lệch (kế hoạch - đề án)", "difference", 14, MONEY_FORMAT),
]  # fmt: skip


def plan_columns(columns: list[Column], unknown_counted: bool) -> list[Column]:
    """`columns` with the `unknown` column titled by what it means under the policy."""
    return [unknown_column(unknown_counted, c.width) if c.key == "unknown" else c for c in columns]


def write_plan_xlsx(plan: Plan, path: Path | str, fundable: Any = None) -> Path:
    """A printable workbook: "Tổng hợp" then one sheet per year ("Năm 2026", ...), then, given a
    compliance.fundable.FundablePlan, its sheets for the plan's years."""
    from openpyxl import Workbook

    path = Path(path)
    wb = Workbook()
    summary = wb.active
    summary.title = "Tổng hợp"
    _write_summary(plan, summary)
    for year in plan.years:
        _write_year(plan, wb.create_sheet(f"Năm {year}"), year)
    if fundable is not None:
        from compliance.fundable import write_fundable_sheets  # the fundable plan imports the planner

        write_fundable_sheets(wb, fundable, plan.years)
    wb.save(path)
    return path


def _subtitle(plan: Plan) -> str:
    years = f"{plan.years[0]}-{plan.years[-1]}" if len(plan.years) > 1 else str(plan.years[0])
    price = "đơn giá đề xuất, cập nhật theo báo giá thực tế" if plan.price_status == "proposal" else "đơn giá đã duyệt"
    return f"Giai đoạn {years}; đơn vị tính tiền: triệu đồng; {price}"


def _write_year(plan: Plan, ws: Any, year: int) -> None:
    columns = plan_columns(PLAN_COLUMNS, plan.unknown_counted)
    writer = SheetWriter(ws, len(columns))
    writer.title(f"KẾ HOẠCH MUA SẮM THIẾT BỊ NĂM {year}")
    writer.title(plan.budget.title_vi, size=12, bold=False, italic=True)
    writer.title(_subtitle(plan), size=11, bold=False, italic=True)
    writer.blank()
    rows = site_subtotals([r | {"no": i, "class_vi": class_label(r["device_class"])} for i, r in enumerate(records(plan.year_rows(year)), start=1)], columns)
    header = writer.table(columns, rows, totals_label="Tổng cộng")
    writer.autofilter(header, header + len(rows), len(columns))
    share_col = [c.key for c in columns].index("share_pct") + 1
    for r in range(header + 1, header + 1 + len(rows)):
        cell = ws.cell(row=r, column=share_col)
        if isinstance(cell.value, (int, float)):
            cell.number_format = vi_format(number_format_for_share(cell.value))
    writer.blank()
    total = plan.totals[plan.totals["year"] == year]
    if len(total):
        t = records(total)[0]
        if t["phasing"] is not None:
            writer.note(
                f"Phân kỳ vốn năm {year}: {vi_number(t['phasing'], 2)} triệu đồng; thành tiền thiết bị "
                f"{vi_number(t['cost'], 2)}; chênh lệch {vi_number(t['difference'], 2)} ({STATUS_VI[t['status']].lower()})."
            )
        if t["unpriced_units"]:
            writer.note(f"{t['unpriced_units']} thiết bị chưa có đơn giá, chưa tính vào thành tiền.")
    writer.note("Chỉ tiêu = làm tròn lên (số lượng được duyệt x tỷ lệ lũy kế); còn thiếu nếu từ nay không mua thêm = "
                "chỉ tiêu - hiện có đạt chuẩn (không âm); mua sắm dự kiến trong năm = chỉ tiêu - hiện có đạt chuẩn "
                "- đã mua các năm trước theo kế hoạch (không âm).")  # fmt: skip
    writer.note(unknown_note(plan.unknown_counted))
    writer.finish()


# The site x class figures a site's subtotal (and a table's total) adds up: the plan columns
# the workbook totals, which the plan page sums as well.
PLAN_SUMMED = tuple(c.key for c in PLAN_COLUMNS if c.total)


def summed(rows: list[dict[str, Any]], keys: tuple[str, ...] = PLAN_SUMMED) -> dict[str, Any]:
    """The `keys` of `rows` added up; None for a key no row has a number for (a cost without any
    price is no cost, not 0)."""
    out: dict[str, Any] = {}
    for key in keys:
        found = [r[key] for r in rows if isinstance(r.get(key), (int, float)) and not (isinstance(r[key], float) and math.isnan(r[key]))]
        out[key] = sum(found) if found else None
    return out


def with_site_subtotals(rows: list[dict[str, Any]], keys: tuple[str, ...] = PLAN_SUMMED) -> list[dict[str, Any]]:
    """The year's rows (ordered by site), each marked {SUBTOTAL: False}, with a subtotal row after
    each site's: {SUBTOTAL: True, site_code, site_name, rows: how many} and its rows' `keys`
    summed. Computed here once; the plan page and the plan workbook each word it their way."""
    out: list[dict[str, Any]] = []
    group: list[dict[str, Any]] = []
    for row in [*rows, None]:
        if group and (row is None or row["site_code"] != group[0]["site_code"]):
            first = group[0]
            out.append({SUBTOTAL: True, "site_code": first["site_code"], "site_name": first["site_name"], "rows": len(group)} | summed(group, keys))
            group = []
        if row is not None:
            out.append(row | {SUBTOTAL: False})
            group.append(row)
    return out


def site_subtotals(rows: list[dict[str, Any]], columns: list[Column]) -> list[dict[str, Any]]:
    """The workbook's wording of with_site_subtotals: "Cộng <site>" in the site name's column (so
    a filter on the code keeps it), each summed column rounded to 2 decimals, 0 where nothing adds up."""
    keys = tuple(c.key for c in columns if c.total)
    out = []
    for row in with_site_subtotals(rows, keys):
        if row[SUBTOTAL]:
            row = row | {"site_name": f"Cộng {row['site_code']}"} | {k: round(row[k] if row[k] is not None else 0, 2) for k in keys}
        out.append(row)
    return out


def unknown_note(unknown_counted: bool) -> str:
    """What the plan's `unknown` figure means under the policy (printed under its tables)."""
    if unknown_counted:
        return ("Thiết bị chưa rõ tuân thủ (chưa được đánh giá, dữ liệu chưa thu thập hoặc đã cũ) được tính vào hiện có "
                "đạt chuẩn (theo chính sách); cột \"Trong đó chưa rõ tuân thủ\" cho biết "
                "bao nhiêu thiết bị trong số đó chưa được xác minh.")  # fmt: skip
    return ("Thiết bị chưa rõ tuân thủ không được tính vào hiện có đạt chuẩn (theo chính sách), nên được lập kế "
            "hoạch mua thay; cột \"Chưa rõ tuân thủ (không tính)\" cho biết số thiết bị đó.")  # fmt: skip


def _write_summary(plan: Plan, ws: Any) -> None:
    writer = SheetWriter(ws, len(SUMMARY_CLASS_COLUMNS))
    writer.title("TỔNG HỢP KẾ HOẠCH MUA SẮM THIẾT BỊ")
    writer.title(plan.budget.title_vi, size=12, bold=False, italic=True)
    writer.title(_subtitle(plan), size=11, bold=False, italic=True)
    writer.blank()

    writer.note("1. Số lượng và thành tiền theo năm, loại thiết bị", bold=True)
    rows = [r | {"class_vi": class_label(r["device_class"])} for r in records(plan.by_class)]
    writer.table(plan_columns(SUMMARY_CLASS_COLUMNS, plan.unknown_counted), rows)
    writer.note(unknown_note(plan.unknown_counted))
    writer.blank()

    writer.note("2. So sánh với phân kỳ vốn của đề án (phân kỳ gồm cả các hạng mục không phải thiết bị)", bold=True)
    totals = [r | {"status_vi": STATUS_VI[r["status"]]} for r in records(plan.totals)]
    phasing_sum = round(sum(r["phasing"] or 0 for r in totals), 2)
    cost_sum = round(sum(r["cost"] for r in totals), 2)
    writer.table(
        SUMMARY_YEAR_COLUMNS, totals, totals_label="Tổng cộng",
        totals={"phasing": phasing_sum, "difference": round(cost_sum - phasing_sum, 2)},
    )  # fmt: skip
    writer.blank()

    b = plan.budget
    span = f"{plan.years[0]}-{plan.years[-1]}" if len(plan.years) > 1 else str(plan.years[0])
    writer.note(f"3. Các hạng mục kinh phí của đề án (dự kiến = thành tiền của kế hoạch các năm {span})", bold=True)
    lines = [r | {"classes_vi": ", ".join(class_label(c.strip()) for c in r["classes"].split(",") if c.strip())} for r in records(plan.budget_lines)]
    writer.table(BUDGET_COLUMNS, lines, totals_label="Tổng các hạng mục")
    from openpyxl.styles import Font

    for label, value in (
        ("Tổng mức theo đề án (số ghi trong văn bản)", b.stated_total),
        ("Tổng các hạng mục", b.lines_total),
        ("Chênh lệch (tổng mức - tổng các hạng mục)", b.lines_gap),
        ("Tổng phân kỳ vốn các năm", b.phasing_total),
        ("Chênh lệch (tổng mức - tổng phân kỳ)", b.phasing_gap),
    ):
        ws.cell(row=writer.row, column=1, value=label).font = Font(name=FONT_NAME, size=11, bold=True)
        cell = ws.cell(row=writer.row, column=2, value=value)
        cell.number_format, cell.font = MONEY_FORMAT, Font(name=FONT_NAME, size=11, bold=True)
        writer.row += 1
    if b.lines_gap:
        writer.note("Tổng mức ghi trong đề án khác tổng các hạng mục: giữ nguyên cả hai số, không tự điều chỉnh.")
    if plan.warnings:
        writer.blank()
        writer.note("Ghi chú", bold=True)
        for w in plan.warnings:
            writer.note(f"- {w.vi}")
    writer.finish(freeze=False, repeat_header=False)
