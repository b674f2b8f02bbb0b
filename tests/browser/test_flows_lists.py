"""Lists people can work with, in a real browser (issue 15, item 3): a security officer filters
the device list, saves the filter shared with everyone, a planner applies it from the menu,
sorts by a header, chooses columns (remembered on the next visit) and downloads the labelled
XLSX of what the list shows."""

from __future__ import annotations

import io

import openpyxl
import pytest

pytestmark = pytest.mark.browser

OFFICE = "TU-UBKTTU"  # its laptops: the device-edit flow moves only its printers


def test_save_a_filter_and_reuse_it(browse):
    page = browse.page
    browse.login("security_officer")
    browse.goto(f"/devices/?site={OFFICE}&device_class=laptop")
    page.click("details.saved-filters > summary")
    page.fill("details.saved-filters input[name=name]", "Máy xách tay văn phòng")
    page.check("details.saved-filters input[name=shared]")
    browse.shot("save-filter")
    with page.expect_navigation():
        page.click("details.saved-filters button[type=submit]:not(.link)")
    assert "Đã lưu bộ lọc." in " ".join(page.locator(".flash").all_inner_texts())
    page.context.clear_cookies()

    # Another user: the shared filter is in the menu, applying it filters the list.
    browse.login("planner")
    browse.goto("/devices/")
    page.click("details.saved-filters > summary")
    entry = page.locator("details.saved-filters li", has_text="Máy xách tay văn phòng")
    assert "dùng chung" in entry.inner_text() and entry.locator("button").count() == 0  # not theirs to delete
    with page.expect_navigation():
        entry.locator("a").click()
    assert f"site={OFFICE}" in page.url and "device_class=laptop" in page.url
    classes = set(page.locator("table.device-list tbody tr td:nth-child(4)").all_inner_texts())
    assert classes == {"Máy tính xách tay"}, classes

    # Sort by hostname, descending: the arrow says so and the rows follow.
    with page.expect_navigation():
        page.click("table.device-list thead a:has-text('Tên máy')")
    with page.expect_navigation():
        page.click("table.device-list thead a:has-text('Tên máy')")
    assert "Tên máy ▼" in page.locator("table.device-list thead").inner_text()
    names = page.locator("table.device-list tbody tr td:nth-child(5)").all_inner_texts()
    assert names == sorted(names, reverse=True) and len(names) > 1

    # Columns: only hostname, user and MAC; remembered on the next visit.
    page.click("details.column-chooser > summary")
    for box in page.locator("details.column-chooser input[name=columns]").all():
        box.uncheck()
    for key in ("hostname", "user", "mac"):
        page.check(f"details.column-chooser input[name=columns][value={key}]")
    with page.expect_navigation():
        page.click("details.column-chooser button[type=submit]")
    browse.goto("/devices/")
    heads = [h.strip() for h in page.locator("table.device-list thead th").all_inner_texts()]
    assert heads == ["Tên máy", "MAC", "Người sử dụng"], heads  # sorted by id: no arrow on these
    browse.shot("chosen-columns")

    # The labelled export of the filtered list: labels, a header with autofilter.
    browse.goto(f"/devices/?site={OFFICE}&device_class=laptop")
    with page.expect_download() as download:
        page.click("p.actions a[href*='/devices/list.xlsx']")
    data = download.value.path().read_bytes()
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    header = [c.value for c in ws[1]]
    assert header[:5] == ["ID", "Đơn vị", "Vùng", "Loại", "Tên máy"]
    assert {row[3].value for row in ws.iter_rows(min_row=2)} == {"Máy tính xách tay"}
    assert ws.auto_filter.ref and ws.print_title_rows == "$1:$1"
    browse.guard.assert_clean()
