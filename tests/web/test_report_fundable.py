"""The quarterly report's downloads carry the fundable plan of the quarter's year (issue 16): the
same figures as the fundable plan page keeps (web.fundable.fitted), sheets VI.1 and VI.2."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from compliance.report import fundable_year
from inventory.models import ApprovedQuantity, Site

pytestmark = pytest.mark.db


@pytest.fixture
def approved(engine, seed):
    with Session(engine) as session:
        s1 = session.exec(select(Site).where(Site.code == "S1")).one()
        session.add(ApprovedQuantity(site_id=s1.id, device_class="laptop", quantity=10))
        session.commit()


def test_report_workbook_has_the_fundable_plan_of_its_year(login_as, approved, app):
    client = login_as("planner")
    response = client.get("/reports/bao-cao.xlsx?quarter=2026Q4")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    assert {"Theo khả năng vốn", "Chưa đạt chỉ tiêu"} <= set(wb.sheetnames)
    with app.test_request_context():
        from web.fundable import fitted

        expected = fundable_year(fitted(None), 2026)
    assert expected is not None and expected.units > 0  # S1 lacks 10 laptops; 2026's money buys them
    cells = [row for row in wb["Theo khả năng vốn"].iter_rows(values_only=True)]
    total = next(row for row in cells if row[0] == "Tổng cộng")
    assert total[3:6] == (expected.units, pytest.approx(expected.spent), expected.risk)  # units, cost, risk: numbers
    summary = [row for row in wb["Tổng hợp"].iter_rows(values_only=True) if row[0] == "Mua sắm theo khả năng vốn năm 2026"]
    assert summary


def test_report_outside_the_plan_has_no_fundable_sheet(login_as, approved):
    response = login_as("planner").get("/reports/bao-cao.xlsx?quarter=2025Q4")
    assert response.status_code == 200
    assert "Theo khả năng vốn" not in load_workbook(io.BytesIO(response.data)).sheetnames
