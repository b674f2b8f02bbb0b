"""End of life and "counts toward the schedule" (compliance.lifecycle): the date rule, the SQL
condition the device list filters by, and the checks agree on the same devices."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import select
from sqlmodel import Session

from compliance.checks.base import get_check
from compliance.lifecycle import (
    counts_toward_schedule,
    end_of_life_condition,
    end_of_life_year,
    is_end_of_life,
    last_purchase_past_life,
    service_life_end,
)
from compliance.policy import Policy, shipped_policy
from compliance.service import fleet_frame
from compliance.subjects import DeviceSubject
from inventory.models import Device, DeviceCompliance, Finding
from inventory.repository import DeviceFilter, list_devices
from tests.inventory.factories import make_province


def days(start: date, end: date):
    for n in range((end - start).days + 1):
        yield start + timedelta(days=n)


@pytest.mark.parametrize("years", [1, 4, 5])
def test_sql_cut_off_is_the_service_life_end_turned_around(years: int) -> None:
    """bought <= cut-off(today) exactly when service_life_end(bought) <= today, around leap days."""
    todays = [*days(date(2024, 2, 25), date(2024, 3, 2)), *days(date(2025, 2, 25), date(2025, 3, 2)), date(2028, 2, 29)]
    for today in todays:
        cutoff = last_purchase_past_life(today, years)
        for bought in days(today.replace(day=1, month=1) - timedelta(days=366 * years + 40), today - timedelta(days=365 * years - 40)):
            assert (bought <= cutoff) == (service_life_end(bought, years) <= today), (today, bought)


def test_a_29_february_purchase_ends_on_28_february() -> None:
    assert service_life_end(date(2020, 2, 29), 5) == date(2025, 2, 28)
    assert service_life_end(date(2020, 2, 29), 4) == date(2024, 2, 29)
    assert last_purchase_past_life(date(2025, 2, 28), 5) == date(2020, 2, 29)
    assert last_purchase_past_life(date(2024, 2, 29), 5) == date(2019, 2, 28)


def test_counts_toward_schedule() -> None:
    assert counts_toward_schedule("in_use", False, None, 2026)
    assert counts_toward_schedule("in_use", False, 2027, 2026)
    assert not counts_toward_schedule("in_use", False, 2026, 2026)  # its end falls in that year
    assert not counts_toward_schedule("in_use", True, None, 2026)  # an open finding
    assert not counts_toward_schedule("in_stock", False, None, 2026)


def test_end_of_life_year_is_the_earlier_of_service_life_and_os_support() -> None:
    policy = shipped_policy()
    assert end_of_life_year(policy, device_class="laptop", bought=date(2024, 1, 1), os_name="Windows 7", os_version="SP1") == 2020
    assert end_of_life_year(policy, device_class="laptop", bought=date(2020, 2, 29), os_name=None, os_version=None) == 2025
    assert end_of_life_year(policy, device_class="laptop", bought=None, os_name="Unknown OS", os_version="1") is None


# ------------------------------------------------------------------------------ the same devices, SQL and Python

PURCHASES = [None, date(2020, 2, 29), date(2021, 2, 28), date(2021, 3, 1), date(2021, 6, 1), date(2021, 6, 2), date(2024, 1, 1)]
SYSTEMS = [(None, None), ("Windows 7", "SP1"), ("Windows 10 Pro", "22H2"), ("Windows 11 Pro", "25H2"), ("Windows 11 Pro", None),
           ("Windows 10 Enterprise LTSC", "2021"), ("FortiOS", "7.2.8"), ("Plan 9", "4")]  # fmt: skip
STATUSES = ["in_use", "broken", "in_stock"]
CLASSES = ["laptop", "firewall", "tablet"]
TODAYS = [date(2025, 2, 27), date(2025, 2, 28), date(2026, 6, 1), date(2027, 1, 12), date(2027, 1, 13), date(2028, 2, 29)]


@pytest.fixture
def fleet(session: Session) -> list[Device]:
    """Every combination of class, status, purchase date and OS, one device each."""
    s1 = make_province(session, sites=1)["S1"]
    devices = []
    for n, (cls, status, bought, (os_name, os_version)) in enumerate(itertools.product(CLASSES, STATUSES, PURCHASES, SYSTEMS)):
        devices.append(Device(
            device_class=cls, hostname=f"d{n}", status=status, purchase_date=bought, os_name=os_name, os_version=os_version,
            site_id=s1["site"], zone_id=s1["internet"],
        ))  # fmt: skip
    session.add_all(devices)
    session.flush()
    # Every third device has an open finding, every fifth a resolved one (which does not count).
    session.add_all(
        Finding(rule_id="ep.av_present", subject_key=f"device:{d.id}", device_id=d.id, site_id=s1["site"], severity="high",
                status="open" if n % 3 == 0 else "resolved")
        for n, d in enumerate(devices) if n % 3 == 0 or n % 5 == 0
    )  # fmt: skip
    session.commit()
    return devices


@pytest.mark.db
@pytest.mark.parametrize("today", TODAYS)
def test_sql_filter_and_python_rule_agree(session: Session, fleet: list[Device], today: date) -> None:
    policy = shipped_policy()
    past, _ = list_devices(session, DeviceFilter(end_of_life=True), per_page=None, today=today, end_of_life=end_of_life_condition)
    usable, _ = list_devices(session, DeviceFilter(end_of_life=False), per_page=None, today=today, end_of_life=end_of_life_condition)
    expected = {
        d.hostname for d in fleet
        if is_end_of_life(policy, today, device_class=d.device_class, status=d.status, bought=d.purchase_date, os_name=d.os_name, os_version=d.os_version)
    }  # fmt: skip
    assert {r["hostname"] for r in past} == expected
    assert {r["hostname"] for r in usable} == {d.hostname for d in fleet} - expected
    assert expected and len(expected) < len(fleet)  # both sides are exercised


@pytest.mark.parametrize("today", TODAYS)
def test_checks_fail_exactly_when_the_rule_says_end_of_life(today: date) -> None:
    """lc.broken, lc.service_life and ep.os_supported fail on a device exactly when it is at end of life."""
    policy = shipped_policy()
    checks = [get_check(name) for name in ("lc.broken", "lc.service_life", "ep.os_supported")]
    for n, (cls, status, bought, (os_name, os_version)) in enumerate(itertools.product(CLASSES, STATUSES, PURCHASES, SYSTEMS)):
        subject = DeviceSubject(id=n, device_class=cls, site_id=1, zone="internet", status=status, today=today, policy=policy,
                                os_name=os_name, os_version=os_version, purchase_date=bought)  # fmt: skip
        failed = any(c.func(subject, {}).passed is False for c in checks)
        rule = is_end_of_life(policy, today, device_class=cls, status=status, bought=bought, os_name=os_name, os_version=os_version)
        assert failed == rule, (cls, status, bought, os_name, os_version)


@pytest.mark.db
def test_fleet_frame_counts_by_the_rule(session: Session, fleet: list[Device]) -> None:
    policy, today = shipped_policy(), date(2026, 6, 1)
    frame = fleet_frame(session, policy, today)
    open_ids = set(session.execute(select(Finding.device_id).where(Finding.status == "open")).scalars())
    expected = Counter()
    for d in fleet:
        eol = end_of_life_year(policy, device_class=d.device_class, bought=d.purchase_date, os_name=d.os_name, os_version=d.os_version)
        expected[(d.device_class, counts_toward_schedule(d.status, d.id in open_ids, eol, today.year), eol)] += 1
    rows = zip(frame["device_class"], frame["counts"], frame["eol_year"].astype(object), strict=True)
    assert Counter((cls, bool(counts), None if pd.isna(eol) else int(eol)) for cls, counts, eol in rows) == expected
    assert {counts for _, counts, _ in expected} == {True, False}


def _flagged(policy: Policy, unknown_counts: bool) -> Policy:
    return policy.model_copy(update={"schedule": policy.schedule.model_copy(update={"unknown_counts_toward_schedule": unknown_counts})})


def test_counts_toward_schedule_with_an_unknown_state() -> None:
    assert counts_toward_schedule("in_use", False, None, 2026, state_unknown=True, unknown_counts=True)
    assert not counts_toward_schedule("in_use", False, None, 2026, state_unknown=True, unknown_counts=False)
    assert counts_toward_schedule("in_use", False, None, 2026, state_unknown=False, unknown_counts=False)
    assert not counts_toward_schedule("in_use", True, None, 2026, state_unknown=True, unknown_counts=True)  # an open finding still rules


@pytest.mark.db
@pytest.mark.parametrize("unknown_counts", [True, False])
def test_fleet_frame_counts_states_by_the_rule(session: Session, fleet: list[Device], unknown_counts: bool) -> None:
    """The fleet frame (SQL: the state outer-joined from device_compliance, no row unknown) and the
    Python rule agree on every device, under either value of the policy flag."""
    states = {}
    for n, d in enumerate(fleet):
        if n % 4 != 0:  # every fourth device was never evaluated
            states[d.id] = ("compliant", "non_compliant", "unknown")[n % 3]
            session.add(DeviceCompliance(device_id=d.id, state=states[d.id], evaluated_at=datetime(2026, 6, 1, tzinfo=UTC)))
    session.commit()
    policy, today = _flagged(shipped_policy(), unknown_counts), date(2026, 6, 1)
    frame = fleet_frame(session, policy, today)
    open_ids = set(session.execute(select(Finding.device_id).where(Finding.status == "open")).scalars())
    expected = Counter()
    for d in fleet:
        eol = end_of_life_year(policy, device_class=d.device_class, bought=d.purchase_date, os_name=d.os_name, os_version=d.os_version)
        unknown = states.get(d.id, "unknown") == "unknown"
        counts = counts_toward_schedule(d.status, d.id in open_ids, eol, today.year, state_unknown=unknown, unknown_counts=unknown_counts)
        would = unknown and counts_toward_schedule(d.status, d.id in open_ids, eol, today.year)
        expected[(d.device_class, counts, would, states.get(d.id, "unknown"))] += 1
    rows = zip(frame["device_class"], frame["counts"], frame["unknown"], frame["state"], strict=True)
    assert Counter((cls, bool(c), bool(u), s) for cls, c, u, s in rows) == expected
    assert any(would for _, _, would, _ in expected)  # unknown devices that would count are exercised
    assert bool((frame["counts"] & frame["unknown"]).any()) is unknown_counts
