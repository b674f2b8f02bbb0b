"""Hostile uploads to /transfers/import: one-line refusal on the page, the server keeps serving, nothing changes."""

from __future__ import annotations

import html
import re

import pytest
from sqlmodel import Session, func, select

from inventory.models import AuditLog, Device
from tests.inventory.test_untrusted_files import far_corner_workbook, zip_bomb
from tests.web.test_transfers import private_tmp, upload

__all__ = ["private_tmp"]  # autouse: uploads go to a private temporary folder, checked empty after

pytestmark = pytest.mark.db


def state(engine) -> tuple[int, int]:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Device)).one(), session.exec(select(func.count()).select_from(AuditLog)).one()


def problem(page: str) -> str:
    found = re.search(r'<p class="flash error" role="alert">(.*?)</p>', page, re.S)
    assert found, "no error shown"
    return html.unescape(found.group(1))


def test_far_corner_workbook_upload_is_refused_and_the_server_goes_on(login_as, engine, tmp_path, private_tmp):
    client = login_as("technician")
    before = state(engine)
    content = far_corner_workbook(tmp_path / "bomb.xlsx").read_bytes()
    response = upload(client, content, name="thiet-bi.xlsx")
    assert response.status_code == 400
    assert problem(response.get_data(as_text=True)) == "thiet-bi.xlsx: không đọc được: cần hơn 1 GiB bộ nhớ"  # the Vietnamese UI (web.import_texts)
    assert client.get("/transfers/").status_code == 200
    assert client.get("/devices/").status_code == 200
    assert state(engine) == before
    assert list(private_tmp.iterdir()) == []  # the upload is not kept


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: far_corner_workbook(p, dimension="A1:XFD1048576"), "trang tính trải trên A1:XFD1048576"),
        (lambda p: far_corner_workbook(p, dimension="A1:B2"), "không đọc được: cần hơn 1 GiB bộ nhớ"),
        (zip_bomb, "không đọc được bảng tính XLSX (giải nén ra hơn 256 MiB)"),
        (lambda p: p.write_bytes(b"Ma,So\nS1,SN\n") and p, "không đọc được bảng tính XLSX (không phải tệp ZIP)"),
    ],
    ids=["true-dimension", "lying-dimension", "zip-bomb", "not-a-zip"],
)
def test_hostile_workbooks_get_a_one_line_error(login_as, engine, tmp_path, make, expected):
    client = login_as("security_officer")
    before = state(engine)
    response = upload(client, make(tmp_path / "x.xlsx").read_bytes(), name="x.xlsx")
    assert response.status_code == 400
    message = problem(response.get_data(as_text=True))
    assert message.startswith("x.xlsx: ") and expected in message and "\n" not in message and len(message) < 300
    assert client.get("/transfers/").status_code == 200
    assert state(engine) == before
