"""One answer per question: for the same year the procurement page and the quarterly report (page
and XLSX) show the same figure under the same label, and different figures under different labels
("Mua sắm dự kiến trong năm" = purchases planned this year, "Còn thiếu nếu từ nay không mua thêm" =
still missing if nothing is bought from now). The site tile and the report count the same devices.

The province, S1 laptops (10 approved; target 4/8/10 in 2026/2027/2028):
  2 in use, bought 2025 (count until 2030)     1 in use on Windows 10 LTSC 2021 (support ends 2027)
  1 in use, bought 2021 (service life ends 2026) 1 in use with an open finding
  1 broken, 1 in stock, 1 disposed (never counted anywhere)
so in 2026 three count: the plan buys 1 in 2026 and, in 2027, 8 - 2 - 1 = 5 while the 2027 target
still lacks 6 if nothing is bought from now: two questions, two figures, two labels.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook
from sqlmodel import Session

from compliance.policy import shipped_policy
from compliance.service import fleet_frame, plan_from_inventory, report_from_inventory
from compliance.workbook import SHORTFALL_LABEL, TO_BUY_LABEL, records
from inventory.models import ApprovedQuantity, Device, Finding
from inventory.settings import Settings
from tests.inventory.factories import make_province, one_user_per_role
from tests.web.conftest import PASSWORD, login
from web import create_app
from web.procurement import year_view

pytestmark = pytest.mark.db

YEAR = 2027  # the first year where "planned this year" and "still missing" differ
LAPTOP_VI = "Máy tính xách tay"


@pytest.fixture
def province(engine) -> dict[str, str]:
    with Session(engine) as session:
        sites = make_province(session, sites=2)
        s1, s2 = sites["S1"], sites["S2"]
        session.add_all([
            ApprovedQuantity(site_id=s1["site"], device_class="laptop", quantity=10),
            ApprovedQuantity(site_id=s1["site"], device_class="firewall", quantity=2),
            ApprovedQuantity(site_id=s1["site"], device_class="access_switch", quantity=2),
            ApprovedQuantity(site_id=s2["site"], device_class="laptop", quantity=4),
        ])  # fmt: skip

        def laptop(n: int, site: dict[str, int], **fields) -> Device:
            return Device(device_class="laptop", site_id=site["site"], zone_id=site["internet"], hostname=f"lt{n}", serial=f"SN-LT{n}", **fields)

        recent = date(2025, 3, 1)
        flagged = laptop(5, s1, purchase_date=recent)
        session.add_all([
            laptop(1, s1, purchase_date=recent),
            laptop(2, s1, purchase_date=recent),
            laptop(3, s1, purchase_date=recent, os_name="Windows 10 Enterprise LTSC", os_version="21H2"),
            laptop(4, s1, purchase_date=date(2021, 6, 1)),
            flagged,
            laptop(6, s1, purchase_date=recent, status="broken"),
            laptop(7, s1, purchase_date=recent, status="in_stock"),
            laptop(8, s1, purchase_date=recent, status="disposed"),
            laptop(9, s2, purchase_date=recent),
            Device(device_class="firewall", site_id=s1["site"], zone_id=s1["party_wan"], hostname="fw1", serial="SN-FW1", purchase_date=recent),
        ])  # fmt: skip
        session.flush()
        session.add(Finding(rule_id="ep.os_supported", subject_key=f"device:{flagged.id}", device_id=flagged.id, site_id=s1["site"],
                            severity="high", first_seen=datetime(2026, 1, 5, tzinfo=UTC)))  # fmt: skip
        users = one_user_per_role(session, "mot", PASSWORD)
        session.commit()
        return users


@pytest.fixture
def client(engine, db_url, tmp_path, province):
    app = create_app(Settings(home=tmp_path / "home", database_url=db_url), {"TESTING": True})
    client = app.test_client()
    assert login(client, province["planner"]).status_code == 302
    return client


# ------------------------------------------------------------------ reading pages back


class _Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts (th and td alike)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self.tables and self.tables[-1]:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def table_with(html: str, *headers: str) -> list[dict[str, str]]:
    """The rows (as header -> text) of the page's table whose header row holds all `headers`."""
    for table in tables(html):
        if table and all(h in table[0] for h in headers):
            return [dict(zip(table[0], row, strict=False)) for row in table[1:]]
    raise AssertionError(f"no table with headers {headers}")


