"""The device edit form, its history tab and the bulk edit, through the test client: values
stored and audited, compliance re-evaluated, typed input kept on an error, a concurrent edit
refused, roles, CSRF, and both languages."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlmodel import Session, select

from inventory.models import AuditLog, Device, Finding, Site
from tests.web.conftest import csrf_token

pytestmark = pytest.mark.db


class _FormFields(HTMLParser):
    """The named fields of the page's POST form as a browser would send them untouched."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._in_post_form = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._in_post_form = a.get("method") == "post" and "device-form" in (a.get("class") or "")
        if not self._in_post_form:
            return
        if tag == "input" and a.get("name"):
            self.values[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and ("selected" in a or self._select not in self.values):
            self.values[self._select] = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.values[self._textarea] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_post_form = False

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data.removeprefix("\n") if not self.values[self._textarea] else data


def form_of(client, device_id: int) -> dict[str, str]:
    response = client.get(f"/devices/{device_id}/edit")
    assert response.status_code == 200
    parser = _FormFields()
    parser.feed(response.get_data(as_text=True))
    assert {"csrf_token", "version", "hostname", "site_code", "zone", "status"} <= set(parser.values)
    return parser.values


def device(engine, device_id: int) -> Device:
    with Session(engine) as session:
        return session.get(Device, device_id)


def audit_of(engine, device_id: int) -> list[AuditLog]:
    with Session(engine) as session:
        return list(session.exec(select(AuditLog).where(AuditLog.entity == "device", AuditLog.entity_id == str(device_id)).order_by(AuditLog.id)))


def open_origin_finding(engine, device_id: int) -> Finding | None:
    with Session(engine) as session:
        query = select(Finding).where(Finding.rule_id == "origin.allowed", Finding.device_id == device_id, Finding.status == "open")
        return session.exec(query).first()


def test_edit_round_trip_audited_and_re_evaluated(login_as, seed, engine):
    client = login_as("security_officer")
    data = form_of(client, seed.device_id)
    assert (data["hostname"], data["site_code"], data["zone"], data["status"], data["serial"]) == ("sw1", "S1", "party_wan", "in_use", "SN-SW1")
    data.update(hostname="sw1-core", country_of_origin="vn", purchase_date="01/05/2022", assigned_user="Nguyễn Văn An", notes="tủ rack 2")
    response = client.post(f"/devices/{seed.device_id}/edit", data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/devices/{seed.device_id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã lưu 5 thay đổi." in page and "sw1-core" in page and "Nguyễn Văn An" in page
    stored = device(engine, seed.device_id)
    assert (stored.hostname, stored.country_of_origin, stored.purchase_date.isoformat(), stored.notes) == ("sw1-core", "VN", "2022-05-01", "tủ rack 2")
    (entry,) = audit_of(engine, seed.device_id)
    assert entry.actor == seed.users["security_officer"] and entry.action == "update"
    assert entry.before == {"hostname": "sw1", "country_of_origin": None, "purchase_date": None, "assigned_user": None, "notes": ""}
    assert entry.after["hostname"] == "sw1-core" and entry.after["country_of_origin"] == "VN"
    assert open_origin_finding(engine, seed.device_id) is None  # Vietnam is allowed: evaluated, passes

    # A disallowed origin: the evaluation after the commit opens the origin finding.
    data = form_of(client, seed.device_id)
    data["country_of_origin"] = "CN"
    response = client.post(f"/devices/{seed.device_id}/edit", data=data, follow_redirects=True)
    assert "Đã đánh giá 1 thiết bị" in response.get_data(as_text=True)
    finding = open_origin_finding(engine, seed.device_id)
    assert finding is not None and finding.actual == "CN"


def test_validation_errors_keep_the_typed_input(login_as, seed, engine):
    client = login_as("technician")
    data = form_of(client, seed.device_id)
    data.update(hostname="ten-moi-go-tay", mgmt_ip="10.1.1.300", country_of_origin="Việt", purchase_date="31/02/2022", serial="sn-hostile")
    response = client.post(f"/devices/{seed.device_id}/edit", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Ngày không hợp lệ; hãy nhập theo dạng YYYY-MM-DD hoặc DD/MM/YYYY." in page
    assert 'value="ten-moi-go-tay"' in page and 'value="10.1.1.300"' in page and 'value="31/02/2022"' in page
    assert device(engine, seed.device_id).hostname == "sw1" and audit_of(engine, seed.device_id) == []
    # The date fixed, the inventory's checks speak: each under its field, in Vietnamese.
    data["purchase_date"] = "2022-02-28"
    page = client.post(f"/devices/{seed.device_id}/edit", data=data).get_data(as_text=True)
    assert "“10.1.1.300” không phải địa chỉ IP (ví dụ 10.1.2.3)." in page
    assert "Xuất xứ là mã quốc gia gồm 2 chữ cái (ví dụ VN, JP, US)." in page
    assert f"Số sê-ri này đã thuộc thiết bị #{seed.hostile_device_id}." in page
    assert 'value="ten-moi-go-tay"' in page and 'value="2022-02-28"' in page
    assert device(engine, seed.device_id).hostname == "sw1" and audit_of(engine, seed.device_id) == []


def test_a_zone_the_chosen_site_lacks_is_refused(login_as, seed, engine):
    with Session(engine) as session:
        session.add(Site(province_id=1, code="S9", name="Xã Không Vùng", kind="commune"))
        session.commit()
    client = login_as("security_officer")
    data = form_of(client, seed.device_id)
    data["site_code"] = "S9"
    response = client.post(f"/devices/{seed.device_id}/edit", data=data)
    assert response.status_code == 400
    assert "Đơn vị đã chọn không có vùng mạng này." in response.get_data(as_text=True)
    assert device(engine, seed.device_id).site_id != 0 and audit_of(engine, seed.device_id) == []


def test_a_concurrent_edit_is_refused_and_writes_nothing(login_as, seed, engine):
    mine, theirs = login_as("security_officer"), login_as("technician")
    my_form = form_of(mine, seed.device_id)
    their_form = form_of(theirs, seed.device_id)
    their_form["assigned_user"] = "Trần Thị Bình"
    assert theirs.post(f"/devices/{seed.device_id}/edit", data=their_form).status_code == 302
    my_form.update(hostname="sw1-mine", assigned_user="Lê Văn Cường")
    response = mine.post(f"/devices/{seed.device_id}/edit", data=my_form)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Thiết bị vừa được người khác sửa sau khi bạn mở biểu mẫu; chưa lưu gì." in page
    assert 'value="Trần Thị Bình"' in page  # the form shows the current values ...
    assert "Lê Văn Cường" in page and "sw1-mine" in page  # ... and what I typed, beside them
    stored = device(engine, seed.device_id)
    assert (stored.hostname, stored.assigned_user) == ("sw1", "Trần Thị Bình")
    assert [e.actor for e in audit_of(engine, seed.device_id)] == [seed.users["technician"]]
    # The refreshed form carries the new version: saving it again works.
    parser = _FormFields()
    parser.feed(page)
    parser.values["hostname"] = "sw1-mine"
    assert mine.post(f"/devices/{seed.device_id}/edit", data=parser.values).status_code == 302
    assert device(engine, seed.device_id).hostname == "sw1-mine"


@pytest.mark.parametrize(("role", "allowed"), [("viewer", False), ("planner", False), ("technician", True), ("security_officer", True), ("admin", True)])
def test_roles(login_as, seed, engine, role, allowed):
    client = login_as(role)
    detail = client.get(f"/devices/{seed.device_id}").get_data(as_text=True)
    assert (f"/devices/{seed.device_id}/edit" in detail) is allowed  # the "Sửa" tab only for editors
    token = csrf_token(client, "/devices/")
    response = client.post(f"/devices/{seed.device_id}/edit", data={"csrf_token": token, "hostname": "x", "site_code": "S1", "device_class": "router", "status": "in_use"})
    if allowed:
        assert response.status_code in (302, 409)  # no version given: refused as a conflict
    else:
        assert response.status_code == 403
    assert device(engine, seed.device_id).hostname == "sw1"


def test_csrf_is_required(login_as, seed, engine):
    client = login_as("security_officer")
    data = form_of(client, seed.device_id)
    del data["csrf_token"]
    data["hostname"] = "no-token"
    assert client.post(f"/devices/{seed.device_id}/edit", data=data).status_code == 400
    data["csrf_token"] = "forged"
    assert client.post(f"/devices/{seed.device_id}/edit", data=data).status_code == 400
    assert device(engine, seed.device_id).hostname == "sw1" and audit_of(engine, seed.device_id) == []


def test_missing_device_is_404(login_as):
    assert login_as("security_officer").get("/devices/999999/edit").status_code == 404
    assert login_as("viewer").get("/devices/999999/history").status_code == 404


def test_history_lists_the_edit_and_the_observations(login_as, seed):
    client = login_as("security_officer")
    data = form_of(client, seed.device_id)
    data.update(hostname="sw1-core", status="broken", site_code="S2")
    client.post(f"/devices/{seed.device_id}/edit", data=data)
    page = login_as("viewer").get(f"/devices/{seed.device_id}/history").get_data(as_text=True)
    rows = re.findall(r"<tr class=\"(audit|observation)\">", page)
    assert rows[0] == "audit" and "observation" in rows  # newest first: the edit before the poll
    edit = page[page.index('<tr class="audit">') : page.index('<tr class="observation">')]
    assert seed.users["security_officer"] in edit and ">Sửa<" in edit
    moved_zone = ("Mạng diện rộng của Đảng (S1)", "Mạng diện rộng của Đảng (S2)")  # the same kind of zone, at another site
    for before, after in (("sw1", "sw1-core"), ("Đang sử dụng", "Hư hỏng"), ("S1", "S2"), moved_zone):
        assert re.search(rf">{re.escape(before)}</td>\s*<td[^>]*>{re.escape(after)}</td>", edit), (before, after)
    assert "Mô tả hệ thống (sysDescr)" in page or "sysDescr" in page
    assert ">SNMP<" in page and ">observed<" not in page and ">update<" not in page


# Letters only Vietnamese uses (with its tone marks): none may stand in the English pages' own text.
_VIETNAMESE = re.compile(r"[ăâđêôơưĂÂĐÊÔƠƯàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.I)


def _own_text(page: str) -> str:
    """A page without its data: options (site names), input values and table cells of values."""
    page = re.sub(r"<option[^>]*>.*?</option>", "", page, flags=re.S)
    page = re.sub(r'value="[^"]*"', "", page)
    page = re.sub(r'<td class="clip pre">.*?</td>', "", page, flags=re.S)
    page = re.sub(r"<span class=\"who\">.*?</span>", "", page, flags=re.S)
    return re.sub(r'<button [^>]*lang="vi">.*?</button>', "", page)  # the switch to Vietnamese


def test_english_pages_have_no_untranslated_new_strings(login_as, seed):
    client = login_as("security_officer")
    data = form_of(client, seed.device_id)
    data.update(hostname="sw1-core", mgmt_ip="bad")
    client.post(f"/devices/{seed.device_id}/edit", data=data)  # an error message on the page
    token = csrf_token(client, "/devices/")
    client.post("/language/en", data={"csrf_token": token})
    for path in (f"/devices/{seed.device_id}/edit", f"/devices/{seed.device_id}/history", f"/devices/{seed.device_id}"):
        text = _own_text(client.get(path).get_data(as_text=True))
        assert '<html lang="en">' in text and ">History</a>" in text and ">Edit</a>" in text
        if path == f"/devices/{seed.device_id}":  # the device page: only its new tabs are this change's
            text = re.search(r'<nav class="tabs".*?</nav>', text, re.S).group(0)
        assert not _VIETNAMESE.search(text), (path, [text[max(0, m.start() - 60) : m.end() + 20] for m in _VIETNAMESE.finditer(text)][:5])
    data = form_of(client, seed.device_id)
    data["mgmt_ip"] = "10.1.1.300"
    page = client.post(f"/devices/{seed.device_id}/edit", data=data).get_data(as_text=True)
    assert "is not an IP address" in page and not _VIETNAMESE.search(_own_text(page))


def test_vietnamese_pages_show_no_codes(login_as, seed):
    client = login_as("security_officer")
    page = client.get(f"/devices/{seed.device_id}/edit").get_data(as_text=True)
    for text in ("Tên máy", "Loại thiết bị", "Vùng mạng", "IP quản trị", "Số sê-ri", "Xuất xứ (mã quốc gia 2 chữ)", "Ngày mua", "Tình trạng", "Người sử dụng", "Nền tảng quản trị", "Ghi chú"):
        assert text in page, text
    assert ">Thiết bị chuyển mạch nhánh<" in page and ">Mạng diện rộng của Đảng<" in page and ">Đang sử dụng<" in page
    assert ">access_switch<" not in page and ">in_use<" not in page and ">party_wan<" not in page


# ------------------------------------------------------------------------------ bulk edit


def _bulk_post(client, query: str, **fields):
    token = csrf_token(client, f"/devices/bulk?{query}")
    return client.post(f"/devices/bulk?{query}", data={"csrf_token": token, **fields})


def test_bulk_edit_of_the_selected_devices_confirms_the_count(login_as, seed, engine):
    client = login_as("technician")
    query = f"scope=selected&ids={seed.device_id}&ids={seed.hostile_device_id}&ids=999999&status=in_use"  # ticked on a filtered list
    page = client.get(f"/devices/bulk?{query}").get_data(as_text=True)
    assert "Các thiết bị đã chọn: 2 thiết bị." in page  # an unknown id is no device
    fields = {"status": "in_stock", "set_assigned_user": "y", "assigned_user": "Kho xã", "site_code": "S2"}
    response = _bulk_post(client, query, **fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Sửa 2 thiết bị?" in page
    assert "Tình trạng: <strong>Trong kho</strong>" in page and "Người sử dụng: <strong>Kho xã</strong>" in page
    assert device(engine, seed.device_id).status == "in_use" and audit_of(engine, seed.device_id) == []  # asked, not done
    response = _bulk_post(client, query, **fields, expected="2", confirm="1")
    assert response.status_code == 302 and response.headers["Location"].endswith("/devices/?status=in_use")  # back to that list
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã sửa 2 trong 2 thiết bị." in page and "Đã đánh giá" in page
    with Session(engine) as session:
        s2 = session.exec(select(Site).where(Site.code == "S2")).one()
    for device_id in (seed.device_id, seed.hostile_device_id):
        stored = device(engine, device_id)
        assert (stored.status, stored.assigned_user, stored.site_id) == ("in_stock", "Kho xã", s2.id)
        (entry,) = audit_of(engine, device_id)
        assert entry.actor == seed.users["technician"] and entry.after["status"] == "in_stock" and entry.before["status"] == "in_use"
    history = client.get(f"/devices/{seed.device_id}/history").get_data(as_text=True)
    assert re.search(r">Đang sử dụng</td>\s*<td[^>]*>Trong kho</td>", history)


def test_bulk_edit_of_all_matching_the_filter_refuses_a_moved_count(login_as, seed, engine):
    client = login_as("security_officer")
    list_page = client.get("/devices/?site=S1&device_class=laptop").get_data(as_text=True)
    assert "Sửa tất cả 1 thiết bị khớp bộ lọc" in list_page and 'form="bulk-form"' in list_page
    query = "scope=filter&site=S1&device_class=laptop"
    assert "Tất cả thiết bị khớp bộ lọc: 1 thiết bị." in client.get(f"/devices/bulk?{query}").get_data(as_text=True)
    response = _bulk_post(client, query, status="broken", expected="5", confirm="1")  # confirmed for 5: the list moved
    assert response.status_code == 409
    assert "Danh sách thiết bị đã thay đổi từ lúc xác nhận (nay là 1 thiết bị)" in response.get_data(as_text=True)
    assert device(engine, seed.hostile_device_id).status == "in_use"
    response = _bulk_post(client, query, status="broken", expected="1", confirm="1")
    assert response.status_code == 302 and "site=S1" in response.headers["Location"]
    assert device(engine, seed.hostile_device_id).status == "broken" and device(engine, seed.device_id).status == "in_use"


def test_bulk_edit_is_all_or_nothing(login_as, seed, engine):
    with Session(engine) as session:
        session.get(Device, seed.hostile_device_id).mgmt_ip = "10.1.1.2"  # the switch's address, in the other zone
        session.commit()
    client = login_as("security_officer")
    query = f"scope=selected&ids={seed.device_id}&ids={seed.hostile_device_id}"
    response = _bulk_post(client, query, zone="party_wan", status="broken", expected="2", confirm="1")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "1 thiết bị không nhận được các giá trị này; chưa sửa thiết bị nào." in page
    assert f"Địa chỉ IP này đã thuộc thiết bị #{seed.device_id} trong cùng vùng mạng." in page
    assert {device(engine, i).status for i in (seed.device_id, seed.hostile_device_id)} == {"in_use"}
    assert audit_of(engine, seed.device_id) == [] and audit_of(engine, seed.hostile_device_id) == []


def test_bulk_edit_needs_a_value_and_devices(login_as, seed):
    client = login_as("security_officer")
    response = _bulk_post(client, f"scope=selected&ids={seed.device_id}", expected="1", confirm="1")
    assert response.status_code == 400 and "Hãy chọn ít nhất một thông tin cần sửa." in response.get_data(as_text=True)
    assert "Chưa chọn thiết bị nào" in client.get("/devices/bulk?scope=selected").get_data(as_text=True)
    assert _bulk_post(client, "scope=selected", status="broken").status_code == 400


@pytest.mark.parametrize(("role", "allowed"), [("viewer", False), ("planner", False), ("technician", True), ("admin", True)])
def test_bulk_edit_roles(login_as, seed, engine, role, allowed):
    client = login_as(role)
    assert ('form="bulk-form"' in client.get("/devices/").get_data(as_text=True)) is allowed
    token = csrf_token(client, "/devices/")
    response = client.post(f"/devices/bulk?scope=selected&ids={seed.device_id}", data={"csrf_token": token, "status": "broken", "expected": "1", "confirm": "1"})
    assert response.status_code == (302 if allowed else 403)
    assert device(engine, seed.device_id).status == ("broken" if allowed else "in_use")


def test_bulk_edit_needs_csrf(login_as, seed, engine):
    client = login_as("security_officer")
    response = client.post(f"/devices/bulk?scope=selected&ids={seed.device_id}", data={"status": "broken", "expected": "1", "confirm": "1"})
    assert response.status_code == 400 and device(engine, seed.device_id).status == "in_use"


def test_bulk_pages_in_english(login_as, seed):
    client = login_as("security_officer")
    client.post("/language/en", data={"csrf_token": csrf_token(client, "/devices/")})
    query = f"scope=selected&ids={seed.device_id}"
    pages = [client.get(f"/devices/bulk?{query}"), _bulk_post(client, query, status="broken"), client.get("/devices/bulk?scope=selected"), client.get("/devices/")]
    for response in pages:
        text = _own_text(response.get_data(as_text=True))
        if response.request.path == "/devices/":  # the list: only the bulk form is this change's
            text = re.search(r'<form id="bulk-form".*?</form>', text, re.S).group(0)
        assert not _VIETNAMESE.search(text), [text[max(0, m.start() - 60) : m.end() + 20] for m in _VIETNAMESE.finditer(text)][:5]
    assert "Edit 1 devices?" in pages[1].get_data(as_text=True) or "Edit 1 device?" in pages[1].get_data(as_text=True)


def test_hostile_values_are_escaped_on_the_new_pages(login_as, seed):
    from tests.web.test_pages import assert_escaped

    client = login_as("security_officer")
    data = form_of(client, seed.hostile_device_id)
    assert data["hostname"] == '<script>alert("xss")</script>' and data["assigned_user"] == "<b>bold</b>"
    data["assigned_user"] = "<i>x</i>"
    assert client.post(f"/devices/{seed.hostile_device_id}/edit", data=data).status_code == 302
    for path in (f"/devices/{seed.hostile_device_id}/edit", f"/devices/{seed.hostile_device_id}/history"):
        body = client.get(path).get_data(as_text=True)
        assert_escaped(body)  # the hostname, shown as text
        assert "<i>x</i>" not in body and "&lt;i&gt;x&lt;/i&gt;" in body


def test_huge_ids_are_404(login_as):
    client = login_as("security_officer")
    for path in ("/devices/99999999999999999999/edit", "/devices/99999999999999999999/history"):
        assert client.get(path).status_code == 404
    assert "Chưa chọn thiết bị nào" in client.get("/devices/bulk?scope=selected&ids=99999999999999999999&ids=" + "9" * 5000).get_data(as_text=True)


def test_bulk_edit_refuses_more_than_it_takes(login_as, seed, engine, monkeypatch):
    import inventory.device_edit
    import web.devices

    monkeypatch.setattr(inventory.device_edit, "MAX_BULK", 1)
    monkeypatch.setattr(web.devices, "MAX_BULK", 1)
    client = login_as("security_officer")
    assert "Mỗi lần sửa được tối đa 1 thiết bị" in client.get("/devices/bulk?scope=filter&site=S1").get_data(as_text=True)
    assert _bulk_post(client, "scope=filter&site=S1", status="broken", expected="2", confirm="1").status_code == 400
    assert device(engine, seed.device_id).status == "in_use"
