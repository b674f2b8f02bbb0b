"""Reports: the quarter's figures on the page, XLSX and PDF downloads."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from compliance.report import quarter_bounds
from inventory.models import ApprovedQuantity, Device, DeviceCompliance, Site
from web.reports import current_quarter, quarter_choices

pytestmark = pytest.mark.db


@pytest.fixture
def province(engine, seed):
    with Session(engine) as session:
        s1 = session.exec(select(Site).where(Site.code == "S1")).one()
        # One compliant device (evaluated: compliant) next to the seed's two with open findings,
        # never evaluated: unknown, never counted as compliant.
        pc1 = Device(device_class="desktop", site_id=s1.id, hostname="pc1", serial="PC-1", status="in_use")
        session.add(pc1)
        session.flush()
        session.add(DeviceCompliance(device_id=pc1.id, state="compliant", evaluated_at=datetime.now(UTC)))
        session.add(ApprovedQuantity(site_id=s1.id, device_class="laptop", quantity=10))
        session.commit()


def test_current_quarter_by_default_with_its_figures(login_as, province):
    client = login_as("security_officer")
    page = client.get("/reports/").get_data(as_text=True)
    quarter = current_quarter()
    start, _end, due = quarter_bounds(quarter)
    assert f'<option value="{quarter}" selected>' in page
    assert due.strftime("%d/%m/%Y") in page  # the Vietnamese way
    # compliance: pc1 of 3 devices; the three states together
    assert "33% tuân thủ · 0% không tuân thủ · 67% chưa rõ" in page and "3 thiết bị" in page
    # The seed's three findings were opened this quarter and are still open: one per severity.
    assert page.count('<td class="num">1</td><td class="num">1</td><td class="num">0</td><td class="num">0</td>') == 3
    if date.today() > due:
        assert "Quá hạn" in page
    else:
        assert "còn" in page and "Quá hạn" not in page


def test_a_past_quarter_is_overdue_and_planned_figures_show(login_as, province):
    client = login_as("planner")
    page = client.get("/reports/?quarter=2026-q1").get_data(as_text=True)
    assert '<option value="2026Q1" selected>' in page
    if date.today() > date(2026, 3, 22):
        assert "Quá hạn" in page
    # Laptops, 2026: target 4 of 10, none counting -> shortfall 4, buy 4 at 22 = 88.
    assert "Máy tính xách tay" in page and "88,00" in page
    assert 'href="/reports/bao-cao.pdf?quarter=2026Q1"' in page


def test_a_bad_quarter_is_refused_with_a_message(login_as, seed):
    client = login_as("planner")
    page = client.get("/reports/?quarter=2026Q9").get_data(as_text=True)
    assert 'class="flash error"' in page and f'<option value="{current_quarter()}" selected>' in page
    assert client.get("/reports/bao-cao.xlsx?quarter=nope").status_code == 404
    assert client.get("/reports/bao-cao.doc?quarter=2026Q1").status_code == 404


def test_downloads(login_as, province):
    client = login_as("security_officer")
    xlsx = client.get("/reports/bao-cao.xlsx?quarter=2026Q3")
    assert xlsx.status_code == 200 and "bao-cao-2026Q3.xlsx" in xlsx.headers["Content-Disposition"]
    assert len(load_workbook(io.BytesIO(xlsx.data)).sheetnames) >= 1
    pdf = client.get("/reports/bao-cao.pdf?quarter=2026Q3")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")


@pytest.mark.parametrize("role", ["viewer", "technician"])
def test_others_get_403(login_as, seed, role):
    client = login_as(role)
    assert client.get("/reports/").status_code == 403
    assert client.get("/reports/bao-cao.pdf?quarter=2026Q3").status_code == 403


def test_quarter_helpers():
    assert current_quarter(date(2026, 11, 5)) == "2026Q4" and current_quarter(date(2027, 1, 1)) == "2027Q1"
    choices = quarter_choices(date(2026, 5, 1))
    assert choices[0] == "2026Q1" and choices[-1] == "2028Q4" and len(choices) == 12
