"""Search and small screens in a real browser (issue 15, items 2 and 10): a MAC written with
dashes in the header's box finds the laptop; on a 390 px phone no page scrolls sideways (wide
tables scroll inside themselves) and the filters sit behind a toggle; from the keyboard, the
first Tab reaches the skip link, which is visibly outlined and leads to the content."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from inventory.models import Device, DeviceMac

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LAPTOP_MAC = "3c:52:82:0a:1b:99"


def _a_laptop_with_a_mac(engine) -> tuple[int, str]:
    with Session(engine) as session:
        laptop = session.exec(select(Device).where(Device.device_class == "laptop", Device.hostname.is_not(None)).order_by(Device.id)).first()
        if session.exec(select(DeviceMac).where(DeviceMac.mac == LAPTOP_MAC)).first() is None:
            session.add(DeviceMac(device_id=laptop.id, mac=LAPTOP_MAC))
            session.commit()
        return laptop.id, laptop.hostname


def _page_scrolls_sideways(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1")


def test_a_mac_with_dashes_in_the_header_search(browse):
    page = browse.page
    device_id, hostname = _a_laptop_with_a_mac(browse.server.engine)
    browse.login("technician")
    browse.goto("/findings/")
    page.fill("header .global-search input[name=q]", "3C-52-82-0A-1B-99")
    with page.expect_navigation():
        page.press("header .global-search input[name=q]", "Enter")
    assert "/search/?q=3C-52-82-0A-1B-99" in page.url
    row = page.locator("table.search-devices tbody tr")
    assert row.count() == 1
    assert row.locator("mark").all_inner_texts() == [LAPTOP_MAC]
    browse.shot("search-mac")
    with page.expect_navigation():
        row.locator(f"a[href='/devices/{device_id}']").click()
    assert page.url.endswith(f"/devices/{device_id}") and hostname in page.content()
    browse.guard.assert_clean()


def test_hostile_data_in_results_stays_text(browse):
    browse.login("viewer")
    browse.goto("/search/?q=alert")
    assert browse.page.locator("mark").count() >= 1
    browse.assert_no_injected_markup()
    browse.guard.assert_clean()


PAGES = {"devices": "/devices/", "findings": "/findings/", "overview": "/", "sites": "/sites/", "search": "/search/?q=a", "events": "/events/", "scans": "/scans/", "audit": "/audit/"}


@pytest.mark.parametrize("path", list(PAGES.values()), ids=list(PAGES))
def test_no_sideways_page_scroll_on_a_phone(browse, path):
    browse.page.set_viewport_size(PHONE)
    browse.login("admin")  # admin opens every page
    browse.goto(path)
    assert not _page_scrolls_sideways(browse.page), path
    browse.shot("phone")
    browse.guard.assert_clean()


def test_the_device_list_on_a_phone(browse):
    page = browse.page
    page.set_viewport_size(PHONE)
    browse.login("technician")
    browse.goto("/devices/")
    table = page.locator("main table").first
    # The table is wider than the phone and scrolls inside itself.
    assert table.evaluate("t => t.scrollWidth > t.clientWidth && getComputedStyle(t).overflowX === 'auto'")
    toggle = page.locator("details.filters-toggle").first
    assert toggle.evaluate("d => !d.open")
    assert not page.locator("details.filters-toggle form.filters").first.is_visible()
    page.click("details.filters-toggle > summary")
    assert page.locator("details.filters-toggle form.filters").first.is_visible()
    assert not _page_scrolls_sideways(page)
    browse.shot("phone-filters-open", full_page=False)
    # On a wide screen the same filters are open, with no toggle to press.
    page.set_viewport_size({"width": 1366, "height": 900})
    assert toggle.evaluate("d => d.open")
    assert not page.locator("details.filters-toggle > summary").first.is_visible()
    browse.guard.assert_clean()


def test_the_keyboard_reaches_the_skip_link_first_and_sees_focus(browse):
    page = browse.page
    browse.login("viewer")
    browse.goto("/devices/")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => [document.activeElement.className, getComputedStyle(document.activeElement).outlineStyle, document.activeElement.getBoundingClientRect().top]")
    assert focused[0] == "skip-link" and focused[1] != "none" and focused[2] >= 0  # shown on screen when focused
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "content"
    page.keyboard.press("Tab")  # the next stop is inside the content, outlined
    inside = page.evaluate("() => [!!document.activeElement.closest('main'), getComputedStyle(document.activeElement).outlineStyle]")
    assert inside == [True, "solid"]
    browse.guard.assert_clean()
