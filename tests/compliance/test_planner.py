"""Procurement plan: hand-computed numbers for a small province, budget flags, the printed workbook.

The province (prices fixed here so that an edited prices.yaml does not move the numbers;
schedule and budget phasing are the shipped ĐB ones: endpoints 40/80/100%, network and tablets
100% in 2026; phasing 35,000 / 24,700 / 4,300):

  X01 Xã Mường Phăng   laptop 10 approved, 3 counting (one reaches end of life in 2027) + 1 not
                       counting; firewall 2 approved, 1 counting; access switch 2 approved, 2 counting
  P01 Văn phòng Tỉnh ủy tablet 5 approved, 1 counting; desktop 6 approved, none
  W01 Phường Mường Thanh laptop 5 approved, 5 counting (one reaches end of life in 2028); bml 1 approved

By hand, target = ceil(approved x share), to_buy = max(0, target - counting - bought earlier):
  X01 laptop    counting 3/2/2, target 4/8/10, bought earlier 0/1/6, to_buy 1/5/2  x 22 = 22/110/44
  X01 firewall  counting 1/1/1, target 2/2/2,  bought earlier 0/1/1, to_buy 1/0/0  x 80 = 80/0/0
  X01 switch    counting 2/2/2, target 2/2/2,                        to_buy 0/0/0
  P01 tablet    counting 1/1/1, target 5/5/5,  bought earlier 0/4/4, to_buy 4/0/0  x 35 = 140/0/0
  P01 desktop   counting 0/0/0, target 3/5/6 (ceil 2.4, 4.8, 6), to_buy 3/2/1     x 18 = 54/36/18
  W01 laptop    counting 5/5/4, target 2/4/5,                        to_buy 0/0/1  x 22 = 0/0/22
  W01 bml       not in the schedule: a warning, no row
  Year totals: 2026 9 units 296; 2027 7 units 146; 2028 4 units 84 (million VND).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from compliance.planner import (
    EQUAL,
    NO_PHASING,
    OVER,
    PLAN_COLUMNS,
    UNDER,
    Plan,
    build_plan,
    default_network_approved,
    plan_purchases,
    status_of,
    target_units,
    write_plan_xlsx,
)
from compliance.policy import Policy, load_policy

PRICES = {"firewall": 80, "access_switch": 27, "laptop": 22, "desktop": 18, "tablet": 35, "bml": None}

SITES = {
    "X01": ("Xã Mường Phăng", "commune"),
    "P01": ("Văn phòng Tỉnh ủy", "provincial_agency"),
    "W01": ("Phường Mường Thanh", "ward"),
}


def device(site: str, cls: str, counts: bool = True, eol_year: int | None = None) -> dict:
    name, kind = SITES[site]
    return {"site_code": site, "site_name": name, "site_kind": kind, "device_class": cls,
            "counts": counts, "eol_year": eol_year}  # fmt: skip


def province_devices() -> pd.DataFrame:
    rows = [
        device("X01", "laptop"), device("X01", "laptop", eol_year=2030), device("X01", "laptop", eol_year=2027),
        device("X01", "laptop", counts=False),
        device("X01", "firewall"), device("X01", "access_switch"), device("X01", "access_switch"),
        device("P01", "tablet"),
        *[device("W01", "laptop") for _ in range(4)], device("W01", "laptop", eol_year=2028),
    ]  # fmt: skip
    frame = pd.DataFrame(rows)
    frame["eol_year"] = frame["eol_year"].astype("Int64")
    return frame


def province_approved() -> pd.DataFrame:
    return pd.DataFrame(
        [("X01", "laptop", 10), ("X01", "firewall", 2), ("X01", "access_switch", 2),
         ("P01", "tablet", 5), ("P01", "desktop", 6), ("W01", "laptop", 5), ("W01", "bml", 1)],
        columns=["site_code", "device_class", "quantity"],
    )  # fmt: skip


def with_prices(policy: Policy, prices: dict) -> Policy:
    return policy.model_copy(update={"prices": policy.prices.model_copy(update={"unit_prices": prices})})


def with_phasing(policy: Policy, phasing: dict[int, float]) -> Policy:
    plans = tuple(p.model_copy(update={"phasing": phasing}) if p.id == "db_2026_2030" else p for p in policy.budget.plans)
    return policy.model_copy(update={"budget": policy.budget.model_copy(update={"plans": plans})})


@pytest.fixture(scope="module")
def policy() -> Policy:
    return with_prices(load_policy(), PRICES)


@pytest.fixture(scope="module")
def plan(policy: Policy) -> Plan:
    return build_plan(province_devices(), province_approved(), policy)


def line(plan: Plan, site: str, cls: str, column: str) -> list:
    part = plan.rows[(plan.rows["site_code"] == site) & (plan.rows["device_class"] == cls)].sort_values("year")
    return part[column].tolist()


# ------------------------------------------------------------------ arithmetic


def test_target_is_exact_ceiling() -> None:
    assert target_units(10, 40) == 4
    assert target_units(6, 40) == 3  # 2.4 -> 3
    assert target_units(5, 60) == 3  # 5 * 0.6 is 3.0000000000000004 in floats
    assert target_units(3, 100) == 3
    assert target_units(0, 40) == 0


def test_purchases_are_cumulative_and_respect_service_life() -> None:
    years = [2026, 2027, 2028]
    assert [p.to_buy for p in plan_purchases(10, [3, 2, 2], [40, 80, 100], years, 5)] == [1, 5, 2]
    assert [p.bought_earlier for p in plan_purchases(10, [3, 2, 2], [40, 80, 100], years, 5)] == [0, 1, 6]
    # a one-year service life: what was bought in 2026 no longer counts in 2027
    assert [p.to_buy for p in plan_purchases(2, [0, 0], [100, 100], [2026, 2027], 1)] == [2, 2]
    # never negative when the stock already exceeds the target
    assert [p.to_buy for p in plan_purchases(2, [5, 5], [40, 80], [2026, 2027], 5)] == [0, 0]


def test_laptops_of_the_brief(plan: Plan) -> None:
    assert plan.years == load_policy().schedule.years == (2026, 2027, 2028)  # the default: the schedule's years
    assert line(plan, "X01", "laptop", "approved") == [10, 10, 10]
    assert line(plan, "X01", "laptop", "counting") == [3, 2, 2]
    assert line(plan, "X01", "laptop", "share_pct") == [40, 80, 100]
    assert line(plan, "X01", "laptop", "target") == [4, 8, 10]
    assert line(plan, "X01", "laptop", "bought_earlier") == [0, 1, 6]
    assert line(plan, "X01", "laptop", "to_buy") == [1, 5, 2]
    assert line(plan, "X01", "laptop", "unit_price") == [22, 22, 22]
    assert line(plan, "X01", "laptop", "cost") == [22, 110, 44]


def test_network_tablets_and_desktops(plan: Plan) -> None:
    assert line(plan, "X01", "firewall", "target") == [2, 2, 2]
    assert line(plan, "X01", "firewall", "to_buy") == [1, 0, 0]
    assert line(plan, "X01", "firewall", "cost") == [80, 0, 0]
    assert line(plan, "X01", "access_switch", "to_buy") == [0, 0, 0]
    assert line(plan, "P01", "tablet", "to_buy") == [4, 0, 0]
    assert line(plan, "P01", "tablet", "cost") == [140, 0, 0]
    assert line(plan, "P01", "desktop", "target") == [3, 5, 6]
    assert line(plan, "P01", "desktop", "to_buy") == [3, 2, 1]
    assert line(plan, "P01", "desktop", "cost") == [54, 36, 18]


def test_surplus_does_not_offset_and_end_of_life_is_used(plan: Plan) -> None:
    # W01 has more laptops than its 2026/2027 targets; X01's shortfall is still bought
    assert line(plan, "W01", "laptop", "counting") == [5, 5, 4]
    assert line(plan, "W01", "laptop", "to_buy") == [0, 0, 1]
    assert line(plan, "W01", "laptop", "cost") == [0, 0, 22]


def test_site_names_and_unscheduled_class(plan: Plan) -> None:
    names = dict(zip(plan.rows["site_code"], plan.rows["site_name"], strict=True))
    assert names == {code: name for code, (name, _) in SITES.items()}
    assert "bml" not in set(plan.rows["device_class"])
    assert any(w.en.startswith("bml: 1 approved unit(s) at 1 site(s)") for w in plan.warnings)
    assert all(w.vi for w in plan.warnings)


def test_totals_by_class_and_year(plan: Plan) -> None:
    by_class = plan.by_class.set_index(["year", "device_class"])
    assert by_class.loc[(2026, "laptop"), "to_buy"] == 1  # X01 1 + W01 0
    assert by_class.loc[(2028, "laptop"), "to_buy"] == 3  # X01 2 + W01 1
    assert by_class.loc[(2028, "laptop"), "cost"] == 66
    assert by_class.loc[(2026, "tablet"), "cost"] == 140
    totals = plan.totals.set_index("year")
    assert totals["units"].to_dict() == {2026: 9, 2027: 7, 2028: 4}
    assert totals["cost"].to_dict() == {2026: 296, 2027: 146, 2028: 84}
    assert totals["phasing"].to_dict() == {2026: 35000, 2027: 24700, 2028: 4300}
    assert totals["difference"].to_dict() == {2026: -34704, 2027: -24554, 2028: -4216}
    assert set(totals["status"]) == {UNDER}
    assert totals["unpriced_units"].sum() == 0


def test_budget_figures_are_shown_side_by_side(plan: Plan) -> None:
    b = plan.budget
    assert (b.stated_total, b.lines_total, b.lines_gap) == (64000, 60485.95, 3514.05)
    assert (b.phasing_total, b.phasing_gap) == (64000, 0)
    lines = plan.budget_lines.set_index("line_id")
    assert lines.loc["security_devices", "amount"] == 11341
    assert lines.loc["security_devices", "planned_cost"] == 80
    assert lines.loc["endpoints", "planned_cost"] == 22 + 110 + 44 + 54 + 36 + 18 + 22
    assert lines.loc["tablets", "planned_cost"] == 140
    assert lines.loc["tablets", "difference"] == 140 - 1400
    assert pd.isna(lines.loc["training", "planned_cost"])
    assert round(lines["amount"].sum(), 2) == 60485.95


def test_over_equal_under_and_missing_phasing(policy: Policy) -> None:
    tight = with_phasing(policy, {2026: 200, 2027: 146, 2028: 100})
    plan = build_plan(province_devices(), province_approved(), tight, years=(2026, 2027, 2028, 2029))
    totals = plan.totals.set_index("year")
    assert totals["status"].to_dict() == {2026: OVER, 2027: EQUAL, 2028: UNDER, 2029: NO_PHASING}
    assert totals.loc[2026, "difference"] == 96
    assert pd.isna(totals.loc[2029, "difference"])
    assert status_of(100.004, 100) == EQUAL and status_of(100.01, 100) == OVER


def test_unpriced_class_is_flagged_not_zeroed(policy: Policy) -> None:
    plan = build_plan(province_devices(), province_approved(), with_prices(policy, PRICES | {"tablet": None}))
    assert pd.isna(line(plan, "P01", "tablet", "cost")[0])
    assert plan.totals.set_index("year").loc[2026, "unpriced_units"] == 4
    assert plan.totals.set_index("year").loc[2026, "cost"] == 296 - 140
    assert any("tablet: no unit price" in w.en for w in plan.warnings)


def test_input_errors(policy: Policy) -> None:
    with pytest.raises(ValueError, match="devices: missing column.*eol_year"):
        build_plan(province_devices().drop(columns="eol_year"), province_approved(), policy)
    with pytest.raises(ValueError, match="unknown device class.*toaster"):
        build_plan(province_devices(), pd.DataFrame([("X01", "toaster", 1)], columns=["site_code", "device_class", "quantity"]), policy)
    with pytest.raises(ValueError, match="whole number"):
        build_plan(province_devices(), pd.DataFrame([("X01", "laptop", 1.5)], columns=["site_code", "device_class", "quantity"]), policy)


def test_duplicates_are_added_with_a_warning_and_sites_without_devices(policy: Policy) -> None:
    approved = pd.DataFrame([("N01", "laptop", 3), ("N01", "laptop", 2)], columns=["site_code", "device_class", "quantity"])
    sites = pd.DataFrame([("N01", "Xã Na Son", "commune")], columns=["site_code", "site_name", "site_kind"])
    plan = build_plan(province_devices().iloc[0:0], approved, policy, sites=sites)
    assert line(plan, "N01", "laptop", "approved") == [5, 5, 5]
    assert line(plan, "N01", "laptop", "to_buy") == [2, 2, 1]
    assert plan.rows["site_name"].iloc[0] == "Xã Na Son"
    assert any("duplicate" in w.en for w in plan.warnings)


def test_default_network_approved() -> None:
    frame = default_network_approved(["X01", "X02"])
    assert frame.to_dict("records") == [
        {"site_code": "X01", "device_class": "firewall", "quantity": 2},
        {"site_code": "X01", "device_class": "access_switch", "quantity": 2},
        {"site_code": "X02", "device_class": "firewall", "quantity": 2},
        {"site_code": "X02", "device_class": "access_switch", "quantity": 2},
    ]


def test_to_json(plan: Plan) -> None:
    data = json.loads(json.dumps(plan.to_json()))
    assert data["years"] == [2026, 2027, 2028]
    assert len(data["rows"]) == 6 * 3
    assert data["budget"]["lines_gap"] == 3514.05
    assert [t["cost"] for t in data["totals"]] == [296, 146, 84]
    assert data["warnings"][0]["vi"] and data["warnings"][0]["en"]


# ------------------------------------------------------------------ workbook


def table(ws, header_row: int) -> tuple[list, list[list], list]:
    """(header, body rows, totals row) of the table whose header is at `header_row`."""
    rows = [list(r) for r in ws.iter_rows(min_row=header_row, values_only=True)]
    header, rest = rows[0], rows[1:]
    end = next(i for i, r in enumerate(rest) if r[0] == "Tổng cộng")
    body = [r for r in rest[:end] if not str(r[2] or "").startswith("Cộng ")]  # without the per-site subtotal rows
    return header, body, rest[end]


def test_workbook(plan: Plan, tmp_path: Path) -> None:
    path = write_plan_xlsx(plan, tmp_path / "ke_hoach.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Tổng hợp", "Năm 2026", "Năm 2027", "Năm 2028"]

    ws = wb["Năm 2027"]
    assert ws["A1"].value == "KẾ HOẠCH MUA SẮM THIẾT BỊ NĂM 2027"
    header, body, totals = table(ws, 5)
    for expected in ("Mã đơn vị", "Tên đơn vị", "Loại thiết bị", "Số lượng được duyệt", "Hiện có đạt chuẩn",
                     "Tỷ lệ kế hoạch (%)", "Chỉ tiêu", "Mua sắm dự kiến trong năm", "Đơn giá (triệu đồng)", "Thành tiền (triệu đồng)"):  # fmt: skip
        assert expected in header
    assert header == [c.header for c in PLAN_COLUMNS]
    col = {h: i for i, h in enumerate(header)}
    assert len(body) == 6
    x01_laptop = next(r for r in body if r[col["Mã đơn vị"]] == "X01" and r[col["Loại thiết bị"]] == "Máy tính xách tay")
    assert x01_laptop[col["Chỉ tiêu"]] == 8 and x01_laptop[col["Mua sắm dự kiến trong năm"]] == 5
    assert x01_laptop[col["Thành tiền (triệu đồng)"]] == 110
    assert totals[col["Mua sắm dự kiến trong năm"]] == 7
    assert totals[col["Thành tiền (triệu đồng)"]] == 146

    ws = wb["Năm 2026"]
    assert all(ws.cell(row=5, column=i).font.b for i in range(1, len(PLAN_COLUMNS) + 1))
    assert ws.freeze_panes == "A6"
    assert ws.print_title_rows == "$5:$5"
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9  # A4
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.column_dimensions["C"].width >= 25
    cost_col = [c.key for c in PLAN_COLUMNS].index("cost") + 1
    assert ws.cell(row=6, column=cost_col).number_format == "[$-42A]#,##0.00"  # Vietnamese locale: 60.485,95
    assert ws.cell(row=6, column=cost_col - 2).number_format == "[$-42A]#,##0"  # to_buy
    _, _, totals26 = table(ws, 5)
    assert totals26[cost_col - 1] == 296

    summary = [v for row in wb["Tổng hợp"].iter_rows(values_only=True) for v in row if v is not None]
    assert "TỔNG HỢP KẾ HOẠCH MUA SẮM THIẾT BỊ" in summary
    for figure in (64000, 60485.95, 3514.05, 35000, 24700, 4300, -34704):
        assert figure in summary
    assert "Trong phân kỳ" in summary
    assert any(isinstance(v, str) and "Thiết bị bảo mật kênh truyền (BML)" in v for v in summary)  # the warning, in Vietnamese
