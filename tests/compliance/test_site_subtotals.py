"""Per-site subtotals are computed once (compliance.planner.with_site_subtotals): the plan page's
rows and the plan workbook's are the same sums, each worded its way."""

from __future__ import annotations

from compliance.planner import PLAN_COLUMNS, PLAN_SUMMED, plan_columns, site_subtotals, summed, with_site_subtotals
from compliance.workbook import SUBTOTAL
from web.procurement import with_site_subtotals as page_rows

ROWS = [
    {"site_code": "A", "site_name": "Xã A", "device_class": "laptop", "approved": 3, "target": 2, "counting": 1, "unknown": 0, "shortfall": 1, "bought_earlier": 0, "to_buy": 1, "cost": 22.125},
    {"site_code": "A", "site_name": "Xã A", "device_class": "printer", "approved": 2, "target": 1, "counting": 0, "unknown": 1, "shortfall": 1, "bought_earlier": 0, "to_buy": 1, "cost": None},
    {"site_code": "B", "site_name": "Xã B", "device_class": "laptop", "approved": 5, "target": 4, "counting": 4, "unknown": 0, "shortfall": 0, "bought_earlier": 0, "to_buy": 0, "cost": None},
]  # fmt: skip


def test_one_computation_two_wordings():
    rows = with_site_subtotals(ROWS)
    assert [(r["site_code"], r[SUBTOTAL]) for r in rows] == [("A", False), ("A", False), ("A", True), ("B", False), ("B", True)]
    a, b = rows[2], rows[4]
    assert (a["rows"], a["approved"], a["to_buy"], a["cost"]) == (2, 5, 2, 22.125) and b["cost"] is None  # no price: no cost
    assert set(PLAN_SUMMED) == {"approved", "target", "counting", "unknown", "shortfall", "bought_earlier", "to_buy", "cost"}

    page = page_rows(ROWS)
    assert [{k: v for k, v in r.items() if k != "subtotal"} for r in page] == [{k: v for k, v in r.items() if k != SUBTOTAL} for r in rows]
    assert [r["subtotal"] for r in page] == [r[SUBTOTAL] for r in rows]

    sheet = site_subtotals(ROWS, plan_columns(PLAN_COLUMNS, True))
    assert sheet[2]["site_name"] == "Cộng A" and sheet[2]["cost"] == 22.12 and sheet[4]["cost"] == 0  # rounded; nothing to add: 0
    assert all(sheet[i][k] == rows[i][k] for i in (2, 4) for k in PLAN_SUMMED if k != "cost")
    assert ROWS[0].get(SUBTOTAL) is None and "subtotal" not in ROWS[0]  # the caller's rows are left as they were


def test_summed_skips_missing_values():
    assert summed([{"cost": None}, {"cost": float("nan")}], ("cost",)) == {"cost": None}
    assert summed([{"cost": 1.5}, {"cost": None}, {"cost": 2}], ("cost",)) == {"cost": 3.5}
