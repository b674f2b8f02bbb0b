"""Database constraints hold on SQLite and PostgreSQL alike."""

import pytest
from sqlalchemy.exc import IntegrityError

from inventory.models import ApprovedQuantity, Device, DeviceMac, InformationSystem, Site, User, Zone
from tests.inventory.factories import make_province

# The constraint that refused the row, in SQLite's words or PostgreSQL's (the db tests run on both).
CHECK_FAILED = "CHECK constraint failed|violates check constraint"
UNIQUE_FAILED = "UNIQUE constraint failed|violates unique constraint"
FOREIGN_KEY_FAILED = "FOREIGN KEY constraint failed|violates foreign key constraint"

pytestmark = pytest.mark.db


def _device(ids, **fields):
    base = {"device_class": "laptop", "site_id": ids["S1"]["site"], "zone_id": ids["S1"]["internet"]}
    return Device(**(base | fields))


@pytest.mark.parametrize(
    "row",
    [
        lambda ids: _device(ids, device_class="toaster"),
        lambda ids: _device(ids, status="lost"),
        lambda ids: _device(ids, source="guessed"),
        lambda ids: Zone(site_id=ids["S1"]["site"], kind="dmz"),
        lambda ids: Site(province_id=1, code="X", name="X", kind="city"),
        lambda ids: ApprovedQuantity(site_id=ids["S1"]["site"], device_class="laptop", quantity=-1),
        lambda ids: InformationSystem(name="x", security_level=6),
        lambda ids: User(username="u", password_hash="x", role="superuser"),
    ],
    ids=["class", "status", "source", "zone-kind", "site-kind", "negative-quantity", "level", "role"],
)
def test_check_constraints_reject_bad_values(session, row):
    ids = make_province(session)
    session.add(row(ids))
    with pytest.raises(IntegrityError, match=CHECK_FAILED):
        session.commit()


def test_serial_is_unique(session):
    ids = make_province(session)
    session.add(_device(ids, serial="ABC1"))
    session.commit()
    session.add(_device(ids, serial="ABC1", site_id=ids["S2"]["site"], zone_id=ids["S2"]["internet"]))
    with pytest.raises(IntegrityError, match=UNIQUE_FAILED):
        session.commit()


def test_ip_unique_within_a_zone_but_not_across_zones(session):
    ids = make_province(session)
    session.add(_device(ids, mgmt_ip="10.1.2.5"))
    session.add(_device(ids, mgmt_ip="10.1.2.5", zone_id=ids["S1"]["party_wan"]))
    session.commit()  # same IP, other zone: allowed
    session.add(_device(ids, mgmt_ip="10.1.2.5"))
    with pytest.raises(IntegrityError, match=UNIQUE_FAILED):
        session.commit()


def test_mac_belongs_to_one_device(session):
    ids = make_province(session)
    a, b = _device(ids, serial="A"), _device(ids, serial="B")
    session.add_all([a, b])
    session.flush()
    session.add(DeviceMac(device_id=a.id, mac="aa:bb:cc:dd:ee:ff"))
    session.commit()
    session.add(DeviceMac(device_id=b.id, mac="aa:bb:cc:dd:ee:ff"))
    with pytest.raises(IntegrityError, match=UNIQUE_FAILED):
        session.commit()


def test_one_zone_of_each_kind_per_site(session):
    ids = make_province(session)
    session.add(Zone(site_id=ids["S1"]["site"], kind="internet"))
    with pytest.raises(IntegrityError, match=UNIQUE_FAILED):
        session.commit()


def test_device_needs_an_existing_site(session):
    make_province(session)
    session.add(Device(device_class="laptop", site_id=999))
    with pytest.raises(IntegrityError, match=FOREIGN_KEY_FAILED):
        session.commit()
