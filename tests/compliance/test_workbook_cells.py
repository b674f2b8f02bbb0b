"""Text from the inventory (a site's name, a system's name) in the plan and report workbooks is
written as text: never a formula cell, never an IllegalCharacterError."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from compliance.planner import Plan, build_plan, write_plan_xlsx
from compliance.policy import load_policy
from compliance.report import build_report, write_report_xlsx
from tests.compliance.test_planner import PRICES, province_approved, province_devices, with_prices
from tests.compliance.test_report import compliance_frame, findings_frame, security_frame

HYPERLINK = '=HYPERLINK("http://x","y")'


@pytest.fixture(scope="module")
def plan() -> Plan:
    devices = province_devices()
    devices.loc[devices["site_code"] == "X01", "site_name"] = HYPERLINK
    devices.loc[devices["site_code"] == "P01", "site_name"] = "Văn phòng\x07 \x1b[31mTỉnh ủy"
    return build_plan(devices, province_approved(), with_prices(load_policy(), PRICES))


def cells(path: Path) -> list:
    wb = load_workbook(path)
    return [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row]


def check(path: Path) -> None:
    found = cells(path)
    assert not [c.coordinate for c in found if c.data_type == "f"]
    hyperlinks = [c for c in found if c.value == HYPERLINK]
    assert hyperlinks and all(c.data_type == "s" for c in hyperlinks)
    assert "Văn phòng\ufffd \ufffd[31mTỉnh ủy" in {c.value for c in found}
    assert not [c.coordinate for c in found if isinstance(c.value, str) and ("\x07" in c.value or "\x1b" in c.value)]


def test_plan_workbook(plan: Plan, tmp_path: Path) -> None:
    check(write_plan_xlsx(plan, tmp_path / "ke_hoach.xlsx"))


def test_report_workbook(plan: Plan, tmp_path: Path) -> None:
    by_site = compliance_frame()
    by_site.loc[by_site["site_code"] == "X01", "site_name"] = HYPERLINK
    by_site.loc[by_site["site_code"] == "P01", "site_name"] = "Văn phòng\x07 \x1b[31mTỉnh ủy"
    security = security_frame()
    security.loc[0, "name"] = "@SUM(1+1)*cmd|' /C calc'!A0"
    report = build_report("2026Q3", compliance_by_site=by_site, findings=findings_frame(), plan=plan, security_levels=security, today=date(2026, 9, 25))
    path = write_report_xlsx(report, tmp_path / "bao_cao.xlsx")
    check(path)
    dde = [c for c in cells(path) if c.value == "@SUM(1+1)*cmd|' /C calc'!A0"]
    assert dde and all(c.data_type == "s" for c in dde)
