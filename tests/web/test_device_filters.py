"""The "compliant" and "end of life" device filters: DeviceFilter (SQL), the devices page, the API."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session

from compliance.lifecycle import end_of_life_condition
from inventory.models import Device, Finding
from inventory.repository import DeviceFilter, list_devices, parse_tristate
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db

TODAY = date(2026, 6, 1)


def _fleet(session: Session) -> dict[str, int]:
    s1 = make_province(session, sites=1)["S1"]
    common = dict(site_id=s1["site"], zone_id=s1["internet"])
    devices = {
        "new": Device(device_class="laptop", hostname="new", purchase_date=date(2024, 1, 1), os_name="Windows 11 Pro", os_version="25H2", **common),
        "old": Device(device_class="laptop", hostname="old", purchase_date=date(2020, 1, 1), **common),  # 5 years: ended 2025
        "edge": Device(device_class="desktop", hostname="edge", purchase_date=date(2021, 6, 1), **common),  # ends exactly today
        "young": Device(device_class="desktop", hostname="young", purchase_date=date(2021, 6, 2), **common),  # ends tomorrow
        "win7": Device(device_class="desktop", hostname="win7", purchase_date=date(2025, 1, 1), os_name="Windows 7", os_version="SP1", **common),
        "broken": Device(device_class="printer", hostname="broken", status="broken", **common),
        "unknown": Device(device_class="scanner", hostname="unknown", **common),  # no date, no OS
        "leap": Device(device_class="tablet", hostname="leap", purchase_date=date(2020, 2, 29), **common),
    }
    session.add_all(devices.values())
    session.flush()
    session.add_all([
        Finding(rule_id="ep.av_present", subject_key=f"device:{devices['new'].id}", device_id=devices["new"].id, site_id=s1["site"], severity="critical"),
        Finding(rule_id="ep.av_present", subject_key=f"device:{devices['young'].id}", device_id=devices["young"].id, site_id=s1["site"],
                severity="critical", status="resolved"),
        Finding(rule_id="ep.tpm", subject_key=f"device:{devices['unknown'].id}", device_id=devices["unknown"].id, site_id=s1["site"],
                severity="high", status="waived"),
    ])  # fmt: skip
    session.commit()
    return {name: d.id for name, d in devices.items()}


def names(session, flt, today=TODAY) -> set[str]:
    rows, total = list_devices(session, flt, per_page=None, today=today, end_of_life=end_of_life_condition)
    assert total == len(rows)
    return {r["hostname"] for r in rows}


def test_tristate_parsing():
    assert [parse_tristate(v) for v in ("1", "yes", "true", "0", "no", "", None, "maybe", True)] == [True, True, True, False, False, None, None, None, True]
    flt = DeviceFilter.from_mapping({"compliant": "1", "end_of_life": "0", "site": ""})
    assert flt.compliant is True and flt.end_of_life is False and flt.site is None
    assert DeviceFilter.from_mapping({"compliant": "junk"}).compliant is None
    assert DeviceFilter() == DeviceFilter(compliant=None, end_of_life=None)  # defaults: no filter


def test_compliant_means_no_open_finding(session):
    _fleet(session)
    everyone = names(session, DeviceFilter())
    assert len(everyone) == 8
    # Only "new" has an open finding; resolved and waived ones do not count.
    assert names(session, DeviceFilter(compliant=False)) == {"new"}
    assert names(session, DeviceFilter(compliant=True)) == everyone - {"new"}


def test_end_of_life_by_service_life_os_support_and_status(session):
    _fleet(session)
    eol = names(session, DeviceFilter(end_of_life=True))
    # old: service life over; edge: ends today (as lc.service_life: end <= today fails);
    # win7: OS past end of support; broken: status; leap: 2020-02-29 + 5 years = 2025-02-28.
    assert eol == {"old", "edge", "win7", "broken", "leap"}
    assert names(session, DeviceFilter(end_of_life=False)) == {"new", "young", "unknown"}
    # The day before, "edge" still had a day left.
    assert "edge" not in names(session, DeviceFilter(end_of_life=True), today=date(2026, 5, 31))


def test_leap_day_purchase_ends_on_28_february(session):
    _fleet(session)
    assert "leap" in names(session, DeviceFilter(end_of_life=True), today=date(2025, 2, 28))
    assert "leap" not in names(session, DeviceFilter(end_of_life=True), today=date(2025, 2, 27))


def test_filters_combine_with_the_others(session):
    _fleet(session)
    assert names(session, DeviceFilter(end_of_life=True, device_class="desktop")) == {"edge", "win7"}
    assert names(session, DeviceFilter(end_of_life=False, compliant=True)) == {"young", "unknown"}


def test_agrees_with_the_compliance_check(session):
    """The SQL filter and the lc.service_life check (compliance.checks.device.end_of_life) agree."""
    from compliance.checks.device import end_of_life
    from compliance.policy import shipped_policy

    ids = _fleet(session)
    life = shipped_policy().service_life
    past = names(session, DeviceFilter(end_of_life=True))
    for row in list_devices(session, DeviceFilter(), per_page=None)[0]:
        if row["purchase_date"] and row["status"] != "broken" and not row["os_name"]:
            expected = end_of_life(row["purchase_date"], life.years_for(row["device_class"])) <= TODAY
            assert (row["hostname"] in past) == expected, row["hostname"]
    assert ids


def test_devices_page_has_the_filters(login_as, seed, engine):
    with Session(engine) as session:
        s = session.get(Device, seed.device_id)
        s.purchase_date = date(2010, 1, 1)
        session.commit()
    client = login_as("viewer")
    body = client.get("/devices/").get_data(as_text=True)
    assert 'name="compliant"' in body and 'name="end_of_life"' in body
    # Both seed devices have open findings.
    body = client.get("/devices/?compliant=1").get_data(as_text=True)
    assert "Không có thiết bị nào khớp bộ lọc." in body
    body = client.get("/devices/?compliant=0").get_data(as_text=True)
    assert ">sw1<" in body and "SN-HOSTILE" in body
    body = client.get("/devices/?end_of_life=1").get_data(as_text=True)
    assert ">sw1<" in body and "SN-HOSTILE" not in body
    assert '<option value="1" selected>' in body
    body = client.get("/devices/?end_of_life=0").get_data(as_text=True)
    assert ">sw1<" not in body and "SN-HOSTILE" in body
    # The export takes the same filters (exports are not for viewers: a technician here).
    csv_text = login_as("technician").get("/devices/export.csv?end_of_life=1").get_data(as_text=True)
    assert "sw1" in csv_text and "SN-HOSTILE" not in csv_text
