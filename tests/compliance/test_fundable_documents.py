"""Where people read the fundable plan (issue 16, item 4) on the demo province: the plan workbook's
fundable sheets hold the very numbers of compliance.fundable (numbers as numbers, Vietnamese
format, filter buttons, A4), and the quarterly report (workbook and PDF) has its year's section."""

from __future__ import annotations

from datetime import date
from io import BytesIO

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlmodel import Session

from compliance.fundable import fundable_from_inventory
from compliance.planner import write_plan_xlsx
from compliance.policy import shipped_policy
from compliance.report import fundable_year, with_fundable, write_report_xlsx
from compliance.report_pdf import ReportPdfError, write_report_pdf
from compliance.service import plan_from_inventory, report_from_inventory
from compliance.workbook import VI_LOCALE, class_label, vi_number
from inventory.demo import load_demo

pytestmark = pytest.mark.db

TODAY = date(2026, 12, 1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo province, its procurement plan and fundable plan, and its 2026Q4 report."""
    from inventory import db

    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite3'}"
    db.upgrade(url)
    engine = db.engine_for(url)
    policy = shipped_policy()
    with Session(engine) as session:
        load_demo(session, actor="test")
        session.commit()
        plan = plan_from_inventory(session, policy, TODAY)
        fundable = fundable_from_inventory(session, policy, TODAY)
        report = report_from_inventory(session, policy, "2026Q4", TODAY)
    engine.dispose()
    return plan, fundable, report


def table(ws, first_header: str) -> tuple[int, list[str], list[dict]]:
    """(header row, headers, rows as dicts) of the table whose first header cell is `first_header`;
    rows stop at the totals row or the first empty one."""
    header_row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == first_header)
    headers = [ws.cell(header_row, c).value for c in range(1, ws.max_column + 1)]
    rows = []
    for r in range(header_row + 1, ws.max_row + 1):
        first = ws.cell(r, 1).value
        if first is None or first == "Tổng cộng":
            break
        rows.append({h: ws.cell(r, c).value for c, h in enumerate(headers, start=1) if h})
    return header_row, headers, rows


def test_plan_workbook_fundable_sheets_hold_the_plans_numbers(demo, tmp_path) -> None:
    plan, fundable, _ = demo
    path = write_plan_xlsx(plan, tmp_path / "plan.xlsx", fundable)
    wb = load_workbook(path)
    assert wb.sheetnames[-4:] == ["Theo khả năng vốn", "Mua theo vốn", "Hoãn mua", "Chưa đạt chỉ tiêu"]

    # Bought: one row per year x site x class with its budget line, numbers as numbers.
    ws = wb["Mua theo vốn"]
    header, headers, rows = table(ws, "Năm")
    assert "Hạng mục kinh phí" in headers and "Thành tiền (triệu đồng)" in headers
    assert len(rows) == len(fundable.bought) > 0
    expected = {(r.year, r.site_code, class_label(r.device_class)): r for r in fundable.bought.itertuples()}
    line_titles = dict(fundable.line_titles)
    for row in rows:
        want = expected[(row["Năm"], row["Mã đơn vị"], row["Loại thiết bị"])]
        assert isinstance(row["Số lượng mua"], int) and row["Số lượng mua"] == want.units
        assert row["Thành tiền (triệu đồng)"] == pytest.approx(want.cost)
        assert row["Hạng mục kinh phí"] == line_titles[want.line_id]
    totals = next(r for r in range(header + 1, ws.max_row + 1) if ws.cell(r, 1).value == "Tổng cộng")
    units_col = headers.index("Số lượng mua") + 1
    assert ws.cell(totals, units_col).value == int(fundable.bought["units"].sum())
    assert ws.cell(header + 1, units_col).number_format.startswith(VI_LOCALE)
    assert ws.auto_filter.ref == f"A{header}:{ws.cell(header, len(headers)).column_letter}{header + len(rows)}"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1 and ws.print_title_rows

    # Deferred: every unit not bought in its first year, with its reason in Vietnamese.
    ws = wb["Hoãn mua"]
    _, headers, rows = table(ws, "Năm cần mua")
    assert len(rows) == len(fundable.deferred) > 0
    assert sorted(r["Lý do hoãn"] for r in rows) == sorted(fundable.deferred["reason_vi"])
    assert ws.auto_filter.ref

    # Missed: the sites below a target and by how much (units and what they would cost).
    ws = wb["Chưa đạt chỉ tiêu"]
    _, headers, rows = table(ws, "Năm")
    assert len(rows) == len(fundable.missed) > 0
    assert sum(r["Còn thiếu so với chỉ tiêu"] for r in rows) == int(fundable.missed["missing"].sum())
    prices = shipped_policy().prices.unit_prices
    for row, want in zip(rows, fundable.missed.itertuples(), strict=True):
        assert (row["Mã đơn vị"], row["Năm"], row["Còn thiếu so với chỉ tiêu"]) == (want.site_code, want.year, want.missing)
        assert row["Kinh phí còn thiếu (triệu đồng)"] == pytest.approx(want.missing * prices[want.device_class])
        assert row["Đạt so với số được duyệt (%)"] == pytest.approx(round(100 * want.in_place / want.approved, 1))
    assert ws.auto_filter.ref


def test_fundable_year_adds_up_to_the_plan(demo) -> None:
    _, fundable, _ = demo
    for year in fundable.years:
        f = fundable_year(fundable, year)
        bought = fundable.bought[fundable.bought["year"] == year]
        assert f.units == int(bought["units"].sum()) and int(f.by_site["units"].sum()) == f.units
        assert float(f.by_site["cost"].sum()) == pytest.approx(f.spent, abs=0.01)
        assert f.deferred_units == int((fundable.deferred["available_year"] == year).sum())
        assert f.sites_missing == fundable.missed[fundable.missed["year"] == year]["site_code"].nunique()
    assert fundable_year(fundable, fundable.years[-1] + 1) is None


def test_quarterly_report_has_the_fundable_section_of_its_year(demo, tmp_path) -> None:
    _, fundable, report = demo
    assert report.fundable is None and report.to_json()["fundable"] is None  # attached by the caller
    report = with_fundable(report, fundable)
    f = report.fundable
    assert f is not None and f.year == 2026 and f.units > 0 and report.to_json()["fundable"]["units"] == f.units

    wb = load_workbook(write_report_xlsx(report, tmp_path / "report.xlsx"))
    ws = wb["Theo khả năng vốn"]
    _, headers, rows = table(ws, "Mã đơn vị")
    assert len(rows) == len(f.by_site) and "Hạng mục kinh phí" in headers
    assert sum(r["Số thiết bị"] for r in rows) == f.units
    assert sum(r["Thành tiền (triệu đồng)"] for r in rows) == pytest.approx(f.spent, abs=0.01)
    _, _, missed = table(wb["Chưa đạt chỉ tiêu"], "Mã đơn vị")
    assert sum(r["Còn thiếu so với chỉ tiêu"] for r in missed) == int(f.missed["missing"].sum())
    summary = [ws_row for ws_row in wb["Tổng hợp"].iter_rows(values_only=True) if ws_row[0] == "Mua sắm theo khả năng vốn năm 2026"]
    assert summary and summary[0][1] == f"{vi_number(f.units)} thiết bị, {vi_number(f.spent, 2)} triệu đồng"

    try:
        pdf = write_report_pdf(report, tmp_path / "report.pdf")
    except ReportPdfError as exc:  # no DejaVu font here
        pytest.skip(str(exc))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(BytesIO(pdf.read_bytes())).pages)
    assert "VI.1. Mua sắm theo khả năng vốn năm 2026" in text
    assert "VI.2. Đơn vị chưa đạt chỉ tiêu năm 2026" in text
    assert f"{vi_number(f.units)} thiết bị, {vi_number(f.spent, 2)} triệu đồng" in text
    assert f"chuyển sang năm sau: {vi_number(f.carried_over, 2)}" in text


def test_report_outside_the_plan_years_is_unchanged(demo) -> None:
    _, fundable, report = demo
    from dataclasses import replace

    later = replace(report, start=date(fundable.years[-1] + 1, 1, 1))
    assert with_fundable(later, fundable) is later
