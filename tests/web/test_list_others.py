"""The scans, audit log and sites lists (issue 15, item 3): server-side sorting in the URL with an
arrow, stable (ties by id), and CSV/XLSX exports with labels for the roles allowed."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from sqlmodel import Session

from inventory import audit
from inventory.models import ScanRun

pytestmark = pytest.mark.db


def _workbook(response):
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet"), response.status_code
    return openpyxl.load_workbook(io.BytesIO(response.data)).active


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.fixture
def scans(engine, seed):
    """Three more scan runs besides the seed's poll: kinds, sites and starts that sort apart."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        site_id = session.get(ScanRun, 1).site_id
        runs = [
            ScanRun(
                kind="discover",
                site_id=site_id,
                status="failed",
                triggered_by="web:bob",
                started_at=now - timedelta(hours=3),
                finished_at=now - timedelta(hours=3) + timedelta(seconds=12.5),
                error="timeout",
            ),
            ScanRun(kind="poll", site_id=None, status="partial", triggered_by="scheduler", started_at=now - timedelta(hours=1), summary={"devices": 4511}),
            ScanRun(kind="discover", site_id=site_id, status="ok", triggered_by="web:amy", started_at=now - timedelta(hours=2), summary={"devices": 3}),
        ]
        session.add_all(runs)
        session.commit()
        return [r.id for r in runs]


def test_scan_history_sorts_in_the_url_with_an_arrow(login_as, scans):
    client = login_as("technician")
    page = client.get("/scans/").get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'<td><a href="/scans/(\d+)">', page)]
    assert ids == sorted(ids, reverse=True)  # newest first by default
    assert "# ▼</a>" in page
    page = client.get("/scans/?sort=kind&desc=0").get_data(as_text=True)
    assert "Loại ▲</a>" in page and 'aria-sort="ascending"' in page
    kinds = re.findall(r"</a></td><td>(Thu thập|Dò tìm)</td>", page)
    assert kinds == ["Dò tìm", "Dò tìm", "Thu thập", "Thu thập"]
    ids = [int(i) for i in re.findall(r'<td><a href="/scans/(\d+)">', page)]
    assert ids[:2] == sorted(ids[:2]) and ids[2:] == sorted(ids[2:])  # ties by id: stable
    by = client.get("/scans/?sort=by&desc=1").get_data(as_text=True)
    assert by.index("bob (giao diện web)") < by.index("amy (giao diện web)")


def test_scan_history_exports_with_labels_times_and_numbers(login_as, scans):
    client = login_as("technician")
    ws = _workbook(client.get("/scans/export.xlsx?sort=started&desc=1"))
    header = [c.value for c in ws[1]]
    assert header[:4] == ["#", "Loại", "Đơn vị", "Bắt đầu"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert len(rows) == 4
    assert rows[0][1] == "Thu thập" and rows[0][6] == "Thành công"  # the seed's poll started last
    assert isinstance(rows[0][3], datetime)
    failed = next(r for r in rows if r[0] == scans[0])
    assert failed[1] == "Dò tìm" and failed[6] == "Thất bại" and failed[5] == 12.5 and failed[9] == "timeout"
    partial = next(r for r in ws.iter_rows(min_row=2) if r[0].value == scans[1])
    assert partial[7].value == 4511 and partial[7].number_format == "[$-42A]#,##0"
    table = _csv(client.get("/scans/export.csv"))
    assert table[0][0] == "#" and len(table) == 5


def test_scan_export_only_for_technicians_and_admin(login_as, scans):
    for role, status in (("viewer", 403), ("planner", 403), ("security_officer", 403), ("admin", 200)):
        assert login_as(role).get("/scans/export.csv").status_code == status, role
    assert login_as("technician").get("/scans/export.json").status_code == 404


@pytest.fixture
def entries(engine, seed):
    with Session(engine) as session:
        audit.record(session, "zed", "update", "device", seed.device_id, before={"status": "in_use"}, after={"status": "broken"})
        audit.record(session, "amy", "waive", "finding", seed.finding_ids[0], after={"reason": "=cmd|' /C calc'!A0"})
        session.commit()


def test_audit_log_sorts_and_shows_words(login_as, entries):
    client = login_as("security_officer")
    page = client.get("/audit/").get_data(as_text=True)
    assert "Lúc ▼</a>" in page  # newest first by default
    page = client.get("/audit/?sort=actor&desc=0").get_data(as_text=True)
    assert "Người thực hiện ▲</a>" in page
    assert page.index(">amy<") < page.index(">zed<")
    assert ">Miễn trừ<" in page and ">Phát hiện #" in page  # action and entity in words
    page = client.get("/audit/?sort=actor&desc=1").get_data(as_text=True)
    assert page.index(">zed<") < page.index(">amy<")


def test_audit_export_for_readers_of_the_log_only(login_as, entries):
    for role, status in (("viewer", 403), ("planner", 403), ("technician", 403), ("admin", 200)):
        assert login_as(role).get("/audit/export.csv").status_code == status, role
    client = login_as("security_officer")
    ws = _workbook(client.get("/audit/export.xlsx?actor=amy"))
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert len(rows) == 1
    assert rows[0][2:5] == ["amy", "Miễn trừ", "Phát hiện"] and isinstance(rows[0][1], datetime)
    assert ws.cell(row=2, column=8).data_type == "s"  # a formula-like value stays text
    table = _csv(client.get("/audit/export.csv?sort=actor&desc=0"))
    actors = [r[2] for r in table[1:]]
    assert actors == sorted(actors)
    assert any(r[7] == "Lý do: =cmd|' /C calc'!A0" for r in table[1:])  # before/after by their labels, a formula-like value as text


def test_sites_sort_by_new_columns_and_export(login_as, seed):
    client = login_as("planner")
    page = client.get("/sites/?sort=devices&desc=1").get_data(as_text=True)
    assert "Thiết bị ▼</a>" in page
    assert page.index('data-code="S1"') < page.index('data-code="S2"')  # S1 has the devices
    page = client.get("/sites/?sort=name").get_data(as_text=True)
    assert "Tên ▲</a>" in page
    assert "/sites/export.xlsx?sort=name" in page
    ws = _workbook(client.get("/sites/export.xlsx?sort=devices&desc=1"))
    header = [c.value for c in ws[1]]
    assert header[:4] == ["Mã", "Tên", "Loại", "Mức"] and "Nghiêm trọng" in header
    first = {h: c for h, c in zip(header, ws[2], strict=True)}
    assert first["Mã"].value == "S1" and first["Thiết bị"].value == 2 and first["Thiết bị"].data_type == "n"
    assert first["Nghiêm trọng"].value == 1
    table = _csv(client.get("/sites/export.csv?sort=code"))
    assert [r[0] for r in table[1:]] == ["S1", "S2"]


def test_sites_export_not_for_viewers(login_as, seed):
    viewer = login_as("viewer")
    assert viewer.get("/sites/export.csv").status_code == 403
    assert "/sites/export.xlsx" not in viewer.get("/sites/").get_data(as_text=True)
