"""The global search page: the header box on every page, a MAC typed with dashes, groups with
counts and links, matches highlighted but hostile data escaped, and the keyboard's skip link."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session

from inventory.models import DeviceMac
from tests.web.conftest import HOSTILE

pytestmark = pytest.mark.db


@pytest.fixture
def with_mac(engine, seed):
    with Session(engine) as session:
        session.add(DeviceMac(device_id=seed.hostile_device_id, mac="3c:52:82:0a:1b:2c"))
        session.commit()
    return seed


def page(client, q: str) -> str:
    response = client.get("/search/", query_string={"q": q})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_header_search_is_on_every_page(login_as, seed):
    client = login_as("viewer")
    for path in ("/", "/devices/", "/findings/", "/sites/"):
        html = client.get(path).get_data(as_text=True)
        assert re.search(r'<form class="global-search" method="get" action="/search/" role="search">', html), path
        assert 'name="q"' in html


def test_a_mac_with_dashes_finds_the_laptop_highlighted_and_escaped(login_as, with_mac):
    html = page(login_as("technician"), "3C-52-82-0A-1B-2C")
    assert f'href="/devices/{with_mac.hostile_device_id}"' in html
    assert "<mark>3c:52:82:0a:1b:2c</mark>" in html
    assert HOSTILE not in html and "&lt;script&gt;" in html  # its hostname, escaped
    assert "<b>bold</b>" not in html  # its assigned user, escaped
    assert f'href="/findings/{with_mac.finding_ids[2]}"' in html  # the laptop's finding


def test_part_of_a_mac_highlights_that_part(login_as, with_mac):
    html = page(login_as("viewer"), "820a.1b")
    assert "<code>3c:52:<mark>82:0a:1b</mark>:2c</code>" in html


def test_hostile_text_is_escaped_around_the_mark(login_as, seed):
    html = page(login_as("viewer"), "alert")
    assert "&lt;script&gt;<mark>alert</mark>(" in html
    assert "<script>alert" not in html


def test_query_text_is_escaped_everywhere(login_as, seed):
    html = page(login_as("viewer"), '"><img src=x onerror=alert(1)>')
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_groups_with_counts_and_links(login_as, seed):
    html = page(login_as("planner"), "sw1")
    assert 'id="devices"' in html and 'id="sites"' in html and 'id="findings"' in html
    assert f'href="/devices/{seed.device_id}"' in html
    assert re.search(r'href="#devices">[^<]+<span class="count">1</span>', html)
    assert re.search(r'href="#sites">[^<]+<span class="count">0</span>', html)
    assert re.search(r'href="#findings">[^<]+<span class="count">2</span>', html)  # sw1's two open findings
    assert f'href="/findings/{seed.finding_ids[0]}"' in html


def test_sites_by_name_without_diacritics(login_as, seed):
    html = page(login_as("viewer"), "xa thu")  # "Xã Thử 1", "Xã Thử 2"
    assert 'href="/sites/S1"' in html and 'href="/sites/S2"' in html
    assert "<mark>Xã Thử</mark> 1" in html
    assert re.search(r'href="#sites">[^<]+<span class="count">2</span>', html)


def test_one_exact_match_still_shows_the_results_page(login_as, seed):
    response = login_as("viewer").get("/search/?q=sw1")
    assert response.status_code == 200 and "<mark>sw1</mark>" in response.get_data(as_text=True)


def test_nothing_found_and_nothing_typed(login_as, seed):
    client = login_as("viewer")
    assert "Không tìm thấy gì cho “không-có-máy-này”" in page(client, "không-có-máy-này")
    html = page(client, "")
    assert "Nhập tên máy" in html and 'id="devices"' not in html


def test_english_ui(login_as, seed):
    client = login_as("viewer")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
    client.post("/language/en", data={"csrf_token": token, "next": "/"})
    html = page(client, "sw1")
    assert "<h1>Search</h1>" in html and "Skip to main content" in html and "Thiết bị" not in html


def test_the_skip_link_is_the_first_thing_to_focus(login_as, seed):
    html = login_as("viewer").get("/devices/").get_data(as_text=True)
    body = html.split("<body", 1)[1]
    first = re.search(r"<(a|button|input|select|textarea)\b[^>]*>", body).group(0)
    assert 'class="skip-link"' in first and 'href="#content"' in first
    assert '<main id="content" tabindex="-1">' in html


def test_results_follow_a_change_of_the_data(login_as, engine, seed):
    client = login_as("viewer")
    assert "Không tìm thấy gì" in page(client, "aa-bb-cc-00-11-22")  # kept until the data changes
    with Session(engine) as session:
        session.add(DeviceMac(device_id=seed.device_id, mac="aa:bb:cc:00:11:22"))
        session.commit()
    assert f'href="/devices/{seed.device_id}"' in page(client, "aa-bb-cc-00-11-22")
