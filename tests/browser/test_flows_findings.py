"""A security officer works the findings of one device in a real browser (issue 15, item 4):
finds them by the device's address, exports the filtered list as a workbook, waives all that
match after a confirmation stating the count, then revokes one waiver through its confirmation.
Touches only the hostile laptop's findings (127.250.2.9); runs after test_flows.py."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from inventory.models import AuditLog, Finding
from tests.browser.conftest import HOSTILE

pytestmark = pytest.mark.browser

ADDRESS = "127.250.2.9"  # the hostile laptop of the seeded data


def test_security_officer_finds_exports_waives_and_revokes(browse, tmp_path):
    page, engine = browse.page, browse.server.engine
    device_id = browse.server.seeded.hostile_device_id
    with Session(engine) as session:
        unresolved = [f.id for f in session.exec(select(Finding).where(Finding.device_id == device_id, Finding.status != "resolved"))]
    assert unresolved
    browse.login("security_officer")

    # Search by the device's address, every status: only its findings are listed.
    browse.goto("/findings/")
    page.fill("form.filters input[name=q]", ADDRESS)
    page.select_option("form.filters select[name=status]", "all")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    listed = {int(t) for t in page.locator("table.findings tbody td:nth-child(2) a").all_inner_texts()}
    assert listed >= set(unresolved) and f"q={ADDRESS}" in page.url
    browse.assert_no_injected_markup()
    browse.shot("findings-search")

    # The filtered list as a workbook: a header row, labels, the device's findings only.
    with page.expect_download() as info:
        page.click("p.export-links a[href*='export.xlsx']")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    import openpyxl

    sheet = openpyxl.load_workbook(path).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Mã phát hiện", "Mức độ", "Quy tắc"]
    ids = {row[0].value for row in sheet.iter_rows(min_row=2)}
    assert ids == listed and all(row[5].value == HOSTILE for row in sheet.iter_rows(min_row=2))

    # Waive every unresolved finding that matches (not one page), after a confirmation stating
    # the count (test_flows.py may have waived one of them already: it is waived anew).
    page.fill("#waive-form textarea[name=reason]", "Máy sẽ được thay trong quý tới")
    page.fill("#waive-form input[name=expires]", (date.today() + timedelta(days=60)).isoformat())
    with page.expect_navigation():
        page.click("#waive-form button[value=filter]")
    question = page.locator("form.confirm-step h2").inner_text()
    assert question.startswith(f"Miễn trừ {len(unresolved)} phát hiện đến"), question
    browse.shot("waive-all-confirm")
    with page.expect_navigation():
        page.click("form.confirm-step button.confirm-button")
    assert page.locator(".flash.info").count() == 1, page.locator("main").inner_text()
    with Session(engine) as session:
        waived = {f.id: (f.status, f.waiver_reason) for f in session.exec(select(Finding).where(Finding.id.in_(unresolved)))}
    assert set(waived.values()) == {("waived", "Máy sẽ được thay trong quý tới")}

    # Revoke one waiver: its page, the confirmation, the finding open again, the audit entry.
    finding_id = min(unresolved)
    browse.goto(f"/findings/{finding_id}")
    with page.expect_navigation():
        page.click(f"form[action='/findings/{finding_id}/waiver/revoke'] button[type=submit]")
    assert f"#{finding_id}" in page.locator("form.confirm-step h2").inner_text()
    browse.shot("revoke-confirm")
    with page.expect_navigation():
        page.click("form.confirm-step button.confirm-button")
    assert page.url.endswith(f"/findings/{finding_id}")
    assert "Đang mở" in page.locator("dl.facts").inner_text() and page.locator(".flash.info").count() == 1
    with Session(engine) as session:
        assert session.get(Finding, finding_id).status == "open"
        entry = session.exec(select(AuditLog).where(AuditLog.action == "revoke_waiver", AuditLog.entity_id == str(finding_id))).one()
        assert entry.actor == browse.server.seeded.users["security_officer"] and entry.before["status"] == "waived"
    browse.guard.assert_clean()
