"""A technician imports devices with a preview in a real browser (issue 15, item 8): downloads the
XLSX template, fills it from its drop-down lists (one new laptop, one desktop's new user), uploads
it, reads the preview (nothing written yet, the change field by field), confirms, and the import
is applied and audit-logged. Touches one commune desktop no other flow uses."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from inventory.io.columns import DEVICE_COLUMNS
from inventory.models import AuditLog, Device, Site

pytestmark = pytest.mark.browser

NEW_SERIAL = "SN-NHAP-XEM-TRUOC"
NEW_USER = "Vàng Thị Mai"


def _a_commune_desktop(engine) -> tuple[int, str, str, str, str | None]:
    """The last commune desktop with a serial: (id, serial, its site's code and name, user)."""
    with Session(engine) as session:
        device, site = session.exec(
            select(Device, Site).join(Site, Site.id == Device.site_id)
            .where(Site.kind == "commune", Device.device_class == "desktop", Device.serial.is_not(None)).order_by(Device.id.desc())
        ).first()  # fmt: skip
        return device.id, device.serial, site.code, site.name, device.assigned_user


def test_technician_imports_devices_after_a_preview(browse, tmp_path):
    page, engine = browse.page, browse.server.engine
    device_id, serial, code, name, user_before = _a_commune_desktop(engine)
    browse.login("technician")
    browse.goto("/transfers/")

    # The template, filled from its own lists.
    with page.expect_download() as info:
        page.click("a[href$='/transfers/template/devices.xlsx']")
    template = tmp_path / "mau.xlsx"
    info.value.save_as(template)
    book = load_workbook(template)
    lists = {value for row in book["Danh mục"].iter_rows(min_row=2, values_only=True) for value in row if value}
    site_entry = f"{code} — {name}"
    assert site_entry in lists and "laptop — Máy tính xách tay" in lists and "desktop — Máy tính để bàn" in lists
    sheet = book.worksheets[0]
    assert sheet.max_row == 1  # no example row to import
    column = {c.key: n for n, c in enumerate(DEVICE_COLUMNS, start=1)}
    rows = [
        {"site_code": site_entry, "device_class": "laptop — Máy tính xách tay", "serial": NEW_SERIAL, "zone": "internet — Mạng Internet"},
        {"site_code": site_entry, "device_class": "desktop — Máy tính để bàn", "serial": serial, "assigned_user": NEW_USER},
    ]
    for number, values in enumerate(rows, start=2):
        for key, value in values.items():
            sheet.cell(number, column[key], value)
    filled = tmp_path / "thiet-bi.xlsx"
    book.save(filled)

    # Upload: a preview, nothing written.
    page.select_option("select[name=kind]", "devices")
    page.set_input_files("input[name=file][type=file]", str(filled))
    with page.expect_navigation():
        page.click("form[action$='/transfers/import#import-report'] button[type=submit]")
    preview = page.locator("section.import-preview")
    assert "Xem trước khi nhập thiet-bi.xlsx" in preview.locator("h2").inner_text()
    changes = page.locator("table.import-changes").inner_text()
    assert NEW_SERIAL in changes and "Tạo mới" in changes and serial in changes and NEW_USER in changes
    browse.shot("import-preview")
    with Session(engine) as session:
        assert session.get(Device, device_id).assigned_user == user_before
        assert session.exec(select(Device).where(Device.serial == NEW_SERIAL)).first() is None

    # Confirm: applied, audit-logged, and the page says so.
    with page.expect_navigation():
        page.click("form.import-confirm button[name=apply]")
    assert "Đã nhập." in page.locator("section.import-report").inner_text()
    browse.shot("import-applied")
    with Session(engine) as session:
        assert session.get(Device, device_id).assigned_user == NEW_USER
        assert session.exec(select(Device).where(Device.serial == NEW_SERIAL)).one().site_id == session.get(Device, device_id).site_id
        entry = session.exec(select(AuditLog).where(AuditLog.action == "import").order_by(AuditLog.id.desc())).first()
        assert entry.after["file"] == "thiet-bi.xlsx" and (entry.after["created"], entry.after["updated"]) == (1, 1)
    assert page.input_value("select[name=kind]") == "devices"
    browse.guard.assert_clean()
