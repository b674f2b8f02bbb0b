"""The procurement page on the demo province: per-site subtotals, the site and class filters (in
the URL, carried by the year tabs), sticky headers, and no internal identifiers in the text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlmodel import Session

from inventory.demo import load_demo
from web.procurement import summed, with_site_subtotals

pytestmark = pytest.mark.db

SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|\b\w+\.ya?ml\b")


class VisibleText(HTMLParser):
    """The text a reader sees: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        self._hidden += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._hidden -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


@pytest.fixture
def demo(engine, seed):
    with Session(engine) as session:
        load_demo(session, actor="test")
        session.commit()


def subtotal_rows(page: str) -> list[str]:
    return re.findall(r'<tr class="subtotal">(.*?)</tr>', page, flags=re.S)


def test_every_site_has_a_subtotal_and_no_internal_identifier_shows(login_as, demo):
    page = login_as("planner").get("/procurement/?year=2026").get_data(as_text=True)
    sites = set(re.findall(r'<a href="/sites/([^"]+)">\1</a> <small>', page))
    assert len(sites) > 10
    subtotals = subtotal_rows(page)
    assert len(subtotals) == len(sites)
    assert all(f"Cộng {code}" in page for code in sites)
    assert 'class="plan sticky-head"' in page
    text = visible(page)
    assert not SNAKE.findall(text), sorted(set(SNAKE.findall(text)))
    assert "security_devices" not in page and "schedule.yaml" not in page


def test_site_and_class_filters_narrow_the_table_and_follow_the_year_tabs(login_as, demo):
    client = login_as("planner")
    whole = client.get("/procurement/?year=2026").get_data(as_text=True)
    site = sorted(set(re.findall(r'<a href="/sites/([^"]+)">\1</a> <small>', whole)))[0]
    page = client.get(f"/procurement/?year=2026&site={site}").get_data(as_text=True)
    assert set(re.findall(r'<a href="/sites/([^"]+)">\1</a> <small>', page)) == {site}
    assert len(subtotal_rows(page)) == 1 and f'<option value="{site}" selected>' in page
    assert f"/procurement/?year=2027&amp;site={site}" in page  # the tabs keep the filter
    assert "Đang lọc: 1 đơn vị" in page

    laptops = client.get("/procurement/?year=2026&device_class=laptop").get_data(as_text=True)
    table = laptops[laptops.index('class="plan sticky-head"') :]
    assert "Máy tính xách tay" in table and "Máy in" not in table
    assert '<option value="laptop" selected>' in laptops

    # Junk filter values are ignored: the whole plan, no error.
    junk = client.get("/procurement/?year=2026&site=NOPE&device_class=rocket")
    assert junk.status_code == 200 and len(subtotal_rows(junk.get_data(as_text=True))) == len(subtotal_rows(whole))


def test_sticky_header_rule_is_in_the_stylesheet(client):
    css = client.get("/static/kiemke.css").get_data(as_text=True)
    assert re.search(r"table\.sticky-head thead th \{[^}]*position: sticky", css)


def test_subtotals_add_up_each_site():
    rows = [
        {"site_code": "A", "site_name": "a", "device_class": "laptop", "approved": 3, "target": 2, "counting": 1, "unknown": 0, "shortfall": 1, "bought_earlier": 0, "to_buy": 1, "cost": 22.0},
        {"site_code": "A", "site_name": "a", "device_class": "printer", "approved": 2, "target": 1, "counting": 0, "unknown": 1, "shortfall": 1, "bought_earlier": 0, "to_buy": 1, "cost": None},
        {"site_code": "B", "site_name": "b", "device_class": "laptop", "approved": 5, "target": 4, "counting": 4, "unknown": 0, "shortfall": 0, "bought_earlier": 0, "to_buy": 0, "cost": 0.0},
    ]  # fmt: skip
    out = with_site_subtotals(rows)
    assert [(r["site_code"], r["subtotal"]) for r in out] == [("A", False), ("A", False), ("A", True), ("B", False), ("B", True)]
    assert out[2]["approved"] == 5 and out[2]["to_buy"] == 2 and out[2]["cost"] == 22.0
    assert summed([rows[1]])["cost"] is None  # no price anywhere: no cost, not 0


def test_plan_workbook_has_site_subtotals_autofilter_and_vietnamese_numbers(login_as, demo):
    import io

    from openpyxl import load_workbook

    data = login_as("planner").get("/procurement/ke-hoach.xlsx").data
    ws = load_workbook(io.BytesIO(data))["Năm 2026"]
    header = next(r for r in range(1, 10) if ws.cell(row=r, column=1).value == "STT")
    names = [ws.cell(row=header, column=c).value for c in range(1, ws.max_column + 1)]
    site_col, name_col, cost_col, buy_col = (names.index(h) + 1 for h in ("Mã đơn vị", "Tên đơn vị", "Thành tiền (triệu đồng)", "Mua sắm dự kiến trong năm"))
    assert ws.auto_filter.ref and ws.auto_filter.ref.startswith(f"A{header}:")
    last = int(re.search(r"(\d+)$", ws.auto_filter.ref).group(1))
    assert ws.cell(row=last + 1, column=1).value == "Tổng cộng"  # the grand total stays outside the filter

    rows = [[ws.cell(row=r, column=c).value for c in range(1, ws.max_column + 1)] for r in range(header + 1, last + 1)]
    subtotals = [r for r in rows if str(r[name_col - 1] or "").startswith("Cộng ")]
    sites = {r[site_col - 1] for r in rows if r not in subtotals}
    assert len(subtotals) == len(sites) > 10
    # Each subtotal adds up its site's rows; the grand total counts every row once.
    for sub in subtotals:
        mine = [r for r in rows if r[site_col - 1] == sub[site_col - 1] and r is not sub]
        assert sub[buy_col - 1] == sum(r[buy_col - 1] or 0 for r in mine)
    assert ws.cell(row=last + 1, column=buy_col).value == sum(s[buy_col - 1] for s in subtotals)

    cost = ws.cell(row=header + 1, column=cost_col)
    assert isinstance(cost.value, (int, float)) and cost.number_format == "[$-42A]#,##0.00"
