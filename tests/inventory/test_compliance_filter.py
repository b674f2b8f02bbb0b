"""The device list's compliance filter (inventory.repository): compliant, non_compliant, unknown as
the last evaluation left them in device_compliance; no row is unknown, a disposed device is in
no state; the filtered list's three counts agree with compliance.state.state_shares."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from compliance.state import state_shares
from inventory.models import Device, DeviceCompliance, Finding
from inventory.repository import NEVER_EVALUATED, DeviceFilter, compliance_counts, count_devices, list_devices, share_percent
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db

EVALUATED = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
COLLECTED = datetime(2026, 5, 31, 22, 0, tzinfo=UTC)


def _fleet(session: Session) -> dict[str, int]:
    """S1: two compliant, one non-compliant, one unknown (stale), one never evaluated, one
    disposed; S2: one non-compliant."""
    sites = make_province(session, sites=2)
    s1, s2 = sites["S1"], sites["S2"]
    devices = {
        "ok1": Device(device_class="laptop", hostname="ok1", site_id=s1["site"], zone_id=s1["internet"]),
        "ok2": Device(device_class="desktop", hostname="ok2", site_id=s1["site"], zone_id=s1["internet"]),
        "bad": Device(device_class="access_switch", hostname="bad", site_id=s1["site"], zone_id=s1["party_wan"]),
        "stale": Device(device_class="laptop", hostname="stale", site_id=s1["site"], zone_id=s1["internet"]),
        "never": Device(device_class="laptop", hostname="never", site_id=s1["site"], zone_id=s1["internet"]),
        "gone": Device(device_class="laptop", hostname="gone", status="disposed", site_id=s1["site"], zone_id=s1["internet"]),
        "far": Device(device_class="laptop", hostname="far", site_id=s2["site"], zone_id=s2["internet"]),
    }
    session.add_all(devices.values())
    session.flush()
    states = {
        "ok1": ("compliant", []),
        "ok2": ("compliant", []),
        "bad": ("non_compliant", ["failed: net.telnet_off"]),
        "stale": ("unknown", ["stale: last collected 2026-01-02, older than 30 days"]),
        "far": ("non_compliant", ["failed: endpoint.origin"]),
    }
    for name, (state, reasons) in states.items():
        session.add(DeviceCompliance(device_id=devices[name].id, state=state, evaluated_at=EVALUATED, data_as_of=COLLECTED, failed_rules=state == "non_compliant", reasons=reasons))
    # The stale laptop has no open finding: "no open finding" is not "compliant".
    session.add(Finding(rule_id="net.telnet_off", subject_key=f"device:{devices['bad'].id}", device_id=devices["bad"].id, site_id=s1["site"], severity="critical"))
    session.commit()
    return {name: d.id for name, d in devices.items()}


def names(session: Session, flt: DeviceFilter) -> set[str]:
    rows, total = list_devices(session, flt, per_page=None)
    assert total == len(rows) == count_devices(session, flt)
    return {r["hostname"] for r in rows}


def test_each_state_lists_its_devices_and_never_evaluated_is_unknown(session):
    _fleet(session)
    assert names(session, DeviceFilter(compliance="compliant")) == {"ok1", "ok2"}
    assert names(session, DeviceFilter(compliance="non_compliant")) == {"bad", "far"}
    assert names(session, DeviceFilter(compliance="unknown")) == {"stale", "never"}
    # The disposed device stays listed without the filter, in no state.
    assert "gone" in names(session, DeviceFilter())
    assert names(session, DeviceFilter(compliance="unknown", site="S1")) == {"stale", "never"}
    # The older filter means what it says, no open finding: it keeps the unknown ones too.
    assert {"stale", "never"} <= names(session, DeviceFilter(compliant=True))


def test_counts_of_the_filtered_list_match_the_site_shares(session):
    ids = _fleet(session)
    assert compliance_counts(session, DeviceFilter()) == {"compliant": 2, "non_compliant": 2, "unknown": 2}
    s1 = compliance_counts(session, DeviceFilter(site="S1"))
    assert s1 == {"compliant": 2, "non_compliant": 1, "unknown": 2}
    site_id = session.get(Device, ids["ok1"]).site_id
    assert state_shares(session, [site_id])[site_id] == s1
    assert compliance_counts(session, DeviceFilter(site="S1", device_class="laptop")) == {"compliant": 1, "non_compliant": 0, "unknown": 2}
    # Each state's count is what its filter lists.
    for state, count in s1.items():
        assert count_devices(session, DeviceFilter(site="S1", compliance=state)) == count
    assert compliance_counts(session, DeviceFilter(site="NOPE")) == {"compliant": 0, "non_compliant": 0, "unknown": 0}


def test_each_row_carries_its_state(session):
    ids = _fleet(session)
    rows = {r["hostname"]: r for r in list_devices(session, DeviceFilter(), per_page=None)[0]}
    assert rows["bad"]["compliance"] == {"state": "non_compliant", "reasons": ["failed: net.telnet_off"], "evaluated_at": EVALUATED, "data_as_of": COLLECTED}
    assert rows["never"]["compliance"] == {"state": "unknown", "reasons": [NEVER_EVALUATED], "evaluated_at": None, "data_as_of": None}
    assert rows["gone"]["compliance"] is None
    assert rows["ok1"]["id"] == ids["ok1"] and rows["ok1"]["compliance"]["state"] == "compliant"


def test_a_state_that_is_none_of_the_three_is_refused():
    with pytest.raises(ValueError, match="compliance must be one of: compliant, non_compliant, unknown"):
        DeviceFilter.from_mapping({"compliance": "yes"})
    assert DeviceFilter.from_mapping({"compliance": ""}).compliance is None


def test_share_percent_never_hides_a_share():
    assert share_percent(15, 100) == "15%"
    assert share_percent(1, 1000) == "<1%" and share_percent(999, 1000) == ">99%"
    assert share_percent(0, 10) == "0%" and share_percent(10, 10) == "100%"
    assert share_percent(0, 0) == "–"
