"""A technician corrects devices in a real browser (issue 15, item 1): one device's assigned
user and site through its form, the change on its history tab, then two devices at once through
the bulk edit and its confirmation. Runs after test_flows.py (the file name sorts after it) and
touches printers of a provincial office no other flow uses."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from inventory.models import AuditLog, Device, Site

pytestmark = pytest.mark.browser

OFFICE, OTHER_OFFICE = "TU-UBKTTU", "TU-BNCTU"


def _printers(engine, code: str) -> list[int]:
    with Session(engine) as session:
        site = session.exec(select(Site).where(Site.code == code)).one()
        return list(session.exec(select(Device.id).where(Device.site_id == site.id, Device.device_class == "printer").order_by(Device.id)))


def test_technician_corrects_a_device_and_bulk_edits_two(browse):
    page, engine = browse.page, browse.server.engine
    technician = browse.server.seeded.users["technician"]
    first, second, third = _printers(engine, OFFICE)[:3]
    browse.login("technician")

    # One device: its page has the edit tab; the form holds its values; change user and site.
    browse.goto(f"/devices/{first}")
    with page.expect_navigation():
        page.click("nav.tabs a.edit")
    assert page.url.endswith(f"/devices/{first}/edit")
    assert page.input_value("select[name=site_code]") == OFFICE
    page.fill("input[name=assigned_user]", "Phạm Thị Dung")
    page.select_option("select[name=site_code]", OTHER_OFFICE)
    browse.shot("device-form")
    with page.expect_navigation():
        page.click("form.device-form button[type=submit]")
    assert page.url.endswith(f"/devices/{first}")
    flashes = page.locator(".flash").all_inner_texts()
    assert any(text.startswith("Đã lưu 3 thay đổi.") for text in flashes), flashes  # user, site and its zone there
    assert "Phạm Thị Dung" in page.locator("dl.facts").first.inner_text()
    browse.shot("device-saved")

    # Its history tab: the change, who made it, before -> after.
    with page.expect_navigation():
        page.click("nav.tabs a[href$='/history']")
    newest = page.locator("table.history tbody tr.audit").first.inner_text()
    assert technician in newest and "Sửa" in newest
    history = page.locator("table.history").inner_text()
    assert "Phạm Thị Dung" in history and OFFICE in history and OTHER_OFFICE in history
    browse.shot("device-history")

    # Two devices at once: tick them in the filtered list, choose, confirm the count.
    browse.goto(f"/devices/?site={OFFICE}&device_class=printer")
    page.check(f"input[name=ids][value='{second}']")
    page.check(f"input[name=ids][value='{third}']")
    with page.expect_navigation():
        page.click("#bulk-form button[type=submit]")
    assert "Các thiết bị đã chọn: 2 thiết bị." in page.locator("main").inner_text()
    page.check("input[name=set_assigned_user]")
    page.fill("input[name=assigned_user]", "Kho văn phòng")
    page.select_option("select[name=status]", "in_stock")
    with page.expect_navigation():
        page.click("form.bulk-form button[type=submit]")
    assert page.locator("form.bulk-form h2").inner_text() == "Sửa 2 thiết bị?"
    browse.shot("bulk-confirm")
    with page.expect_navigation():
        page.click("form.bulk-form button[type=submit]")
    flashes = page.locator(".flash").all_inner_texts()
    assert any("Đã sửa 2 trong 2 thiết bị." in text for text in flashes), flashes
    assert f"site={OFFICE}" in page.url  # back on the list it came from
    browse.shot("bulk-done")

    with Session(engine) as session:
        for device_id in (second, third):
            stored = session.get(Device, device_id)
            assert (stored.assigned_user, stored.status) == ("Kho văn phòng", "in_stock")
        # (other browser tests of the same server sign in as the technician too: only these devices count)
        entries = session.exec(select(AuditLog).where(AuditLog.entity == "device", AuditLog.actor == technician, AuditLog.entity_id.in_([str(first), str(second), str(third)]))).all()
        assert sorted(int(e.entity_id) for e in entries) == sorted([first, second, third])
    browse.guard.assert_clean()
