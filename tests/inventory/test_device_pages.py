"""Device list pages: every page, in every sort order and direction, is exactly the slice of the
whole sorted list, also the pages past the middle (read from the other end), NULLs included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session

from inventory.models import Device
from inventory.repository import SORTABLE, DeviceFilter, list_devices
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db


@pytest.fixture
def fleet(engine):
    with Session(engine) as session:
        province = make_province(session, sites=3)
        seen = datetime(2026, 11, 1, tzinfo=UTC)
        for n in range(47):
            site = province[f"S{n % 3 + 1}"]
            session.add(Device(
                device_class=("laptop", "printer", "desktop")[n % 3], site_id=site["site"], zone_id=site["internet"],
                hostname=None if n % 5 == 0 else f"host-{n % 9}",  # NULLs and ties
                vendor=("Dell", "HP", None)[n % 3], model=f"M{n % 4}", mgmt_ip=None if n % 4 == 0 else f"10.0.{n % 2}.{n}",
                purchase_date=None if n % 6 == 0 else date(2018 + n % 5, 1, 1),
                last_seen=None if n % 7 == 0 else seen + timedelta(days=n % 3),
                serial=f"SN{n:03d}",
            ))  # fmt: skip
        session.commit()
    return engine


@pytest.mark.parametrize("sort", list(SORTABLE))
@pytest.mark.parametrize("descending", [False, True])
def test_every_page_is_a_slice_of_the_sorted_list(fleet, sort, descending):
    with Session(fleet) as session:
        everything, total = list_devices(session, DeviceFilter(), sort=sort, descending=descending, per_page=None)
        assert total == 47 == len(everything)
        expected = [d["id"] for d in everything]
        for per_page in (5, 10, 50):
            pages = -(-total // per_page)
            for page in range(1, pages + 2):  # one past the end: empty
                rows, counted = list_devices(session, DeviceFilter(), sort=sort, descending=descending, page=page, per_page=per_page)
                assert counted == total
                assert [d["id"] for d in rows] == expected[(page - 1) * per_page : page * per_page], (sort, descending, per_page, page)


def test_a_filtered_last_page(fleet):
    with Session(fleet) as session:
        flt = DeviceFilter(device_class="laptop")
        everything, total = list_devices(session, flt, sort="hostname", per_page=None)
        rows, _ = list_devices(session, flt, sort="hostname", page=-(-total // 4), per_page=4)
        assert [d["id"] for d in rows] == [d["id"] for d in everything][4 * (-(-total // 4) - 1) :]
        assert all(d["device_class"] == "laptop" for d in rows)


def test_a_total_kept_from_before_a_change_never_shifts_the_rows(fleet):
    """A caller's total (the web keeps counts) may be stale: the rows still come out right."""
    with Session(fleet) as session:
        everything, total = list_devices(session, DeviceFilter(), per_page=None)
        expected = [d["id"] for d in everything]
        for stale in (total - 5, total + 5):
            rows, _ = list_devices(session, DeviceFilter(), page=4, per_page=10, total=stale)
            assert [d["id"] for d in rows] == expected[30:40]
