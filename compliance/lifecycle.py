"""End of life and "counts toward the schedule", defined once for Python and for SQL.

A device is at end of life on `today` when any of these holds:
- it is broken;
- its service life is over: purchase date + the class's years (`service_life.yaml`) <= today,
  a 29 February purchase ending on 28 February;
- its OS or firmware is past end of support (`end_of_support.yaml`): support ends <= today.

A device counts toward the replacement schedule in year Y when it is in use, has no open
finding, neither its service life nor its OS support ends in or before Y (README, "For a
planner"), and, when the policy's `unknown_counts_toward_schedule` is false, its compliance state
is known (a device never evaluated is unknown: no device_compliance row). `end_of_life_year` gives that year; `counts_toward_schedule` and `counting_in_year`
apply it to one device and to a fleet frame.

The lifecycle checks (lc.service_life, lc.broken, ep.os_supported, net.firmware_supported),
the device list's end-of-life filter (`end_of_life_condition`, SQL for inventory's
`device_query`), `compliance.service.fleet_frame`, the planner, the report and the overview all
call these functions; tests/compliance/test_lifecycle.py shows the SQL and Python forms agree.
"""

from __future__ import annotations

from calendar import isleap
from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlmodel import Session

from inventory.choices import DeviceClass, DeviceStatus, values
from inventory.models import Device, DeviceCompliance

if TYPE_CHECKING:  # compliance.policy imports the checks, which import this module
    import pandas as pd

    from compliance.policy import Policy

BROKEN = DeviceStatus.BROKEN.value
IN_USE = DeviceStatus.IN_USE.value
DEVICE_CLASSES = tuple(values(DeviceClass))


# ------------------------------------------------------------------------------ the date rules


def service_life_end(bought: date, years: int) -> date:
    """The day a device bought on `bought` reaches `years` of service (29 February -> 28 February).

    >>> service_life_end(date(2020, 2, 29), 5)
    datetime.date(2025, 2, 28)
    """
    try:
        return bought.replace(year=bought.year + years)
    except ValueError:  # 29 February, that year is not a leap year
        return bought.replace(year=bought.year + years, day=28)


def last_purchase_past_life(today: date, years: int) -> date:
    """The latest purchase date whose service life of `years` has ended by `today`: the SQL
    cut-off, so `bought <= last_purchase_past_life(today, years)` exactly when
    `service_life_end(bought, years) <= today`.

    >>> last_purchase_past_life(date(2025, 2, 28), 5)  # bought 29 February 2020, ended today
    datetime.date(2020, 2, 29)
    >>> last_purchase_past_life(date(2024, 2, 28), 4)  # bought 29 February 2020, ends tomorrow
    datetime.date(2020, 2, 28)
    """
    try:
        cutoff = today.replace(year=today.year - years)
    except ValueError:  # today is 29 February, that year is not a leap year
        return today.replace(year=today.year - years, day=28)
    if (cutoff.month, cutoff.day) == (2, 28) and isleap(cutoff.year) and not isleap(today.year):
        return cutoff.replace(day=29)  # a 29 February purchase also ends on this 28 February
    return cutoff


def support_ended(end_of_support: date, today: date) -> bool:
    """Whether support ending on `end_of_support` is over on `today` (the last day is not)."""
    return end_of_support <= today


# ------------------------------------------------------------------------------ one device


def os_support_end(policy: Policy, os_name: str | None, os_version: str | None) -> date | None:
    """End of support of this OS release, None when the OS or its entry is unknown."""
    if not os_name:
        return None
    entry = policy.end_of_support.lookup(os_name, os_version or "")
    return None if entry is None else entry.end_of_support


def is_end_of_life(policy: Policy, today: date, *, device_class: str, status: str | None, bought: date | None,
                   os_name: str | None, os_version: str | None) -> bool:  # fmt: skip
    """Broken, past its service life, or running an OS past end of support on `today`; an
    unknown purchase date or OS is not end of life. The Python twin of `end_of_life_condition`."""
    if status == BROKEN:
        return True
    if bought is not None and service_life_end(bought, policy.service_life.years_for(device_class)) <= today:
        return True
    support = os_support_end(policy, os_name, os_version)
    return support is not None and support_ended(support, today)


