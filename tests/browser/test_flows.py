"""The three users' main flows in a real browser (Playwright driving Debian's chromium)."""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta

import pytest

from tests.browser.conftest import DISCOVERED_HOSTNAME, DISCOVERY_ADDRESS, HOSTILE, HOSTILE_RULE

pytestmark = pytest.mark.browser


def test_security_officer_reviews_and_waives_a_critical_finding(browse):
    page = browse.page
    browse.login("security_officer")

    # Overview: every site at a glance; the hostile hostname is text, never markup.
    browse.goto("/")
    assert page.locator("h1").first.is_visible()
    browse.shot("overview")

    # Findings, filtered to the critical ones.
    page.click("header nav a[href='/findings/']")
    page.wait_for_url("**/findings/**")
    page.select_option("select[name=severity]", "critical")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert "severity=critical" in page.url
    severities = page.locator("table.findings tbody .sev").all_inner_texts()
    assert severities and len(set(severities)) == 1, severities  # only "Nghiêm trọng"
    browse.shot("findings-critical")
    browse.assert_no_injected_markup()

    # Narrow to the rule whose finding carries the hostile text, and open it.
    page.select_option("select[name=rule]", HOSTILE_RULE)
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    finding_id = browse.server.seeded.hostile_finding_id
    link = page.locator(f"table.findings tbody a[href='/findings/{finding_id}']")
    assert link.count() == 1
    assert HOSTILE in page.locator("table.findings").inner_text()  # shown as text
    browse.assert_no_injected_markup()
    with page.expect_navigation():
        link.click()
    assert page.url.endswith(f"/findings/{finding_id}")
    assert page.locator("pre.evidence").inner_text() == HOSTILE
    browse.shot("finding")
    browse.assert_no_injected_markup()

    # Waive it with a reason and an expiry date.
    expires = (date.today() + timedelta(days=120)).isoformat()
    page.fill("#waive-form textarea[name=reason]", "Thay thế thiết bị trong quý tới")
    page.fill("#waive-form input[name=expires]", expires)
    with page.expect_navigation():
        page.click("#waive-form button[type=submit]")
    assert "Miễn trừ 1 phát hiện đến" in page.locator("form.confirm-step h2").inner_text()  # the confirmation states the count
    browse.shot("waive-confirm")
    with page.expect_navigation():
        page.click("form.confirm-step button.confirm-button")
    assert page.url.endswith(f"/findings/{finding_id}")
    assert page.locator(".flash.info").count() == 1, page.locator("main").inner_text()
    facts = page.locator("dl.facts").inner_text()
    assert "Được miễn trừ" in facts and date.fromisoformat(expires).strftime("%d/%m/%Y") in facts and "Thay thế thiết bị trong quý tới" in facts
    assert browse.server.seeded.users["security_officer"] in facts
    browse.shot("waived")

    # The database agrees.
    from sqlmodel import Session

    from inventory.models import Finding

    with Session(browse.server.engine) as session:
        finding = session.get(Finding, finding_id)
        assert finding.status == "waived" and finding.waiver_expires.isoformat() == expires
    browse.guard.assert_clean()


@pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed (the discovery the technician starts runs it)")
def test_technician_discovers_a_commune_and_adopts_a_device(browse):
    page = browse.page
    seeded = browse.server.seeded
    browse.login("technician")

    page.click("header nav a[href='/scans/']")
    page.wait_for_url("**/scans/")
    browse.shot("scans")

    # Discovery of one commune's Internet zone, narrowed to 127.0.0.1 (no other traffic).
    page.check("input[name=kind][value=discover]")
    page.select_option("form.scan-start select[name=site]", seeded.discovered_site)
    page.select_option("form.scan-start select[name=zone]", "internet")
    page.fill("form.scan-start input[name=subnet]", f"{DISCOVERY_ADDRESS}/32")
    browse.shot("scan-form")
    with page.expect_navigation():
        page.click("form.scan-start button[type=submit]")
    assert re.search(r"/scans/\d+$", page.url), f"not on a scan run page: {page.url} {page.locator('main').inner_text()}"
    run_id = int(page.url.rsplit("/", 1)[1])
    if page.locator("[data-progress-url]").count():
        browse.shot("progress")  # live progress: the page polls, then reloads itself when done
    # Results: the page has finished (reloaded by progress.js when the run ended).
    page.wait_for_selector("dl.facts", timeout=45_000)
    assert seeded.discovered_site in page.locator("h1").inner_text()
    browse.shot("results")
    browse.assert_no_injected_markup()

    # The device nobody recorded is listed with an adopt form; its hostile model is text.
    form = page.locator(f"form.adopt[action='/scans/devices/{seeded.discovered_device_id}/adopt']")
    assert form.count() == 1, page.locator("main").inner_text()
    row = page.locator("tr", has=form)
    assert HOSTILE in row.inner_text() and DISCOVERED_HOSTNAME in row.inner_text()
    form.locator("select[name=device_class]").select_option("router")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "vào danh mục" in page.locator("form.confirm-step h2").inner_text()  # one step to confirm
    with page.expect_navigation():
        page.click("form.confirm-step button.confirm-button")
    assert page.url.endswith(f"/scans/{run_id}")
    flashes = [page.locator(".flash.info").nth(n).inner_text() for n in range(page.locator(".flash.info").count())]
    assert len(flashes) == 2 and "vào danh mục" in flashes[0] and "Đã đánh giá" in flashes[1], flashes  # adopted, then evaluated
    assert page.locator(f"form.adopt[action='/scans/devices/{seeded.discovered_device_id}/adopt']").count() == 0
    browse.shot("adopted")

    # It is recorded now: the device page says so, and so does the database.
    browse.goto(f"/devices/{seeded.discovered_device_id}")
    assert "Ghi nhận" in page.locator("main").inner_text()
    browse.shot("device")
    browse.assert_no_injected_markup()

    from sqlmodel import Session

    from inventory.models import Device

    with Session(browse.server.engine) as session:
        device = session.get(Device, seeded.discovered_device_id)
        assert device.source == "recorded" and device.device_class == "router"
    browse.guard.assert_clean()


def test_planner_downloads_the_2027_plan(browse, tmp_path):
    page = browse.page
    browse.login("planner")

    page.click("header nav a[href='/procurement/']")
    page.wait_for_url("**/procurement/**")
    browse.shot("procurement", full_page=False)

    # Choose 2027.
    with page.expect_navigation():
        page.click("nav.tabs a:text-is('2027')")
    assert "year=2027" in page.url
    assert page.locator("nav.tabs a[aria-current=page]").inner_text().strip() == "2027"
    assert "2027" in page.locator("section h2", has_text="2027").inner_text()
    assert page.locator("table.plan tbody tr").count() > 1  # the demo province has approved quantities
    browse.shot("procurement-2027", full_page=False)

    # Download the workbook.
    with page.expect_download() as info:
        page.click("a.button[href$='.xlsx']")
    download = info.value
    assert download.failure() is None
    assert download.url.startswith(browse.server.base_url + "/")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    assert path.suffix == ".xlsx"

    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True)
    sheets = workbook.sheetnames
    workbook.close()
    year_sheets = [name for name in sheets if "2027" in name]
    assert year_sheets, f"no 2027 sheet in {sheets}"
    browse.guard.assert_clean()
