"""A device count kept with the data revision it was counted at: a page read from the other end
trusts it while the revision stands (no count at all) and counts again once anything changed,
so the rows never shift; the count itself needs no join and agrees with the listed rows."""

from __future__ import annotations

import pytest
from sqlalchemy import event, update
from sqlmodel import Session

from inventory.models import Device
from inventory.repository import DeviceFilter, count_devices, counted_devices, list_devices
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db


@pytest.fixture
def fleet(engine):
    with Session(engine) as session:
        province = make_province(session, sites=2)
        for n in range(30):
            site = province[f"S{n % 2 + 1}"]
            zone = site["internet"] if n % 3 else site["party_wan"]
            session.add(Device(device_class=("laptop", "printer")[n % 2], site_id=site["site"], zone_id=zone, hostname=f"h{n:02d}", serial=f"T{n:03d}"))
        session.commit()
    return engine


def _counts(engine) -> list[str]:
    """The COUNT statements run on `engine` from now on."""
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: seen.append(statement) if "count(" in statement.lower() else None)
    return seen


def test_a_kept_total_is_trusted_while_the_revision_stands(fleet):
    with Session(fleet) as session:
        counted_at, total = counted_devices(session, DeviceFilter())
        assert counted_at is not None and total == 30
        everything, _ = list_devices(session, DeviceFilter(), per_page=None)
        counts = _counts(fleet)
        rows, shown_total = list_devices(session, DeviceFilter(), page=3, per_page=10, total=total, counted_at=counted_at)
        assert [d["id"] for d in rows] == [d["id"] for d in everything][20:30]
        assert shown_total == 30
        assert counts == [], "a total kept at this very revision is counted again"


def test_a_kept_total_from_before_a_change_is_counted_again(fleet):
    with Session(fleet) as session:
        counted_at, total = counted_devices(session, DeviceFilter())
        session.delete(session.get(Device, list_devices(session, DeviceFilter(), per_page=1)[0][0]["id"]))  # moves the revision on
        session.commit()
        everything, _ = list_devices(session, DeviceFilter(), per_page=None)
        counts = _counts(fleet)
        rows, shown_total = list_devices(session, DeviceFilter(), page=3, per_page=10, total=total, counted_at=counted_at)
        assert shown_total == 29 == len(everything)
        assert [d["id"] for d in rows] == [d["id"] for d in everything][20:29]
        assert len(counts) == 1


def test_a_total_kept_without_its_revision_is_counted_before_reading_from_the_end(fleet):
    with Session(fleet) as session:
        everything, _ = list_devices(session, DeviceFilter(), per_page=None)
        counts = _counts(fleet)
        rows, _ = list_devices(session, DeviceFilter(), page=3, per_page=10, total=35)
        assert [d["id"] for d in rows] == [d["id"] for d in everything][20:30]
        assert len(counts) == 1


@pytest.mark.parametrize(
    "flt",
    [DeviceFilter(), DeviceFilter(site="S1"), DeviceFilter(zone="party_wan"), DeviceFilter(site="S2", zone="internet", device_class="printer"), DeviceFilter(site="NOPE")],
)
def test_the_count_agrees_with_the_rows(fleet, flt):
    with Session(fleet) as session:
        session.execute(update(Device).where(Device.id == 2).values(zone_id=None))  # a device in no zone
        rows, total = list_devices(session, flt, per_page=None)
        assert total == len(rows) == count_devices(session, flt)
        assert all((flt.site is None or d["site_code"] == flt.site) and (flt.zone is None or d["zone"] == flt.zone) for d in rows)