def vi(text: str) -> float:
    """A number as the Vietnamese pages print it: 1.234,50."""
    return float(text.replace(".", "").replace(",", "."))


def xlsx_table(ws, first_header: str) -> list[dict[str, object]]:
    rows = list(ws.iter_rows(values_only=True))
    at = next(i for i, row in enumerate(rows) if row[0] == first_header)
    return [dict(zip(rows[at], row, strict=False)) for row in rows[at + 1 :] if row[0] is not None]


# ------------------------------------------------------------------ the tests


def test_the_page_and_the_report_read_the_same_plan_for_every_year(engine, province):
    policy, today = shipped_policy(), date.today()
    with Session(engine) as session:
        fleet = fleet_frame(session, policy, today)
        plan = plan_from_inventory(session, policy, today, years=policy.schedule.years, fleet=fleet)  # as web/procurement.py
        for year in policy.schedule.years:
            page = year_view(plan, year)
            report = report_from_inventory(session, policy, f"{year}Q1", today)
            page_classes = {r["device_class"]: r for r in page["by_class"]}
            progress = {r["device_class"]: r for r in records(report.progress)}
            bought = {r["device_class"]: r for r in records(report.procurement)}
            assert set(page_classes) == set(progress) == set(bought) == {"firewall", "access_switch", "laptop"}
            for cls, p in page_classes.items():
                for key in ("approved", "target", "counting", "shortfall"):
                    assert p[key] == progress[cls][key], (year, cls, key)
                for key in ("to_buy", "cost", "unpriced_units"):
                    assert p[key] == bought[cls][key], (year, cls, key)
            assert page["year_total"] == report.procurement_total, year
    # The figures behind the two labels differ, so both are needed.
    laptops = {r["year"]: r for r in records(plan.by_class) if r["device_class"] == "laptop"}
    assert laptops[YEAR]["to_buy"] < laptops[YEAR]["shortfall"]


