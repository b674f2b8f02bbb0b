"""The findings list people work with: search by host, IP and MAC (any notation), rule titles in
the filter, server-side sorting kept in the URL, and the filtered list exported to CSV and XLSX."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlmodel import Session

from inventory.models import DeviceMac, Finding

pytestmark = pytest.mark.db

TELNET_TITLE = "Tắt Telnet trên mọi đường quản trị"


@pytest.fixture
def with_mac(engine, seed):
    with Session(engine) as session:
        session.add(DeviceMac(device_id=seed.hostile_device_id, mac="aa:bb:cc:00:11:22"))
        session.commit()
    return seed


def listed(client, query: str) -> list[int]:
    """Finding ids on the list page, in the order shown."""
    import re

    page = client.get(f"/findings/?status=all&{query}").get_data(as_text=True)
    return [int(i) for i in re.findall(r'<td><a href="/findings/(\d+)">', page)]


@pytest.mark.parametrize("query", ["q=sw1", "q=SW", "q=10.1.1.2", "q=10.1.1"])
def test_search_by_hostname_or_address(login_as, seed, query):
    assert sorted(listed(login_as("viewer"), query)) == sorted(seed.finding_ids[:2])


@pytest.mark.parametrize("mac", ["aa:bb:cc:00:11:22", "AA-BB-CC-00-11-22", "aabb.cc00.1122", "AABBCC001122"])
def test_search_by_mac_in_any_notation(login_as, with_mac, mac):
    assert listed(login_as("viewer"), f"q={mac}") == [with_mac.finding_ids[2]]


def test_search_matching_nothing_and_like_wildcards(login_as, seed):
    client = login_as("viewer")
    assert listed(client, "q=no-such-host") == []
    assert listed(client, "q=%25") == []  # a literal %, not "anything"
    assert listed(client, "q=_") == []


def test_rule_filter_shows_titles_in_the_language(login_as, seed):
    client = login_as("viewer")
    page = client.get("/findings/").get_data(as_text=True)
    assert f'<option value="net.telnet_off" >{TELNET_TITLE}</option>' in page
    assert listed(client, "rule=net.telnet_off") == [seed.finding_ids[0]]


@pytest.mark.parametrize(
    "sort, expected",
    [("severity", [0, 1, 2]), ("severity&desc=1", [2, 1, 0]), ("rule", [2, 1, 0]), ("rule&desc=1", [0, 1, 2]), ("id", [0, 1, 2]), ("id&desc=1", [2, 1, 0])],
)
def test_sorting_is_done_by_the_server_and_kept_in_the_url(login_as, seed, sort, expected):
    client = login_as("viewer")
    assert listed(client, f"sort={sort}") == [seed.finding_ids[i] for i in expected]
    page = client.get(f"/findings/?sort={sort}").get_data(as_text=True)
    key = sort.split("&")[0]
    assert f'aria-sort="{"descending" if "desc" in sort else "ascending"}"' in page and f"sort={key}" in page


def test_sort_by_device_is_stable_and_paged(login_as, seed):
    client = login_as("viewer")
    # two findings of sw1 and one of the hostile laptop ('<script>' sorts before 'sw1'): ties by id
    assert listed(client, "sort=device") == [seed.finding_ids[2], seed.finding_ids[0], seed.finding_ids[1]]
    assert listed(client, "sort=device&per_page=25&page=2") == []
    assert listed(client, "sort=nonsense") == listed(client, "sort=severity")


def test_export_is_for_exporters_only(login_as, seed):
    assert login_as("viewer").get("/findings/export.csv").status_code == 403
    assert login_as("planner").get("/findings/export.exe").status_code == 404


def test_csv_export_has_labels_and_follows_the_filter(login_as, seed):
    response = login_as("planner").get("/findings/export.csv?status=all&q=sw1&sort=id")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.data.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("Mã phát hiện,Mức độ,Quy tắc,Mã quy tắc,Đơn vị,Thiết bị")
    assert len(lines) == 3  # header and the two findings of sw1
    assert f"{seed.finding_ids[0]},Nghiêm trọng,{TELNET_TITLE},net.telnet_off,S1,sw1" in lines[1]
    assert date.today().isoformat() in lines[1]  # dates as dates (ISO in CSV)


def test_xlsx_export_is_printable_with_dates_as_dates(login_as, seed, engine):
    with Session(engine) as session:
        finding = session.get(Finding, seed.finding_ids[1])
        finding.status, finding.waiver_expires, finding.waiver_reason = "waived", date(2099, 3, 31), "chờ thay thế"
        session.commit()
    response = login_as("security_officer").get("/findings/export.xlsx?status=all&sort=id")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.data)).active
    header = 1
    titles = [c.value for c in ws[header]]
    assert titles[:3] == ["Mã phát hiện", "Mức độ", "Quy tắc"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=header + 1)]
    assert [r[0] for r in rows] == seed.finding_ids and isinstance(rows[0][0], int)
    assert rows[0][1] == "Nghiêm trọng" and rows[0][2] == TELNET_TITLE
    assert rows[1][8] not in ("", "waived") and rows[0][8] not in ("", "open")  # labels, not codes
    expires = ws.cell(header + 2, titles.index("Hết hạn miễn trừ") + 1)
    assert expires.value.date() == date(2099, 3, 31) and "dd/mm/yyyy" in expires.number_format
    assert ws.auto_filter.ref == f"A{header}:N{header + 3}"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.print_title_rows == f"${header}:${header}"
    assert ws.column_dimensions["C"].width >= 30


def test_an_export_over_the_limit_is_refused_with_a_message(login_as, seed, monkeypatch):
    import web.findings

    monkeypatch.setattr(web.findings, "MAX_EXPORT", 2)
    client = login_as("technician")
    response = client.get("/findings/export.xlsx?status=all")
    assert response.status_code == 302
    assert "hãy lọc hẹp hơn" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert client.get("/findings/export.xlsx?status=all&q=sw1").status_code == 200


@pytest.mark.parametrize("q", ["sw1", "10.1", "aa-bb-cc-00-11-22", "nothing"])
@pytest.mark.parametrize("status", [None, "open"])
def test_a_resolved_search_finds_what_the_text_match_finds(engine, with_mac, monkeypatch, q, status):
    import compliance.findings as findings

    flt = findings.FindingFilter(q=q, status=status, site="S1")
    with Session(engine) as session:
        resolved = findings.resolve_search(session, flt)
        assert resolved.device_ids is not None
        for sort in ("severity", "site", "device"):
            assert findings.list_findings(session, resolved, sort=sort) == findings.list_findings(session, flt, sort=sort)
        assert findings.severity_counts(session, resolved) == findings.severity_counts(session, flt)
        monkeypatch.setattr(findings, "MAX_RESOLVED_DEVICES", 0)  # too many devices: the text match stays
        assert findings.resolve_search(session, flt).device_ids is None or q == "nothing"


def test_the_export_links_carry_the_filter_and_order_only(login_as, seed):
    page = login_as("planner").get("/findings/?q=sw1&sort=rule&desc=1&page=2&fmt=x").get_data(as_text=True)
    assert 'href="/findings/export.xlsx?q=sw1&amp;sort=rule&amp;desc=1"' in page
    assert "export.xlsx" not in login_as("viewer").get("/findings/").get_data(as_text=True)
