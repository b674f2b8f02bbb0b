"""Imports and exports: row-level errors, all-or-nothing unless partial, templates, exports."""

from __future__ import annotations

import io
import re
import tempfile

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from inventory.models import AuditLog, Device
from tests.web.conftest import HOSTILE, csrf_token

pytestmark = pytest.mark.db

DEVICES_CSV = "Mã đơn vị,Loại thiết bị,Tên máy,Số sê-ri\nS1,laptop,lt-1,SN-A\nS1,spaceship,lt-2,SN-B\nS2,desktop,pc-9,SN-C\n"


def upload(client, content: bytes | str, name: str = "thiet-bi.csv", kind: str = "devices", partial: bool = False):
    """Upload, and confirm the preview when it offers a confirmation (the preview itself: test_import_preview)."""
    token = csrf_token(client, "/transfers/")
    data = {"csrf_token": token, "kind": kind, "file": (io.BytesIO(content.encode() if isinstance(content, str) else content), name)}
    if partial:
        data["partial"] = "y"
    preview = client.post("/transfers/import", data=data, content_type="multipart/form-data")
    held = re.search(r'name="token" type="hidden" value="([^"]+)"', preview.get_data(as_text=True))
    if held is None:
        return preview
    return client.post("/transfers/import/confirm", data={"csrf_token": token, "token": held.group(1), "apply": "y"})


def serials(engine) -> set[str]:
    with Session(engine) as session:
        return {d.serial for d in session.exec(select(Device)) if d.serial}


@pytest.fixture(autouse=True)
def private_tmp(tmp_path, monkeypatch):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(uploads))
    return uploads


def test_one_bad_row_is_shown_and_nothing_changes(login_as, engine, private_tmp):
    before = serials(engine)
    response = upload(login_as("technician"), DEVICES_CSV)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Không nhập gì" in page
    assert '<tr><td class="num">3</td><td>Loại thiết bị</td>' in page and "spaceship" in page
    assert "<dt>Số dòng đọc được</dt><dd>3</dd>" in page and "<dt>Dòng bị từ chối</dt><dd>1</dd>" in page
    assert serials(engine) == before
    assert list(private_tmp.iterdir()) == []  # the upload is not kept


def test_partial_imports_the_good_rows(login_as, engine, private_tmp):
    before = serials(engine)
    page = upload(login_as("planner"), DEVICES_CSV, partial=True).get_data(as_text=True)
    assert "Đã nhập." in page and "<dt>Tạo mới</dt><dd>2</dd>" in page and '<td class="num">3</td>' in page
    assert serials(engine) == before | {"SN-A", "SN-C"}
    with Session(engine) as session:
        entry = session.exec(select(AuditLog).where(AuditLog.action == "import")).one()
        assert entry.actor == "u_planner" and entry.after["file"] == "thiet-bi.csv" and entry.after["rejected_rows"] == [3]
    assert list(private_tmp.iterdir()) == []


def test_hostile_names_and_cells_are_escaped(login_as):
    page = upload(login_as("technician"), "Mã đơn vị,Loại thiết bị,Số sê-ri\nS1,<script>x</script>,SN-Z\n", name="<b>x</b>.csv").get_data(as_text=True)
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page
    assert "<b>x</b>" not in page


def test_bad_files_are_refused(login_as, engine):
    client = login_as("security_officer")
    before = serials(engine)
    assert upload(client, b"MZ\x00\x01", name="virus.exe").status_code == 400
    response = upload(client, b"\xff\xfe\x00bad", name="bad.csv")
    assert response.status_code == 400 and "UTF-8" in response.get_data(as_text=True)
    assert upload(client, b"not a zip", name="bad.xlsx").status_code == 400
    assert upload(client, DEVICES_CSV, kind="users").status_code == 400
    headers = upload(client, "Mã đơn vị,Màu sắc\nS1,đỏ\n").get_data(as_text=True)
    assert "Màu sắc" in headers and "cột không có trong mẫu nhập" in headers
    token = csrf_token(client, "/transfers/")
    assert client.post("/transfers/import", data={"csrf_token": token, "kind": "devices"}).status_code == 400  # no file
    assert serials(engine) == before


def test_import_needs_csrf(login_as):
    client = login_as("technician")
    response = client.post("/transfers/import", data={"kind": "devices", "file": (io.BytesIO(DEVICES_CSV.encode()), "x.csv")}, content_type="multipart/form-data")
    assert response.status_code == 400


@pytest.mark.parametrize("kind, first", [("sites", "Mã đơn vị"), ("devices", "Mã đơn vị"), ("approved", "Mã đơn vị")])
def test_templates(login_as, kind, first):
    client = login_as("technician")
    csv = client.get(f"/transfers/template/{kind}.csv")
    assert csv.status_code == 200 and csv.data.decode("utf-8-sig").startswith(first)
    xlsx = client.get(f"/transfers/template/{kind}.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.cell(1, 1).value == first
    assert client.get(f"/transfers/template/{kind}.exe").status_code == 404
    assert client.get("/transfers/template/users.csv").status_code == 404


def test_exports_and_round_trip(login_as, engine, seed):
    client = login_as("planner")
    devices = client.get("/transfers/export/devices.csv")
    text = devices.data.decode("utf-8-sig")
    assert devices.status_code == 200 and "SN-SW1" in text and "attachment" in devices.headers["Content-Disposition"]
    assert load_workbook(io.BytesIO(client.get("/transfers/export/sites.xlsx").data)).active.cell(2, 1).value == "S1"
    # An export imported as it is changes nothing.
    page = upload(client, devices.data, name="thiet-bi.csv").get_data(as_text=True)
    assert "không cần nhập" in page and "<dt>Tạo mới</dt><dd>0</dd>" in page and "<dt>Cập nhật</dt><dd>0</dd>" in page
    assert HOSTILE not in page


def test_viewer_gets_403(login_as, engine):
    client = login_as("viewer")
    assert client.get("/transfers/").status_code == 403
    token = csrf_token(client, "/devices/")
    response = client.post("/transfers/import", data={"csrf_token": token, "kind": "devices", "file": (io.BytesIO(DEVICES_CSV.encode()), "x.csv")},
                           content_type="multipart/form-data")  # fmt: skip
    assert response.status_code == 403
    assert client.get("/transfers/export/devices.csv").status_code == 403
