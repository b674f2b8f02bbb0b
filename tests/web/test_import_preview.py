"""Import with a preview: the upload shows what would change and writes nothing; the confirmation
applies the file held on the server (by its token, for its uploader only, once, within 30 minutes);
the chosen kind is remembered; the importer's messages read in Vietnamese."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import time
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from inventory.identity import normalize_mac
from inventory.io import columns
from inventory.io.importer import import_file
from inventory.io.tabular import TableFormatError, read_table
from inventory.models import AuditLog, Device
from tests.web.conftest import csrf_token
from web import held_uploads
from web.import_texts import vietnamese

pytestmark = pytest.mark.db

HEADER = "Mã đơn vị,Vùng mạng,Loại thiết bị,Tên máy,Số sê-ri,Người sử dụng,Tình trạng\n"
# SN-SW1 is the seed's switch at S1 (party WAN): the file moves it to S2 and gives it a user.
CHANGES = HEADER + "S2,party_wan,access_switch,sw1,SN-SW1,Lò Văn Minh,broken — Hư hỏng\nS1,internet,laptop,lt-new,SN-NEW,,\n"


def preview(client, content: str, kind: str = "devices", name: str = "thiet-bi.csv", partial: bool = False):
    token = csrf_token(client, "/transfers/")
    data = {"csrf_token": token, "kind": kind, "file": (io.BytesIO(content.encode()), name)} | ({"partial": "y"} if partial else {})
    response = client.post("/transfers/import", data=data, content_type="multipart/form-data")
    held = re.search(r'name="token" type="hidden" value="([^"]+)"', response.get_data(as_text=True))
    return response, (held.group(1) if held else None), token


def confirm(client, held: str, csrf: str, **extra):
    return client.post("/transfers/import/confirm", data={"csrf_token": csrf, "token": held, "apply": "y"} | extra)


def switch(engine) -> Device:
    with Session(engine) as session:
        return session.exec(select(Device).where(Device.serial == "SN-SW1")).one()


def imports(engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(AuditLog).where(AuditLog.action == "import")).all())


def home(app) -> Path:
    return app.extensions["kiemke.settings"].home / "import-previews"


def test_preview_shows_each_change_and_writes_nothing_until_confirmed(app, login_as, engine):
    client = login_as("technician")
    before = switch(engine)
    response, held, csrf = preview(client, CHANGES)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and held
    assert "<dt>Tạo mới</dt><dd>1</dd>" in page and "<dt>Cập nhật</dt><dd>1</dd>" in page and "Chưa ghi gì" in page
    # Field by field, codes by their labels: the site, the user, the status.
    assert "Mã đơn vị</span>: <del>S1</del> → <ins>S2</ins>" in page
    assert "Người sử dụng</span>: <del>—</del> → <ins>Lò Văn Minh</ins>" in page
    assert "Tình trạng</span>: <del>Đang sử dụng</del> → <ins>Hư hỏng</ins>" in page
    assert "Vùng mạng</span>: <del>" not in page  # the move keeps the zone's kind
    assert '<td class="num">3</td><td>SN-NEW</td><td>Tạo mới</td>' in page
    after_preview = switch(engine)
    assert (after_preview.site_id, after_preview.assigned_user, after_preview.status) == (before.site_id, before.assigned_user, before.status)
    assert imports(engine) == 0
    # The held file is private, and the confirmation applies it.
    folder = home(app) / held
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE((folder / "thiet-bi.csv").stat().st_mode) == 0o600
    page = confirm(client, held, csrf).get_data(as_text=True)
    assert "Đã nhập." in page and "<dt>Cập nhật</dt><dd>1</dd>" in page
    applied = switch(engine)
    assert (applied.assigned_user, applied.status) == ("Lò Văn Minh", "broken") and applied.site_id != before.site_id
    assert imports(engine) == 1 and not folder.exists()
    # Used once: the same token again is refused and changes nothing.
    again = confirm(client, held, csrf)
    assert again.status_code == 400 and "không còn hiệu lực" in again.get_data(as_text=True) and imports(engine) == 1


def test_a_preview_is_its_uploaders_alone_and_expires(app, login_as, engine):
    technician, planner = login_as("technician"), login_as("planner")
    _, held, _ = preview(technician, CHANGES)
    planner_csrf = csrf_token(planner, "/transfers/")
    assert confirm(planner, held, planner_csrf).status_code == 400  # another user's token
    assert confirm(planner, "x" * 43, planner_csrf).status_code == 400  # a made-up one
    assert confirm(planner, "../../etc", planner_csrf).status_code == 400
    technician_csrf = csrf_token(technician, "/transfers/")
    old = time.time() - held_uploads.HOLD_SECONDS - 5
    os.utime(home(app) / held / "upload.json", (old, old))
    assert confirm(technician, held, technician_csrf).status_code == 400  # expired
    assert switch(engine).assigned_user is None and imports(engine) == 0
    # Expired uploads are swept when the next one is held.
    os.utime(home(app) / held, (old, old))
    preview(technician, CHANGES)
    assert not (home(app) / held).exists()


def test_a_token_is_taken_once(app, login_as):
    client = login_as("technician")
    _, held, _ = preview(client, CHANGES)
    owner = json.loads((home(app) / held / "upload.json").read_text())["user"]
    settings_home = app.extensions["kiemke.settings"].home
    assert held_uploads.take(settings_home, held, "u_planner") is None  # not the uploader's
    first, second = held_uploads.take(settings_home, held, owner), held_uploads.take(settings_home, held, owner)
    assert first is not None and first.path.is_file() and second is None  # a double click applies it once


def test_confirmation_needs_csrf_and_cancel_drops_the_file(app, login_as, engine):
    client = login_as("security_officer")
    _, held, csrf = preview(client, CHANGES)
    assert client.post("/transfers/import/confirm", data={"token": held}).status_code == 400
    page = confirm(client, held, csrf, cancel="y").get_data(as_text=True)
    assert "Đã nhập." not in page and not (home(app) / held).exists() and imports(engine) == 0


def test_a_file_with_errors_or_no_change_offers_no_confirmation(app, login_as, engine):
    client = login_as("technician")
    response, held, _ = preview(client, HEADER + "S1,internet,spaceship,x,SN-X,,\nS9,internet,laptop,y,SN-Y,,\n")
    page = response.get_data(as_text=True)
    assert held is None and "Không nhập gì" in page
    assert "giá trị &#39;spaceship&#39; không hợp lệ; chỉ nhận:" in page and "không có đơn vị mã &#39;S9&#39;" in page
    response, held, _ = preview(client, HEADER + "S1,internet,spaceship,x,SN-X,,\nS1,internet,laptop,y,SN-Y,,\n", partial=True)
    assert held and "Các dòng lỗi sẽ bị bỏ qua" in response.get_data(as_text=True)
    response, held, _ = preview(client, HEADER + "S1,party_wan,access_switch,sw1,SN-SW1,,\n")
    assert held is None and "không cần nhập" in response.get_data(as_text=True)
    assert len(list(home(app).iterdir())) == 1  # only the partial preview's file is held


def test_the_kind_chosen_is_remembered(login_as):
    client = login_as("planner")
    assert '<option value="approved" selected>' not in client.get("/transfers/").get_data(as_text=True)
    preview(client, "Mã đơn vị,Loại thiết bị,Số lượng được duyệt\nS1,laptop,3\n", kind="approved", name="q.csv")
    page = client.get("/transfers/").get_data(as_text=True)
    assert '<option value="approved" selected>' in page


def test_messages_follow_the_language(login_as):
    client = login_as("technician")
    bad = "Mã đơn vị,Màu sắc\nS1,đỏ\n"
    assert "cột không có trong mẫu nhập" in preview(client, bad)[0].get_data(as_text=True)
    response, _, _ = preview(client, "x", name="bad.xlsx")
    assert response.status_code == 400 and "không đọc được bảng tính XLSX" in response.get_data(as_text=True)
    token = csrf_token(client, "/transfers/")
    client.post("/language/en", data={"csrf_token": token})
    assert "unknown column" in preview(client, bad)[0].get_data(as_text=True)
    page = preview(client, CHANGES)[0].get_data(as_text=True)
    assert "Preview of importing thiet-bi.csv" in page and "Import: 1 new, 1 updated" in page and "Nothing has been written yet" in page


def test_template_offers_the_recorded_sites(login_as):
    client = login_as("technician")
    book = load_workbook(io.BytesIO(client.get("/transfers/template/devices.xlsx").data))
    entries = [row[0] for row in book["Danh mục"].iter_rows(min_row=2, values_only=True) if row[0]]
    assert entries[:2] == ["S1 — Xã Thử 1", "S2 — Xã Thử 2"]


def _messages(tmp_path: Path, session) -> list[str]:
    """What the importer really writes for bad cells, rows and files (not copies of its texts)."""
    out = []
    for parse, value in [(columns.text(5), "x" * 6), (columns.choice(columns.DeviceClass), "spaceship"), (columns.non_negative_int, "x"),
                         (columns.non_negative_int, "-3"), (columns.non_negative_int, "9" * 12), (columns.day, "2999-01-01"),
                         (columns.day, "hôm qua"), (columns.ip_address, "10.0.0.300"), (columns.cidr_list, "10.0.0.1/24"),
                         (columns.country, "VNM"), (columns.tpm_version, "3"), (normalize_mac, "zz:00")]:  # fmt: skip
        with pytest.raises(ValueError) as caught:
            parse(value)
        out.append(str(caught.value))
    header = "Mã đơn vị,Vùng mạng,Loại thiết bị,Số sê-ri,Địa chỉ IP,Màu sắc,Loại thiết bị\n"
    files = {
        "h.csv": header + "S1,internet,laptop,A,,x,laptop\n",
        "m.csv": "Tên máy\nx\n",
        "r.csv": "Mã đơn vị,Vùng mạng,Loại thiết bị,Số sê-ri,Địa chỉ IP\nS9,,laptop,A,\nS1,,laptop,,\nS1,,laptop,B,\nS1,,laptop,B,\n,,laptop,C,\nS1,internet,laptop,SN-SW1,10.1.2.9\n",
        "q.csv": "Mã đơn vị,Loại thiết bị,Số lượng được duyệt\nS1,laptop,1\nS1,laptop,2\n",
        "s.csv": "Mã đơn vị,Tên đơn vị,Loại đơn vị\nS1,A,commune\nS1,B,commune\n",
    }
    for name, text in files.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        kind = {"q": "approved", "s": "sites"}.get(name[0], "devices")
        out.extend(e.reason for e in import_file(session, kind, path, actor="t", dry_run=True).errors)
        session.rollback()
    for name, content in [("e.csv", b""), ("u.csv", b"\xff\xfe"), ("z.xlsx", b"not a zip"), ("x.txt", b"")]:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(TableFormatError) as caught:
            read_table(path)
        out.append(str(caught.value))
    return out


def test_every_importer_message_has_a_vietnamese_form(app, engine, seed, tmp_path):
    with Session(engine) as session:
        messages = _messages(tmp_path, session)
    assert len(messages) >= 27, messages
    for shape in ("required column is missing", "a device needs", "the same device as row 4", "matches more than one", "laptop already appears"):
        assert any(shape in m for m in messages), shape
    assert [m for m in messages if vietnamese(m) is None] == []
    assert vietnamese("too large: '999999999999'; at most 2147483647") == "quá lớn: '999999999999'; tối đa 2.147.483.647"
    assert vietnamese("big.csv: more than 200,000 rows; kiemke reads at most 200,000 rows and 200 columns") == ("big.csv: nhiều hơn 200.000 dòng; kiemke đọc tối đa 200.000 dòng và 200 cột")
    conflict = next(m for m in messages if m.startswith("matches more than one"))
    assert re.fullmatch(r"trùng với nhiều thiết bị đã ghi nhận \(số sê-ri SN-SW1 là thiết bị #\d+, IP 10\.1\.2\.9 là thiết bị #\d+\)", vietnamese(conflict))
    assert vietnamese("not a subnet in CIDR form: '10.0.0.1/24' (10.0.0.1/24 has host bits set)") == (
        "không phải dải mạng dạng CIDR: '10.0.0.1/24' (10.0.0.1/24 có bit phần địa chỉ máy khác 0: hãy viết địa chỉ mạng)"
    )
    assert vietnamese("site S1 has no party_wan zone") == "đơn vị S1 không có vùng mạng diện rộng của Đảng"
    assert vietnamese(f"date {date.today()} is in the past") is None  # a text no pattern fits stays as it is
