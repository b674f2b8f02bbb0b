"""The device list (issue 15, item 3): sortable columns in words with an arrow, a column chooser
remembered per user, saved filters (own and shared), the select-all of the filter, and the
labelled CSV/XLSX export beside the import-format one."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import openpyxl
import pytest
from sqlmodel import Session, select

from inventory.models import Device, ListColumns, SavedFilter
from tests.web.conftest import csrf_token

pytestmark = pytest.mark.db


def _cells(html: str) -> list[str]:
    return re.findall(r"<th[^>]*>(.*?)</th>", html, re.S)


def test_sort_options_are_in_words_and_the_sorted_header_has_an_arrow(login_as, seed):
    client = login_as("viewer")
    page = client.get("/devices/?sort=hostname&desc=1").get_data(as_text=True)
    assert '<option value="hostname" selected>Tên máy</option>' in page
    assert '<option value="last_seen" >Thấy lần cuối</option>' in page and '<option value="user" >Người sử dụng</option>' in page
    assert re.search(r'aria-sort="descending"><a href="[^"]*sort=hostname[^"]*">Tên máy ▼</a>', page)
    # the order follows: descending hostname puts sw1 before the hostile "<script..." hostname
    assert page.index("sw1") < page.index("&lt;script&gt;")
    ascending = client.get("/devices/?sort=hostname").get_data(as_text=True)
    assert ascending.index("&lt;script&gt;") < ascending.index(">sw1<")
    assert "Tên máy ▲" in ascending


@pytest.mark.parametrize("sort", ["zone", "serial", "status", "user", "os", "origin", "source", "site", "purchase_date"])
def test_every_new_sort_key_answers(login_as, seed, sort):
    client = login_as("viewer")
    for desc in ("", "1"):
        assert client.get(f"/devices/?sort={sort}&desc={desc}&page=2&per_page=25").status_code == 200


def test_the_column_chooser_is_remembered_per_user(login_as, seed, engine):
    client = login_as("technician")
    token = csrf_token(client, "/devices/")
    response = client.post("/devices/columns", data={"csrf_token": token, "columns": ["hostname", "mac", "user", "bogus"], "site": "S1"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/devices/?site=S1")
    page = client.get("/devices/").get_data(as_text=True)
    heads = _cells(page.split('<table class="device-list">')[1].split("</thead>")[0])
    assert [re.sub(r"<[^>]+>", "", h).replace(" ▲", "").strip() for h in heads] == ["", "Tên máy", "MAC", "Người sử dụng"]
    assert 'data-select-all="ids" aria-label="Chọn tất cả trên trang này"' in heads[0]
    # another user still sees the default columns
    other = login_as("viewer").get("/devices/").get_data(as_text=True)
    assert "Tuân thủ" in other.split('<table class="device-list">')[1].split("</thead>")[0]
    with Session(engine) as session:
        assert session.get(ListColumns, (_user_id(session, seed.users["technician"]), "devices")).columns == ["hostname", "mac", "user"]
    # nothing ticked: back to the default
    client.post("/devices/columns", data={"csrf_token": token})
    assert "Tuân thủ" in client.get("/devices/").get_data(as_text=True).split("</thead>")[0]


def _user_id(session, username):
    from inventory.models import User

    return session.exec(select(User).where(User.username == username)).first().id


def test_saved_filters_own_and_shared(login_as, seed, engine):
    officer = login_as("security_officer")
    token = csrf_token(officer, "/devices/")
    response = officer.post("/devices/filters", data={"csrf_token": token, "name": "  Máy in  S1 ", "site": "S1", "device_class": "laptop", "page": "3", "evil": "x"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/devices/?site=S1&device_class=laptop")
    officer.post("/devices/filters", data={"csrf_token": token, "name": "Chung", "status": "in_use", "shared": "1"})
    page = officer.get("/devices/").get_data(as_text=True)
    assert 'href="/devices/?site=S1&amp;device_class=laptop">Máy in S1</a>' in page
    assert "Bộ lọc đã lưu (2)</summary>" in page
    # the same name again replaces the query
    officer.post("/devices/filters", data={"csrf_token": token, "name": "Máy in S1", "site": "S2"})
    with Session(engine) as session:
        rows = session.exec(select(SavedFilter)).all()
        assert sorted((f.name, f.query, f.shared) for f in rows) == [("Chung", "status=in_use", True), ("Máy in S1", "site=S2", False)]
        own_id = next(f.id for f in rows if f.name == "Máy in S1")
        shared_id = next(f.id for f in rows if f.name == "Chung")
    # another user sees the shared one (with its owner), not the private one, and may not delete it
    viewer = login_as("viewer")
    seen = viewer.get("/devices/").get_data(as_text=True)
    assert ">Chung</a>" in seen and seed.users["security_officer"] in seen and "Máy in S1" not in seen
    vtoken = csrf_token(viewer, "/devices/")
    assert viewer.post(f"/devices/filters/{shared_id}/delete", data={"csrf_token": vtoken}).status_code == 404
    assert viewer.post(f"/devices/filters/{own_id}/delete", data={"csrf_token": vtoken}).status_code == 404
    # the owner deletes it
    assert officer.post(f"/devices/filters/{own_id}/delete", data={"csrf_token": token}).status_code == 302
    with Session(engine) as session:
        assert [f.name for f in session.exec(select(SavedFilter)).all()] == ["Chung"]


def test_a_filter_without_a_name_is_refused_in_words(login_as, seed, engine):
    client = login_as("viewer")
    token = csrf_token(client, "/devices/")
    response = client.post("/devices/filters", data={"csrf_token": token, "name": "   ", "site": "S1"}, follow_redirects=True)
    assert "Hãy đặt tên cho bộ lọc." in response.get_data(as_text=True)
    with Session(engine) as session:
        assert session.exec(select(SavedFilter)).all() == []


def test_saving_needs_the_csrf_token(login_as, seed):
    client = login_as("viewer")
    assert client.post("/devices/filters", data={"name": "x"}).status_code == 400
    assert client.post("/devices/columns", data={"columns": "id"}).status_code == 400


def test_select_all_matching_is_offered_to_editors(login_as, seed):
    page = login_as("technician").get("/devices/?site=S1").get_data(as_text=True)
    assert "Sửa tất cả 2 thiết bị khớp bộ lọc" in page
    assert "/devices/bulk?scope=filter&amp;site=S1" in page
    assert "khớp bộ lọc</a>" not in login_as("viewer").get("/devices/").get_data(as_text=True).split("bulk-form")[0]


def test_labelled_export_writes_labels_dates_and_numbers(login_as, seed, engine):
    with Session(engine) as session:
        device = session.get(Device, seed.device_id)
        device.purchase_date = date(2021, 5, 6)
        session.add(device)
        session.commit()
    client = login_as("planner")
    page = client.get("/devices/?site=S1").get_data(as_text=True)
    assert "/devices/list.xlsx?site=S1" in page and "/devices/export.xlsx?site=S1" in page
    response = client.get("/devices/list.xlsx?site=S1&sort=hostname&desc=1")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    ws = openpyxl.load_workbook(io.BytesIO(response.data)).active
    header = [c.value for c in ws[1]]
    assert header[:6] == ["ID", "Đơn vị", "Vùng", "Loại", "Tên máy", "IP"]
    first = {h: c for h, c in zip(header, ws[2], strict=True)}
    assert first["Tên máy"].value == "sw1"  # descending hostname
    assert first["ID"].value == seed.device_id and first["ID"].number_format == "[$-42A]#,##0"
    assert first["Loại"].value == "Thiết bị chuyển mạch nhánh" and first["Vùng"].value == "Mạng diện rộng của Đảng"
    assert first["Ngày mua"].value.date() == date(2021, 5, 6) and first["Ngày mua"].number_format == "dd/mm/yyyy"
    assert first["Tình trạng"].value == "Đang sử dụng"
    assert ws.auto_filter.ref == f"A1:{ws.cell(row=1, column=len(header)).column_letter}3"
    # CSV: the same columns, English labels in the English UI
    client.post("/language/en", data={"csrf_token": csrf_token(client, "/devices/")})
    text = client.get("/devices/list.csv?site=S1").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:5] == ["ID", "Sites", "Zone", "Class", "Hostname"]
    assert len(rows) == 3 and "Access switch" in rows[1] + rows[2]


def test_labelled_export_is_for_exporters_only(login_as, seed):
    assert login_as("viewer").get("/devices/list.csv").status_code == 403
    assert "/devices/list.xlsx" not in login_as("viewer").get("/devices/").get_data(as_text=True)
    assert login_as("technician").get("/devices/list.pdf").status_code == 404


def test_list_exports_admit_exactly_the_exporters_and_the_audit_log_its_readers(app):
    from web.access import ACCESS_ATTR

    exporters = {"security_officer", "technician", "planner", "admin"}
    for endpoint in ("devices.export_list", "sites.export"):
        assert getattr(app.view_functions[endpoint], ACCESS_ATTR) == ("roles", exporters), endpoint
    assert getattr(app.view_functions["audit.export"], ACCESS_ATTR) == getattr(app.view_functions["audit.index"], ACCESS_ATTR)
    assert getattr(app.view_functions["scans.export"], ACCESS_ATTR)[1] <= exporters