def test_pages_and_xlsx_show_one_figure_per_label(client):
    procurement = client.get(f"/procurement/?year={YEAR}").get_data(as_text=True)
    report_page = client.get(f"/reports/?quarter={YEAR}Q2").get_data(as_text=True)
    assert TO_BUY_LABEL in procurement and SHORTFALL_LABEL in procurement
    assert TO_BUY_LABEL in report_page and SHORTFALL_LABEL in report_page

    by_class = {r["Loại thiết bị"]: r for r in table_with(procurement, "Loại thiết bị", "Mục tiêu", SHORTFALL_LABEL, TO_BUY_LABEL, "Kinh phí")}
    laptops = by_class[LAPTOP_VI]
    progress = {r["Loại thiết bị"]: r for r in table_with(report_page, "Loại thiết bị", "Mục tiêu", SHORTFALL_LABEL)}
    buying = {r["Loại thiết bị"]: r for r in table_with(report_page, "Loại thiết bị", TO_BUY_LABEL, "Kinh phí (triệu đồng)")}
    # Same label, same figure.
    for header in ("Được duyệt", "Mục tiêu", "Hiện có đạt", SHORTFALL_LABEL):
        assert vi(progress[LAPTOP_VI][header]) == vi(laptops[header]), header
    assert vi(buying[LAPTOP_VI][TO_BUY_LABEL]) == vi(laptops[TO_BUY_LABEL])
    assert vi(buying[LAPTOP_VI]["Kinh phí (triệu đồng)"]) == vi(laptops["Kinh phí"])
    # Different meaning, different figure, different label: no column of the report says
    # "to buy" over the shortfall.
    assert vi(laptops[TO_BUY_LABEL]) < vi(laptops[SHORTFALL_LABEL])
    assert "Cần mua" not in report_page and "Cần mua" not in procurement

    # One site and class: S1's laptops in the site x class table; with S2's they make the class row.
    site_rows, site = [], ""
    for row in table_with(procurement, "Đơn vị", "Loại thiết bị", SHORTFALL_LABEL, "Đã mua năm trước", TO_BUY_LABEL):
        if row["Đơn vị"]:  # the site is named on its first row only
            site = row["Đơn vị"].split(" ")[0]
        site_rows.append((site, row))
    laptop_rows = {s: r for s, r in site_rows if r["Loại thiết bị"] == LAPTOP_VI}
    assert set(laptop_rows) == {"S1", "S2"}
    s1 = laptop_rows["S1"]
    assert vi(s1[TO_BUY_LABEL]) == vi(s1["Mục tiêu"]) - vi(s1["Hiện có đạt"]) - vi(s1["Đã mua năm trước"]) > 0
    assert vi(s1[SHORTFALL_LABEL]) == vi(s1["Mục tiêu"]) - vi(s1["Hiện có đạt"])
    for header in (TO_BUY_LABEL, SHORTFALL_LABEL):
        assert sum(vi(r[header]) for r in laptop_rows.values()) == vi(laptops[header]), header

    # The report's workbook prints the page's figures under the same labels.
    xlsx = client.get(f"/reports/bao-cao.xlsx?quarter={YEAR}Q2")
    assert xlsx.status_code == 200
    wb = load_workbook(io.BytesIO(xlsx.data))
    progress_sheet = {r["Loại thiết bị"]: r for r in xlsx_table(wb["Tiến độ trang bị"], "Loại thiết bị")}
    buying_sheet = {r["Loại thiết bị"]: r for r in xlsx_table(wb["Mua sắm"], "Loại thiết bị")}
    assert progress_sheet[LAPTOP_VI][SHORTFALL_LABEL] == vi(laptops[SHORTFALL_LABEL])
    assert progress_sheet[LAPTOP_VI]["Chỉ tiêu"] == vi(laptops["Mục tiêu"])
    assert progress_sheet[LAPTOP_VI]["Hiện có đạt chuẩn"] == vi(laptops["Hiện có đạt"])
    assert buying_sheet[LAPTOP_VI][TO_BUY_LABEL] == vi(laptops[TO_BUY_LABEL])
    assert buying_sheet[LAPTOP_VI]["Thành tiền (triệu đồng)"] == vi(laptops["Kinh phí"])
    assert TO_BUY_LABEL not in progress_sheet[LAPTOP_VI] and SHORTFALL_LABEL not in buying_sheet[LAPTOP_VI]


def test_numbers_follow_the_language(client):
    """One number format per language: the page and the report print a figure alike."""
    with client.session_transaction() as session:
        session["lang"] = "en"
    procurement = client.get(f"/procurement/?year={YEAR}").get_data(as_text=True)
    report_page = client.get(f"/reports/?quarter={YEAR}Q2").get_data(as_text=True)
    assert "Purchases planned this year" in procurement and "Still missing if nothing is bought from now" in report_page
    assert "24,700.00" in procurement and "24,700.00" in report_page  # the 2027 phasing, English style


def test_the_site_tile_counts_the_devices_the_report_counts(engine, client):
    overview = client.get("/").get_data(as_text=True)
    tile = re.search(r"<strong>S1</strong>.*?<small>(\d+) thiết bị", overview, re.S)
    assert tile is not None
    policy, today = shipped_policy(), date.today()
    with Session(engine) as session:
        report = report_from_inventory(session, policy, f"{YEAR}Q2", today)
    by_site = {r["site_code"]: r["devices"] for r in records(report.compliance_by_site)}
    assert by_site["S1"] == 8  # nine recorded, one disposed
    assert int(tile.group(1)) == by_site["S1"]
