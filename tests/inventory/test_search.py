"""The global search as the inventory answers it: every MAC notation and part of one, IP,
hostname, serial, assigned user and site with or without diacritics, findings of what was
found, exact matches first, counts that stop at the cap, LIKE wildcards taken literally."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from inventory import search as search_module
from inventory.models import Device, DeviceMac, Finding, Site
from inventory.search import NameIndex, SearchQuery, fold, load_name_index, mac_span, match_span, search
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db

MAC = "3c:52:82:0a:1b:2c"


@pytest.fixture
def fleet(session: Session) -> dict[str, int]:
    province = make_province(session, sites=2)
    s1, s2 = province["S1"], province["S2"]
    session.get(Site, s2["site"]).name = "Xã Mường Thanh"
    laptop = Device(device_class="laptop", site_id=s1["site"], zone_id=s1["internet"], hostname="LT-KETOAN-01", mgmt_ip="10.1.2.15",
                    serial="5CG1234XYZ", assigned_user="Đặng Thị Hương")  # fmt: skip
    switch = Device(device_class="access_switch", site_id=s1["site"], zone_id=s1["party_wan"], hostname="sw1", mgmt_ip="10.1.1.2", serial="SN-SW1")
    near = Device(device_class="desktop", site_id=s2["site"], zone_id=s2["internet"], hostname="pc-sw1-backup", mgmt_ip="10.2.2.150", serial="SN_100%")
    session.add_all([laptop, switch, near])
    session.flush()
    session.add_all([DeviceMac(device_id=laptop.id, mac=MAC), DeviceMac(device_id=switch.id, mac="00:11:22:33:44:55")])
    session.add_all(
        [
            Finding(rule_id="ep.av_fresh", subject_key=f"device:{laptop.id}", device_id=laptop.id, site_id=s1["site"], severity="medium"),
            Finding(rule_id="ep.os_supported", subject_key=f"device:{laptop.id}:os", device_id=laptop.id, site_id=s1["site"], severity="critical"),
            Finding(rule_id="ep.old", subject_key=f"device:{laptop.id}:old", device_id=laptop.id, site_id=s1["site"], severity="high", status="resolved"),
            Finding(rule_id="site.party_wan", subject_key=f"site:{s2['site']}", site_id=s2["site"], severity="high"),
        ]
    )
    session.commit()
    return {"laptop": laptop.id, "switch": switch.id, "near": near.id, "s2": s2["site"]}


def run(session: Session, text: str):
    return search(session, SearchQuery.parse(text), load_name_index(session))


def device_ids(results) -> list[int]:
    return [d.id for d in results.devices.rows]


@pytest.mark.parametrize("typed", [MAC, MAC.upper(), "3C-52-82-0A-1B-2C", "3c52.820a.1b2c", "3C52820A1B2C", " 3c 52 82 0a 1b 2c "])
def test_a_whole_mac_in_any_notation(session, fleet, typed):
    results = run(session, typed)
    assert device_ids(results) == [fleet["laptop"]]
    assert results.devices.rows[0].macs == (MAC,)


@pytest.mark.parametrize("typed", ["0a:1b:2c", "0A-1B", "820a.1b2c", "2820a1"])
def test_part_of_a_mac(session, fleet, typed):
    assert device_ids(run(session, typed)) == [fleet["laptop"]]


def test_an_ip_whole_or_in_part(session, fleet):
    assert device_ids(run(session, "10.1.2.15")) == [fleet["laptop"]]
    assert set(device_ids(run(session, "10.1."))) == {fleet["laptop"], fleet["switch"]}


def test_hostname_and_serial_case_aside(session, fleet):
    assert device_ids(run(session, "lt-ketoan")) == [fleet["laptop"]]
    assert device_ids(run(session, "5cg1234")) == [fleet["laptop"]]


def test_an_exact_hostname_comes_first(session, fleet):
    assert device_ids(run(session, "sw1")) == [fleet["switch"], fleet["near"]]  # "pc-sw1-backup" sorts first by name


@pytest.mark.parametrize("typed", ["Đặng Thị Hương", "đặng thị", "dang thi huong", "DANG THI"])
def test_assigned_user_with_or_without_diacritics(session, fleet, typed):
    assert device_ids(run(session, typed)) == [fleet["laptop"]]


def test_many_users_matched_without_diacritics_fall_back_to_the_typed_form(session, fleet, monkeypatch):
    monkeypatch.setattr(search_module, "MAX_NAME_MATCHES", 0)
    assert device_ids(run(session, "đặng thị")) == [fleet["laptop"]]  # lower-case typed, capitalised stored
    assert device_ids(run(session, "dang thi")) == []


@pytest.mark.parametrize("typed", ["Mường Thanh", "muong thanh", "MUONG", "s2"])
def test_sites_by_code_or_name(session, fleet, typed):
    results = run(session, typed)
    assert [s.id for s in results.sites.rows] == [fleet["s2"]]


def test_findings_of_the_devices_and_sites_found_current_ones_most_severe_first(session, fleet):
    results = run(session, MAC)
    assert [f.rule_id for f in results.findings.rows] == ["ep.os_supported", "ep.av_fresh"]  # the resolved one is left out
    assert results.findings.rows[0].hostname == "LT-KETOAN-01"
    assert [f.rule_id for f in run(session, "muong thanh").findings.rows] == ["site.party_wan"]


def test_like_wildcards_are_literal(session, fleet):
    assert device_ids(run(session, "_100%")) == [fleet["near"]]
    assert device_ids(run(session, "%")) == [fleet["near"]]  # the one serial holding a "%"
    assert device_ids(run(session, "SN_")) == [fleet["near"]]  # not SN-SW1


def test_counts_stop_at_the_cap(session, fleet, monkeypatch):
    monkeypatch.setattr(search_module, "COUNT_CAP", 1)
    results = run(session, "10.")
    assert (results.devices.total, results.devices.capped, results.devices.more) == (1, True, True)
    assert results.findings.capped


def test_nothing_found(session, fleet):
    results = run(session, "khong-co-may-nay")
    assert results.empty and results.devices.rows == [] and results.findings.rows == []


def test_queries_parsed():
    assert SearchQuery.parse("  ") is None
    assert SearchQuery.parse(None) is None
    assert len(SearchQuery.parse("x" * 500).text) == search_module.MAX_QUERY
    assert SearchQuery.parse("10.1.1.2").mac_digits is None  # an address, not part of a MAC
    assert SearchQuery.parse("aa-bb-cc-dd-ee-ff").mac == "aa:bb:cc:dd:ee:ff"
    assert SearchQuery.parse("abc").mac_digits is None  # too short to be worth a MAC search
    assert SearchQuery.parse("sw1-core").mac_digits is None


def test_spans_for_highlighting():
    query = SearchQuery.parse("dang thi")
    assert match_span("Ông Đặng Thị Hương", query) == (4, 12)
    assert match_span(None, query) is None
    assert mac_span(MAC, SearchQuery.parse("820A.1B")) == (6, 14)  # "82:0a:1b"
    assert MAC[6:14] == "82:0a:1b"
    assert mac_span(MAC, SearchQuery.parse("ketoan")) is None
    assert fold("ĐẶNG Ễ") == "dang e" and len(fold("Ễ")) == 1


def test_the_name_index_folds_sites_and_users(session, fleet):
    index = load_name_index(session)
    assert isinstance(index, NameIndex)
    assert index.users == (("dang thi huong", "Đặng Thị Hương"),)
    assert [s.code for s in index.sites_matching(SearchQuery.parse("xa thu"))] == ["S1"]
