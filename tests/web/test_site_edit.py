"""The site edit form and the approved quantities tab, through the test client: values stored and
audited, typed input kept on an error, a concurrent edit refused writing nothing, the procurement
plan following the approved quantities, roles and CSRF."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from inventory.models import ApprovedQuantity, AuditLog, Site
from tests.web.conftest import csrf_token

pytestmark = pytest.mark.db

_INPUT = re.compile(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"')


def form_of(client, path: str) -> dict[str, str]:
    """The form's fields as a browser would send them untouched."""
    response = client.get(path)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    form = page[page.index('class="panel credential-form site-form"') :]
    out: dict[str, str] = {}
    for match in re.finditer(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form):
        out[match.group(1)] = match.group(2)
    for name, value in re.findall(r'<select[^>]*name="([^"]+)".*?<option selected value="([^"]*)"', form, re.S):
        out[name] = value
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>\n?(.*?)</textarea>', form, re.S):
        out[name] = text
    return out


def site(engine) -> Site:
    with Session(engine) as session:
        return session.exec(select(Site).where(Site.code == "S1")).one()


def audit(engine, entity: str) -> list[AuditLog]:
    with Session(engine) as session:
        return list(session.exec(select(AuditLog).where(AuditLog.entity == entity).order_by(AuditLog.id)))