def end_of_life_year(policy: Policy, *, device_class: str, bought: date | None, os_name: str | None, os_version: str | None) -> int | None:
    """The year the device stops counting: the earlier of its service life's end and its OS
    support's end; None when neither is known."""
    years = []
    if bought:
        years.append(service_life_end(bought, policy.service_life.years_for(device_class)).year)
    support = os_support_end(policy, os_name, os_version)
    if support is not None:
        years.append(support.year)
    return min(years) if years else None


def counts_toward_schedule(status: str | None, has_open_finding: bool, eol_year: int | None, year: int, *,
                           state_unknown: bool = False, unknown_counts: bool = True) -> bool:  # fmt: skip
    """In use, no open finding, not past service life or OS support in `year`, and (unless
    `unknown_counts`, the policy's unknown_counts_toward_schedule) of a known compliance state."""
    if state_unknown and not unknown_counts:
        return False
    return status == IN_USE and not has_open_finding and (eol_year is None or eol_year > year)


def unknown_state_condition() -> ColumnElement[bool]:
    """SQL condition on `Device` (outer-joined to DeviceCompliance): its compliance state is
    unknown, a device without a row (never evaluated) included. The twin of compliance.state's
    "no row is unknown"."""
    return or_(DeviceCompliance.state.is_(None), DeviceCompliance.state == "unknown")


def counting_in_year(devices: pd.DataFrame, year: int, column: str = "counts") -> pd.Series:
    """Per row of a fleet frame (columns `counts`, `eol_year`): whether it still counts in
    `year` without purchases. `counts` (NA = False) is counts_toward_schedule for today;
    `column="unknown"` asks the same of the fleet frame's devices of unknown state."""
    import pandas as pd  # only frames need pandas; the checks import this module too

    if column not in devices.columns:  # a hand-built frame without states: none unknown
        return pd.Series(False, index=devices.index, dtype=bool)
    counts = devices[column].astype("boolean").fillna(False).astype(bool)
    eol = pd.to_numeric(devices["eol_year"], errors="raise").astype("Float64")
    return counts & (eol.isna() | (eol > year)).fillna(True).astype(bool)


# ------------------------------------------------------------------------------ SQL


def end_of_life_condition(session: Session | None, today: date | None = None, *, policy: Policy | None = None) -> ColumnElement[bool]:
    """SQL condition on `Device`: `is_end_of_life`, for inventory's device query (pass this
    function as its `end_of_life`; `functools.partial(..., policy=p)` for another policy).

    Service life is a per-class cut-off on purchase_date; end of support is a regex table, so it
    is matched in Python against the few distinct (os_name, os_version) pairs in the database
    (without a session only status and service life are checked).
    """
    today = today or date.today()
    if policy is None:
        from compliance.policy import shipped_policy  # compliance.policy imports the checks, which import this module

        policy = shipped_policy()
    life = policy.service_life
    by_years: dict[int, list[str]] = defaultdict(list)
    for cls in DEVICE_CLASSES:
        by_years[life.years_for(cls)].append(cls)
    parts: list[Any] = [Device.status == BROKEN]
    parts += [and_(Device.device_class.in_(classes), Device.purchase_date <= last_purchase_past_life(today, years)) for years, classes in sorted(by_years.items())]
    # A class unknown to the policy gets the default service life.
    parts.append(and_(Device.device_class.not_in(DEVICE_CLASSES), Device.purchase_date <= last_purchase_past_life(today, life.default_years)))
    if session is not None:
        pairs = session.execute(select(Device.os_name, Device.os_version).where(Device.os_name.is_not(None)).distinct()).all()
        for os_name, os_version in pairs:
            support = os_support_end(policy, os_name, os_version)
            if support is not None and support_ended(support, today):
                version = Device.os_version.is_(None) if os_version is None else Device.os_version == os_version
                parts.append(and_(Device.os_name == os_name, version))
    return or_(*parts)
