"""Procurement: the plan per year by site x class, totals against the phasing, the workbook."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from inventory.models import ApprovedQuantity, Site
from web.procurement import bar_chart

pytestmark = pytest.mark.db


@pytest.fixture
def approved(engine, seed):
    with Session(engine) as session:
        s1 = session.exec(select(Site).where(Site.code == "S1")).one()
        session.add_all([
            ApprovedQuantity(site_id=s1.id, device_class="laptop", quantity=10),
            ApprovedQuantity(site_id=s1.id, device_class="firewall", quantity=2),
            ApprovedQuantity(site_id=s1.id, device_class="access_switch", quantity=2),
        ])  # fmt: skip
        session.commit()


def test_plan_page_shows_the_years_numbers(login_as, approved):
    client = login_as("planner")
    page = client.get("/procurement/?year=2027").get_data(as_text=True)
    # Laptops: 10 approved, none counting (the only one has an open finding): 4/8/10 -> buy 4, 4, 2 at 22.
    # 2026 also buys 2 firewalls (80) and 2 switches (27): 88 + 160 + 54 = 302.
    assert "Kế hoạch năm 2027" in page
    assert "302,00" in page and "35.000,00" in page and "24.700,00" in page  # totals and phasing
    assert "64.000,00" in page and "60.485,95" in page and "3.514,05" in page  # stated vs lines, gap
    assert "<svg" in page and 'class="bar-cost"' in page and 'class="bar-phasing"' in page
    assert "Máy tính xách tay" in page and ">88,00<" in page  # 2027: 4 laptops
    page_2028 = client.get("/procurement/?year=2028").get_data(as_text=True)
    assert "Kế hoạch năm 2028" in page_2028 and ">44,00<" in page_2028
    # Out-of-range or junk years fall back to a plan year.
    assert client.get("/procurement/?year=1999").status_code == 200
    assert client.get("/procurement/?year=abc").status_code == 200


def test_english_numbers(login_as, approved):
    client = login_as("planner")
    with client.session_transaction() as session:
        session["lang"] = "en"
    page = client.get("/procurement/?year=2026").get_data(as_text=True)
    assert "302.00" in page and "35,000.00" in page


def test_empty_plan_renders(login_as, seed):
    page = login_as("admin").get("/procurement/").get_data(as_text=True)
    assert "Chưa có số lượng được duyệt" in page


def test_xlsx_download_is_a_workbook_with_the_summary_sheet(login_as, approved):
    response = login_as("planner").get("/procurement/ke-hoach.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames[0] == "Tổng hợp" and "Năm 2027" in workbook.sheetnames


@pytest.mark.parametrize("role", ["viewer", "technician", "security_officer"])
def test_others_get_403(login_as, seed, role):
    client = login_as(role)
    assert client.get("/procurement/").status_code == 403
    assert client.get("/procurement/ke-hoach.xlsx").status_code == 403


def test_bar_chart_geometry():
    chart = bar_chart([{"label": "2026", "values": {"a": 50, "b": 100}}, {"label": "2027", "values": {"a": 0, "b": None}}], [("a", "x"), ("b", "y")])
    bars = {(b["label"], b["key"]): b for b in chart["bars"]}
    assert ("2027", "b") not in bars  # missing values are not drawn
    assert bars[("2026", "b")]["h"] == 2 * bars[("2026", "a")]["h"] == chart["bottom"] - chart["top"]
    assert bars[("2027", "a")]["h"] == 0
    assert chart["ticks"][-1]["value"] == 100