def test_round_trip_audited(login_as, seed, engine):
    client = login_as("security_officer")
    data = form_of(client, "/sites/S1/edit")
    assert {"csrf_token", "version", "name", "kind", "poll_interval_minutes", "notes"} <= set(data)
    before = site(engine)
    data.update(name="Xã Hòa Bình", kind="ward", poll_interval_minutes="15", notes="trụ sở mới")
    response = client.post("/sites/S1/edit", data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith("/sites/S1")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã lưu 4 thay đổi." in page and "Xã Hòa Bình" in page
    after = site(engine)
    assert (after.name, after.kind, after.poll_interval_minutes, after.notes) == ("Xã Hòa Bình", "ward", 15, "trụ sở mới")
    (entry,) = audit(engine, "site")
    assert entry.actor == seed.users["security_officer"] and entry.entity_id == str(before.id)
    assert entry.before == {"name": before.name, "kind": before.kind, "poll_interval_minutes": before.poll_interval_minutes, "notes": before.notes}
    assert entry.after == {"name": "Xã Hòa Bình", "kind": "ward", "poll_interval_minutes": 15, "notes": "trụ sở mới"}


def test_errors_in_vietnamese_keep_the_typed_input(login_as, seed, engine):
    client = login_as("admin")
    data = form_of(client, "/sites/S1/edit")
    data.update(name="Tên gõ tay", poll_interval_minutes="ba mươi")
    response = client.post("/sites/S1/edit", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "“ba mươi” không phải số nguyên." in page and 'value="Tên gõ tay"' in page
    data.update(name="", poll_interval_minutes="1")
    page = client.post("/sites/S1/edit", data=data).get_data(as_text=True)
    assert "Cần nhập giá trị này." in page and "Cần là số nguyên từ 5 đến 10080." in page and 'value="1"' in page
    assert site(engine).name != "Tên gõ tay" and audit(engine, "site") == []


def test_concurrent_edit_refused_writing_nothing(login_as, seed, engine):
    mine, theirs = login_as("security_officer"), login_as("admin")
    data = form_of(mine, "/sites/S1/edit")
    other = form_of(theirs, "/sites/S1/edit")
    other["name"] = "Tên người khác đặt"
    assert theirs.post("/sites/S1/edit", data=other).status_code == 302
    data["name"] = "Tên tôi đặt"
    response = mine.post("/sites/S1/edit", data=data)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Đơn vị vừa được người khác sửa" in page and "Tên tôi đặt" in page and 'value="Tên người khác đặt"' in page
    assert site(engine).name == "Tên người khác đặt" and len(audit(engine, "site")) == 1


def plan_cost(client, year: int = 2027) -> str:
    page = client.get(f"/procurement/?year={year}").get_data(as_text=True)
    return re.sub(r"\s+", " ", page[page.index("Kế hoạch năm") :])


def test_approved_quantity_change_moves_the_procurement_plan(login_as, seed, engine):
    planner, editor = login_as("planner"), login_as("security_officer")
    plan_before = plan_cost(planner)
    data = form_of(editor, "/sites/S1/approved")
    assert data["q_laptop"] == "0" and "version" in data
    data["q_laptop"] = "10"
    response = editor.post("/sites/S1/approved", data=data, follow_redirects=True)
    assert response.status_code == 200 and "Đã lưu 1 thay đổi." in response.get_data(as_text=True)
    with Session(engine) as session:
        (row,) = session.exec(select(ApprovedQuantity)).all()
    assert (row.device_class, row.quantity) == ("laptop", 10)
    (entry,) = audit(engine, "approved_quantity")
    assert entry.entity_id == f"{row.site_id}:laptop" and entry.before == {"quantity": 0} and entry.after == {"quantity": 10}
    plan_after = plan_cost(planner)
    assert plan_after != plan_before and "Máy tính xách tay" in plan_after


def test_approved_errors_and_conflict(login_as, seed, engine):
    mine, theirs = login_as("security_officer"), login_as("admin")
    data = form_of(mine, "/sites/S1/approved")
    bad = {**data, "q_laptop": "-3", "q_firewall": "hai"}
    response = mine.post("/sites/S1/approved", data=bad)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Cần là số nguyên từ 0 đến 1000000." in page and "“hai” không phải số nguyên." in page and 'value="-3"' in page
    other = form_of(theirs, "/sites/S1/approved")
    assert theirs.post("/sites/S1/approved", data={**other, "q_firewall": "2"}).status_code == 302
    response = mine.post("/sites/S1/approved", data={**data, "q_laptop": "4"})
    assert response.status_code == 409 and "chưa lưu gì" in response.get_data(as_text=True)
    with Session(engine) as session:
        assert [(r.device_class, r.quantity) for r in session.exec(select(ApprovedQuantity))] == [("firewall", 2)]


@pytest.mark.parametrize("role", ["technician", "planner", "viewer"])
def test_others_are_refused_and_see_no_edit_tab(login_as, seed, engine, role):
    client = login_as(role)
    token = csrf_token(client, "/sites/S1")  # a valid token: the role, not CSRF, refuses
    assert client.get("/sites/S1/edit").status_code == 403 and client.get("/sites/S1/approved").status_code == 403
    assert client.post("/sites/S1/approved", data={"q_laptop": "9", "csrf_token": token}).status_code == 403
    assert client.post("/sites/S1/edit", data={"name": "x", "csrf_token": token}).status_code == 403
    assert 'href="/sites/S1/edit"' not in client.get("/sites/S1").get_data(as_text=True)
    assert site(engine).name != "x" and audit(engine, "approved_quantity") == []


def test_editor_sees_the_tab_and_csrf_is_required(login_as, seed, engine):
    client = login_as("security_officer")
    assert 'href="/sites/S1/edit"' in client.get("/sites/S1").get_data(as_text=True)
    data = form_of(client, "/sites/S1/edit")
    data.pop("csrf_token")
    data["name"] = "Không có mã"
    assert client.post("/sites/S1/edit", data=data).status_code == 400
    assert client.post("/sites/S1/approved", data={"q_laptop": "5"}).status_code == 400
    assert site(engine).name != "Không có mã" and audit(engine, "site") == [] and audit(engine, "approved_quantity") == []
    assert client.get("/sites/NOPE/edit").status_code == 404


# Letters only Vietnamese uses (with its tone marks): none may stand in the English pages' own text.
_VIETNAMESE = re.compile(r"[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.I)


def _own_text(page: str) -> str:
    """The form's own text: without the data (the site's name, values) and the language switch."""
    page = page[page.index("<h1>") : page.index("</form>")]
    page = re.sub(r"<h1>.*?</h1>", "", page, flags=re.S)
    page = re.sub(r'value="[^"]*"', "", page)
    return re.sub(r"<textarea[^>]*>.*?</textarea>", "", page, flags=re.S)


def test_english_forms_and_errors(login_as, seed):
    client = login_as("security_officer")
    client.post("/language/en", data={"csrf_token": csrf_token(client, "/sites/S1")})
    for path in ("/sites/S1/edit", "/sites/S1/approved"):
        page = client.get(path).get_data(as_text=True)
        assert '<html lang="en">' in page and ">Edit</a>" in page
        assert not _VIETNAMESE.search(_own_text(page)), path
    data = form_of(client, "/sites/S1/edit")
    page = client.post("/sites/S1/edit", data={**data, "poll_interval_minutes": "abc"}).get_data(as_text=True)
    assert "“abc” is not a whole number." in page and not _VIETNAMESE.search(_own_text(page))
    data = form_of(client, "/sites/S1/approved")
    page = client.post("/sites/S1/approved", data={**data, "q_laptop": "-1"}).get_data(as_text=True)
    assert "Must be a whole number from 0 to 1000000." in page


def _conflict_rows(page: str) -> list[tuple[str, str, str]]:
    table = page[page.index('class="panel conflict"') : page.index("</section>")]
    return [tuple(cell.strip() for cell in row) for row in re.findall(r"<tr><td>(.*?)</td><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td></tr>", table, re.S)]


def test_approved_conflict_shows_what_differs_and_the_current_values(login_as, seed, engine):
    mine, theirs = login_as("security_officer"), login_as("admin")
    data, other = form_of(mine, "/sites/S1/approved"), form_of(theirs, "/sites/S1/approved")
    assert theirs.post("/sites/S1/approved", data={**other, "q_firewall": "2"}, follow_redirects=True).status_code == 200
    response = mine.post("/sites/S1/approved", data={**data, "q_laptop": "4"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Số lượng được duyệt vừa được người khác sửa" in page
    # Only the classes where what I typed and what is stored part: my laptops, their firewalls.
    assert sorted(_conflict_rows(page)) == [("Máy tính xách tay", "4", "0"), ("Tường lửa", "0", "2")]
    # The form now holds the stored values at their version: sent again as it is, it saves (nothing to change).
    again = form_of(mine, "/sites/S1/approved")
    assert 'value="2"' in page[page.index('id="q_firewall"') :][:120] and again["version"] in page
    assert "Không có gì thay đổi." in mine.post("/sites/S1/approved", data=again, follow_redirects=True).get_data(as_text=True)
    assert len(audit(engine, "approved_quantity")) == 1


def test_site_conflict_table_lists_only_the_fields_that_differ(login_as, seed, engine):
    mine, theirs = login_as("security_officer"), login_as("admin")
    data, other = form_of(mine, "/sites/S1/edit"), form_of(theirs, "/sites/S1/edit")
    data["notes"] = data["notes"].removeprefix("\r\n")  # as a browser sends a textarea back
    assert theirs.post("/sites/S1/edit", data={**other, "poll_interval_minutes": "45"}).status_code == 302
    response = mine.post("/sites/S1/edit", data={**data, "kind": "ward"})
    assert response.status_code == 409
    rows = _conflict_rows(response.get_data(as_text=True))
    assert [row[0] for row in rows] == ["Loại đơn vị", "Chu kỳ thăm dò (phút)"]
    assert rows[0][1] == "Phường" and rows[1] == ("Chu kỳ thăm dò (phút)", data["poll_interval_minutes"], "45")
